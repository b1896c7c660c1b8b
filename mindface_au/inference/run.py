"""Per-frame AU tables for images, folders, videos and webcams: the one loop behind ``tools/infer.py``
and :class:`~mindface_au.inference.detector.AUDetector`.

For each input, frames stream through detection + alignment (:func:`iter_faces`, called from
:func:`process_input` only); face crops are batched through the :class:`AUPredictor`; each batch
becomes a table (:mod:`mindface_au.inference.table`) that is appended to ``<out>/<stem>.csv`` at
once (so a long video never holds more than one batch of frames in memory), or collected and
returned when there is no output folder (the Python API). Temporal smoothing (``prob_k`` /
``label_k``, the paper's post-processing, windows in frames) is a second pass over the table,
per face track; the timeline plot reads the table too.

Stopping: when ``InferOptions.stop`` (a :class:`threading.Event`, set by :func:`stop_on_signals`
on Ctrl+C or SIGTERM) is set, the batch in flight is predicted and written, the overlay video and
the CSV are closed, and the result says ``interrupted``.
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
import pandas as pd
from tqdm import tqdm

from .csv_writer import AUCsvWriter
from .overlay import OverlayVideoWriter, draw_face, draw_no_face
from .predictor import AUPredictor
from .sources import FrameSource, SourceError, open_source
from .stream import iter_faces, prefetch
from .table import CsvLayout, make_table, plot_table_timeline, read_au_csv, smooth_table, write_au_csv
from .tracking import IoUTracker


@dataclass
class InferOptions:
    """What ``tools/infer.py`` (or ``AUDetector``) asks for, besides the inputs and the model.

    ``out_dir`` None: nothing is written, the table comes back in ``InputResult.table``.
    ``stop``: an Event; once set, the batch in flight is finished and the input ends (interrupted).
    """

    out_dir: Optional[str]
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
    csv_format: str = "mindface"
    smooth_edges: str = "clip"
    stop: Optional[threading.Event] = None
    detect_every: int = 1  # > 1: detect on one frame in N, optical-flow landmark tracking in between
    prefetch: int = 16  # decode + detect this many faces ahead in a producer thread (0: serial)


@dataclass
class InputResult:
    """What happened to one input."""

    name: str
    csv_path: Optional[str] = None
    rows: int = 0
    faces: int = 0
    frames: int = 0  # frames whose rows were written
    error: Optional[str] = None
    warnings: List[str] = field(default_factory=list)
    seconds: dict = field(default_factory=dict)  # time spent: source+detection+alignment, network, writing
    stem: str = ""
    overlay_path: Optional[str] = None
    plot_path: Optional[str] = None
    interrupted: bool = False
    kind: str = ""  # the source's kind: image, folder, video, webcam
    fps: Optional[float] = None
    table: Optional[pd.DataFrame] = None  # the rows, when InferOptions.out_dir is None


# --------------------------------------------------------------------------- output names
def output_stem(spec) -> str:
    """``clip.mp4`` -> ``clip``; a folder -> its name; ``webcam:0`` -> ``webcam0``."""
    text = str(getattr(spec, "name", spec)).rstrip("/\\")
    if text.startswith("webcam:"):
        return "webcam" + text.split(":", 1)[1]
    base = os.path.basename(text)
    return base if os.path.isdir(text) else os.path.splitext(base)[0]


def output_stems(specs: Sequence) -> Dict[str, str]:
    """One output name per input, unique over ``specs``: the base name (:func:`output_stem`) where it is
    unique, else prefixed with as many parent folders as it takes (``a/clip.mp4``, ``b/clip.mp4`` ->
    ``a_clip``, ``b_clip``), then with the extension (``clip_mp4``), then numbered (``clip-2``)."""
    stems = {str(s): output_stem(s) for s in specs}
    groups: Dict[str, List[str]] = {}
    for spec, stem in stems.items():
        groups.setdefault(stem, []).append(spec)
    taken = {stem for stem, members in groups.items() if len(members) == 1}
    for stem, members in groups.items():
        if len(members) == 1:
            continue
        parts = {m: os.path.abspath(m).replace("\\", "/").rstrip("/").split("/")[:-1] for m in members}
        names = None
        for depth in range(1, max(len(p) for p in parts.values()) + 1):
            candidate = {m: "_".join([x for x in parts[m][-depth:] if x] + [stem]) for m in members}
            if len(set(candidate.values())) == len(members):
                names = candidate
                break
        if names is None:
            ext = {m: os.path.splitext(m)[1].lstrip(".") for m in members}
            candidate = {m: stem + (f"_{ext[m]}" if ext[m] else "") for m in members}
            names = candidate if len(set(candidate.values())) == len(members) else None
        if names is None:
            names = {m: stem if k == 0 else f"{stem}-{k + 1}" for k, m in enumerate(members)}
        for m, name in names.items():
            base, k = name, 1
            while name in taken:
                k += 1
                name = f"{base}-{k}"
            taken.add(name)
            stems[m] = name
    return stems


# --------------------------------------------------------------------------- stopping
@contextlib.contextmanager
def stop_on_signals(signals=(signal.SIGINT, signal.SIGTERM)):
    """Yield a :class:`threading.Event` that the first Ctrl+C / SIGTERM sets (the run finishes the batch
    in flight, writes and closes its outputs); a second one raises KeyboardInterrupt at once. Outside
    the main thread, signals cannot be caught: the Event is returned but never set."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, _frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        # os.write, not print: a handler may run while tqdm is writing to stderr (no reentrant writes)
        os.write(2, f"\n{signal.Signals(signum).name}: finishing the batch in flight, then writing and closing "
                    f"the outputs (press Ctrl+C again to abort at once)\n".encode())

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield stop
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


