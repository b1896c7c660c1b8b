"""Per-frame AU CSVs for images, folders, videos and webcams: the library behind ``tools/infer.py``.

For each input, frames stream through detection + alignment (:func:`iter_faces`); face crops are
batched through the :class:`AUPredictor`; rows are appended to ``<out>/<input>.csv`` as batches
complete, so a long video never holds more than one batch of frames in memory. Temporal
smoothing (``prob_k``/``label_k``, the paper's post-processing) is a second pass over the
written CSV, per face track; the timeline plot reads the CSV too.
"""
from __future__ import annotations

import csv
import os
import time
from dataclasses import dataclass, field
from typing import List, Optional

import cv2
import numpy as np
from tqdm import tqdm

from ..evaluation import binarize, plot_au_timeline, smooth_labels, smooth_probs
from ..fileio import atomic_path
from .csv_writer import AUCsvWriter, read_au_csv
from .overlay import OverlayVideoWriter, draw_face, draw_no_face
from .predictor import AUPredictor
from .sources import SourceError, open_source
from .stream import iter_faces, prefetch
from .tracking import IoUTracker


@dataclass
class InferOptions:
    """What ``tools/infer.py`` asks for, besides the inputs and the model."""

    out_dir: str
    all_faces: bool = False
    aligned: bool = False
    skip_frames: int = 0
    prob_k: int = 0
    label_k: int = 0
    save_aligned: bool = False
    plot: bool = False
    overlay: bool = False
    progress: bool = True
    fps: Optional[float] = None  # timestamps of image folders
    detect_every: int = 1  # > 1: detect on one frame in N, optical-flow landmark tracking in between
    prefetch: int = 16  # decode + detect this many faces ahead in a producer thread (0: serial)


@dataclass
class InputResult:
    """What happened to one input."""

    name: str
    csv_path: Optional[str] = None
    rows: int = 0
    faces: int = 0
    frames: int = 0
    error: Optional[str] = None
    warnings: List[str] = field(default_factory=list)
    seconds: dict = field(default_factory=dict)  # time spent: source+detection+alignment, network, writing


def output_stem(spec: str) -> str:
    """``clip.mp4`` -> ``clip``; a folder -> its name; ``webcam:0`` -> ``webcam0``."""
    text = str(spec).rstrip("/\\")
    if text.startswith("webcam:"):
        return "webcam" + text.split(":", 1)[1]
    base = os.path.basename(text)
    return os.path.splitext(base)[0] if os.path.isfile(text) else base


class _Batcher:
    """Holds the rows of at most ``batch_size`` faces; predicts and writes them in frame order."""

    def __init__(self, predictor: AUPredictor, writer: AUCsvWriter, opts: InferOptions, stem: str, result, folder,
                 fps=None):
        self.predictor, self.writer, self.opts, self.stem, self.result = predictor, writer, opts, stem, result
        self.folder = folder
        self.fps = fps
        self.pending = []  # FaceRecords (and frame names) in order
        self.n_crops = 0
        self.overlay = None
        self.last_frame = None

    def add(self, record, name):
        self.pending.append((record, name))
        self.n_crops += record.success
        if self.n_crops >= self.predictor.batch_size:
            self.flush()

    def flush(self):
        if not self.pending:
            return
        crops = [r.crop for r, _ in self.pending if r.success]
        t0 = time.perf_counter()
        probs, decisions = self.predictor.predict(crops)
        self.result.seconds["network"] = self.result.seconds.get("network", 0.0) + time.perf_counter() - t0
        t0 = time.perf_counter()
        rows, k = [], 0
        for record, name in self.pending:
            extra = (name,) if self.folder else ()
            if record.success:
                p, d = probs[k], decisions[k]
                k += 1
                rows.append((record.frame_idx, record.timestamp, record.face_id, record.confidence, 1, p, d, extra))
                if self.opts.save_aligned:
                    path = os.path.join(self.opts.out_dir, f"{self.stem}_aligned",
                                        f"{record.frame_idx:05d}_{record.face_id}.jpg")
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    cv2.imwrite(path, cv2.cvtColor(record.crop, cv2.COLOR_RGB2BGR))
                if self.opts.overlay:
                    draw_face(record.image, record.face.box, record.face_id, p, d, self.predictor.au_names,
                              record.face.landmarks)
            else:
                rows.append((record.frame_idx, record.timestamp, record.face_id, record.confidence, 0, None, None,
                             extra))
                if self.opts.overlay:
                    draw_no_face(record.image)
            if self.opts.overlay and record.frame_idx != self.last_frame:
                self._overlay_writer().write(record.image)
                self.last_frame = record.frame_idx
        self.writer.write_many(rows)
        self.result.rows += len(rows)
        self.result.faces += k
        self.result.seconds["writing"] = self.result.seconds.get("writing", 0.0) + time.perf_counter() - t0
        self.pending, self.n_crops = [], 0

    def _overlay_writer(self):
        if self.overlay is None:
            self.overlay = OverlayVideoWriter(os.path.join(self.opts.out_dir, f"{self.stem}_overlay.mp4"),
                                              fps=self.fps or 30.0)
        return self.overlay

    def close(self):
        self.flush()
        if self.overlay is not None:
            self.overlay.close()