# --------------------------------------------------------------------------- the loop
class _TableSink:
    """Collects the batches' tables in memory (the Python API)."""

    def __init__(self, layout: CsvLayout):
        self.layout = layout
        self.parts: List[pd.DataFrame] = []

    def write_table(self, table: pd.DataFrame) -> None:
        self.parts.append(table)

    def table(self) -> pd.DataFrame:
        """All rows, with the numbers the CSV would hold (same precision: API and CLI agree exactly)."""
        from .table import empty_table, round_like_csv

        if not self.parts:
            return empty_table(self.layout)
        return round_like_csv(pd.concat(self.parts, ignore_index=True), self.layout)

    def close(self) -> None:
        pass


class _Batcher:
    """Holds the records of about ``batch_size`` faces, always whole frames; predicts and writes them in
    frame order (table rows, aligned crops, overlay frames)."""

    def __init__(self, predictor: AUPredictor, sink, layout: CsvLayout, opts: InferOptions, stem: str,
                 result: InputResult, fps: Optional[float], names: Optional[dict]):
        self.predictor, self.sink, self.layout, self.opts, self.stem = predictor, sink, layout, opts, stem
        self.result, self.fps, self.names = result, fps, names
        self.pending = []
        self.n_crops = 0
        self.current = None
        self.overlay: Optional[OverlayVideoWriter] = None

    def add(self, record) -> None:
        if record.frame_idx != self.current:  # batches end between frames, never inside one
            if self.n_crops >= self.predictor.batch_size:
                self.flush()
            self.current = record.frame_idx
        self.pending.append(record)
        self.n_crops += record.success

    def flush(self) -> None:
        if not self.pending:
            return
        seconds = self.result.seconds
        records, n_aus = self.pending, len(self.predictor.au_names)
        ok = np.array([r.success == 1 for r in records])
        t0 = time.perf_counter()
        probs, decisions = self.predictor.predict([r.crop for r in records if r.success])
        seconds["network"] = seconds.get("network", 0.0) + time.perf_counter() - t0
        t0 = time.perf_counter()
        p = np.full((len(records), n_aus), np.nan)
        d = np.full((len(records), n_aus), np.nan)
        p[ok], d[ok] = probs, decisions
        extra = {}
        if self.names is not None:
            extra["file"] = [os.path.basename(self.names.get(r.frame_idx, "")) for r in records]
        table = make_table(self.layout, [r.frame_idx for r in records], [r.timestamp for r in records],
                           [r.face_id for r in records], [r.confidence for r in records], ok.astype(np.int64), p, d,
                           extra, where=self.result.csv_path or self.result.name)
        self.sink.write_table(table)
        for i, record in enumerate(records):
            if record.success and self.opts.save_aligned and self.opts.out_dir:
                path = os.path.join(self.opts.out_dir, f"{self.stem}_aligned",
                                    f"{record.frame_idx:05d}_{record.face_id}.jpg")
                os.makedirs(os.path.dirname(path), exist_ok=True)
                cv2.imwrite(path, cv2.cvtColor(record.crop, cv2.COLOR_RGB2BGR))
            if self.opts.overlay and self.opts.out_dir:
                if record.success:
                    draw_face(record.image, record.face.box, record.face_id, p[i], d[i].astype(np.int64),
                              self.predictor.au_names, record.face.landmarks)
                else:
                    draw_no_face(record.image)
                if i + 1 == len(records) or records[i + 1].frame_idx != record.frame_idx:
                    self._overlay_writer().write(record.image)  # once per frame, with all its faces drawn
        if self.names is not None:
            for r in records:
                self.names.pop(r.frame_idx, None)
        self.result.rows += len(records)
        self.result.faces += int(ok.sum())
        self.result.frames += len({r.frame_idx for r in records})
        seconds["writing"] = seconds.get("writing", 0.0) + time.perf_counter() - t0
        self.pending, self.n_crops = [], 0

    def _overlay_writer(self) -> OverlayVideoWriter:
        if self.overlay is None:
            path = os.path.join(self.opts.out_dir, f"{self.stem}_overlay.mp4")
            # only every (skip + 1)-th frame is in the overlay: play it at that rate to keep real time
            fps = (self.fps or 30.0) / (self.opts.skip_frames + 1)
            self.overlay = OverlayVideoWriter(path, fps=fps)
            self.result.overlay_path = path
        return self.overlay

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self.overlay is not None:
                self.overlay.close()