def process_input(spec, predictor: AUPredictor, detector, opts: InferOptions) -> InputResult:
    """Run one input to its CSV (and optional crops, overlay, smoothing, plot). Errors are reported in
    the result (``error``), never raised, so the other inputs go on."""
    stem = output_stem(spec)
    result = InputResult(name=str(spec))
    try:
        source = open_source(spec, skip_frames=opts.skip_frames, fps=opts.fps)
    except SourceError as exc:
        result.error = str(exc)
        return result
    folder = source.kind == "folder"
    csv_path = os.path.join(opts.out_dir, f"{stem}.csv")
    result.csv_path = csv_path
    tracker = IoUTracker() if opts.all_faces else None
    names = {}

    def frames():
        for frame in source:
            names[frame.index] = frame.name
            result.frames += 1
            yield frame

    records = iter_faces(frames(), None if opts.aligned else detector, opts.all_faces, tracker, size=112,
                         detect_every=opts.detect_every, timings=result.seconds)
    records = prefetch(records, opts.prefetch) if opts.prefetch > 0 else records
    wait_key = "waiting_for_faces" if opts.prefetch > 0 else "source_detect_align"
    bar = tqdm(total=source.expected_frames, desc=stem, unit="frame", disable=not opts.progress, leave=False)
    try:
        with AUCsvWriter(csv_path, predictor.au_names, extra_columns=("file",) if folder else ()) as writer:
            batcher = _Batcher(predictor, writer, opts, stem, result, folder, source.fps)
            last = None
            t0 = time.perf_counter()
            for record in records:
                result.seconds[wait_key] = result.seconds.get(wait_key, 0.0) + time.perf_counter() - t0
                if record.frame_idx != last:
                    bar.update(1)
                    last = record.frame_idx
                batcher.add(record, os.path.basename(names.get(record.frame_idx, "")))
                t0 = time.perf_counter()
            batcher.close()
    except (SourceError, OSError, ValueError) as exc:
        result.error = f"{spec}: {exc}"
    finally:
        bar.close()
    result.warnings = [f"{path}: {msg}" for path, msg in getattr(source, "errors", [])]
    if result.error is None and result.frames == 0:
        result.error = f"{spec}: no frames could be read"
    if result.error is None and source.kind in ("video", "webcam") and (opts.prob_k or opts.label_k):
        smooth_csv(csv_path, opts.prob_k, opts.label_k, predictor.thresholds)
    if result.error is None and opts.plot:
        plot_csv_timeline(csv_path, os.path.join(opts.out_dir, f"{stem}_timeline.png"), source.fps, stem)
    return result


def smooth_csv(path: str, prob_k: int, label_k: int, thresholds) -> None:
    """The paper's post-processing on a written CSV, per face track (rows with success=1), in place."""
    data = read_au_csv(path)
    p_cols = [c for c in data if c.endswith("_p")]
    c_cols = [c[:-2] + "_c" for c in p_cols]
    ok = data["success"] == 1
    if not ok.any():
        return
    probs = np.stack([data[c] for c in p_cols], 1)
    tracks = data["face_id"]
    smoothed = probs.copy()
    if prob_k:
        smoothed[ok] = smooth_probs(probs[ok], tracks[ok], prob_k)
    decisions = binarize(smoothed, thresholds)
    if label_k:
        decisions[ok] = smooth_labels(decisions[ok], tracks[ok], label_k)
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    p_idx = [header.index(c) for c in p_cols]
    c_idx = [header.index(c) for c in c_cols]
    for i, row in enumerate(rows[1:]):
        if ok[i]:
            for j, col in enumerate(p_idx):
                row[col] = f"{smoothed[i, j]:.4f}"
            for j, col in enumerate(c_idx):
                row[col] = str(int(decisions[i, j]))
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows)


def plot_csv_timeline(csv_path: str, png_path: str, fps: Optional[float], title: str) -> Optional[str]:
    """AU probabilities over time of the first face track of a CSV (NaN where no face)."""
    data = read_au_csv(csv_path)
    p_cols = [c for c in data if c.endswith("_p")]
    if not len(data["frame"]):
        return None
    track = data["face_id"] == (data["face_id"][data["success"] == 1].min() if (data["success"] == 1).any() else 0)
    frames = data["frame"][track]
    probs = np.stack([data[c][track] for c in p_cols], 1)
    order = np.argsort(frames, kind="stable")
    return plot_au_timeline(probs[order], png_path, fps=fps, title=f"{title} (face {int(data['face_id'][track][0])})")