def process_input(spec, predictor: AUPredictor, detector, opts: InferOptions, stem: Optional[str] = None
                  ) -> InputResult:
    """Run one input (a path, ``webcam:N`` or a :class:`FrameSource`) to its table: the CSV in
    ``opts.out_dir`` (and optional crops, overlay, smoothing, plot), or ``result.table`` when
    ``out_dir`` is None. Errors are reported in the result (``error``), never raised, so the other
    inputs go on; ``stem`` names the outputs (default :func:`output_stem`)."""
    stem = stem or output_stem(spec)
    result = InputResult(name=str(getattr(spec, "name", spec)), stem=stem)
    try:
        source = spec if isinstance(spec, FrameSource) else open_source(spec, skip_frames=opts.skip_frames,
                                                                          fps=opts.fps)
    except SourceError as exc:
        result.error = str(exc)
        return result
    result.kind, result.fps = source.kind, source.fps
    folder = source.kind == "folder"
    layout = CsvLayout(opts.csv_format, predictor.au_names, ("file",) if folder else ())
    if opts.out_dir:
        result.csv_path = os.path.join(opts.out_dir, f"{stem}.csv")
    tracker = IoUTracker() if opts.all_faces else None
    names = {} if folder else None

    def frames():
        for frame in source:
            if names is not None:
                names[frame.index] = frame.name
            yield frame

    records = iter_faces(frames(), None if opts.aligned else detector, opts.all_faces, tracker, size=112,
                         detect_every=opts.detect_every, timings=result.seconds)
    records = prefetch(records, opts.prefetch) if opts.prefetch > 0 else records
    wait_key = "waiting_for_faces" if opts.prefetch > 0 else "source_detect_align"
    bar = tqdm(total=source.expected_frames, desc=stem, unit="frame", disable=not opts.progress, leave=False)
    sink = None
    try:
        sink = AUCsvWriter(result.csv_path, layout=layout) if opts.out_dir else _TableSink(layout)
        batcher = _Batcher(predictor, sink, layout, opts, stem, result, source.fps, names)
        try:
            last = None
            t0 = time.perf_counter()
            for record in records:
                result.seconds[wait_key] = result.seconds.get(wait_key, 0.0) + time.perf_counter() - t0
                if record.frame_idx != last:
                    if opts.stop is not None and opts.stop.is_set():
                        result.interrupted = True
                        break
                    bar.update(1)
                    last = record.frame_idx
                batcher.add(record)
                t0 = time.perf_counter()
        finally:
            batcher.close()  # the batch in flight: predicted, written; the overlay closed
    except (SourceError, OSError, ValueError) as exc:
        result.error = f"{result.name}: {exc}"
    finally:
        if sink is not None:
            sink.close()
        bar.close()
        close = getattr(records, "close", None)
        if close is not None:
            close()  # stops the frame reader (a producer thread, if any)
    result.warnings = [f"{path}: {msg}" for path, msg in getattr(source, "errors", [])]
    if result.error is None and result.frames == 0 and not result.interrupted:
        result.error = f"{result.name}: no frames could be read"
    if result.error is None:
        try:
            _post_process(result, layout, sink, predictor, opts, source)
        except (OSError, ValueError) as exc:
            result.error = f"{result.name}: {exc}"
    return result


def _post_process(result: InputResult, layout: CsvLayout, sink, predictor, opts: InferOptions, source) -> None:
    """Smoothing (videos and webcams) and the timeline plot, over the whole table."""
    smooth = source.kind in ("video", "webcam") and (opts.prob_k or opts.label_k)
    plot = opts.plot and opts.out_dir and result.rows
    if opts.out_dir is None:
        table = sink.table()
    elif smooth or plot:
        table = read_au_csv(result.csv_path)
    else:
        return
    if smooth:
        table, layout = smooth_table(table, layout, opts.prob_k, opts.label_k, predictor.thresholds,
                                     frame_step=opts.skip_frames + 1, edges=opts.smooth_edges)
        if opts.out_dir:
            write_au_csv(table, result.csv_path, layout)
    if plot:
        result.plot_path = plot_table_timeline(table, layout, os.path.join(opts.out_dir, f"{result.stem}_timeline.png"),
                                               source.fps, result.stem, predictor.thresholds)
    if opts.out_dir is None:
        result.table = table
