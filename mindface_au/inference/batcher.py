"""Batches of face records through the predictor, in frame order, into a table sink (the CSV or a
table in memory), plus the optional aligned crops and overlay video."""
from __future__ import annotations

import os
import time
from typing import List, Optional, Tuple

import cv2
import numpy as np
import pandas as pd

from .options import InferOptions, InputResult
from .overlay import OverlayVideoWriter, draw_face, draw_no_face
from .predictor import AUOutputs, AUPredictor
from .table import CsvLayout, empty_table, make_table, round_like_csv


class TableSink:
    """Collects the batches' tables in memory (the Python API; :class:`~.csv_writer.AUCsvWriter`
    is the sink that writes them to a CSV)."""

    def __init__(self, layout: CsvLayout):
        self.layout = layout
        self.parts: List[pd.DataFrame] = []

    def write_table(self, table: pd.DataFrame) -> None:
        self.parts.append(table)

    def table(self) -> pd.DataFrame:
        """All rows, with the numbers the CSV would hold (same precision: API and CLI agree exactly)."""
        if not self.parts:
            return empty_table(self.layout)
        return round_like_csv(pd.concat(self.parts, ignore_index=True), self.layout)

    def close(self) -> None:
        pass


def _add_seconds(result: InputResult, key: str, t0: float) -> None:
    result.seconds[key] = result.seconds.get(key, 0.0) + time.perf_counter() - t0


class FrameBatcher:
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
        """Predict the pending records and write their rows, crops and overlay frames."""
        if not self.pending:
            return
        records = self.pending
        t0 = time.perf_counter()
        ok, outputs = self._predict(records)
        _add_seconds(self.result, "network", t0)
        t0 = time.perf_counter()
        self.sink.write_table(self._table(records, ok, outputs))
        self._write_images(records, outputs)
        if self.names is not None:
            for r in records:
                self.names.pop(r.frame_idx, None)
        self.result.rows += len(records)
        self.result.faces += int(ok.sum())
        self.result.frames += len({r.frame_idx for r in records})
        _add_seconds(self.result, "writing", t0)
        self.pending, self.n_crops = [], 0

    def _predict(self, records) -> Tuple[np.ndarray, AUOutputs]:
        """``(ok, outputs)``: (N,) bool, face found; :class:`AUOutputs` of N rows (probabilities,
        decisions, intensities or None without the intensity head), NaN rows where no face."""
        ok = np.array([r.success == 1 for r in records])
        outputs = self.predictor.predict_outputs([r.crop for r in records if r.success])

        def all_rows(values):
            if values is None:
                return None
            full = np.full((len(records), len(self.predictor.au_names)), np.nan)
            full[ok] = values
            return full

        return ok, AUOutputs(*(all_rows(v) for v in outputs))

    def _table(self, records, ok: np.ndarray, outputs: AUOutputs) -> pd.DataFrame:
        extra = {}
        if self.names is not None:
            extra["file"] = [os.path.basename(self.names.get(rec.frame_idx, "")) for rec in records]
        return make_table(self.layout, [rec.frame_idx for rec in records], [rec.timestamp for rec in records],
                          [rec.face_id for rec in records], [rec.confidence for rec in records], ok.astype(np.int64),
                          outputs.probs, outputs.decisions, extra, where=self.result.csv_path or self.result.name,
                          intensity=outputs.intensity)

    def _write_images(self, records, outputs: AUOutputs) -> None:
        """The aligned crops (``--save-aligned``) and the overlay frames (``--overlay``)."""
        if not self.opts.out_dir:
            return
        for i, record in enumerate(records):
            if record.success and self.opts.save_aligned:
                path = os.path.join(self.opts.out_dir, f"{self.stem}_aligned",
                                    f"{record.frame_idx:05d}_{record.face_id}.jpg")
                os.makedirs(os.path.dirname(path), exist_ok=True)
                cv2.imwrite(path, cv2.cvtColor(record.crop, cv2.COLOR_RGB2BGR))
            if self.opts.overlay:
                if record.success:
                    draw_face(record.image, record.face.box, record.face_id, outputs.probs[i],
                              outputs.decisions[i].astype(np.int64), self.predictor.au_names, record.face.landmarks,
                              None if outputs.intensity is None else outputs.intensity[i])
                else:
                    draw_no_face(record.image)
                if i + 1 == len(records) or records[i + 1].frame_idx != record.frame_idx:
                    self._overlay_writer().write(record.image)  # once per frame, with all its faces drawn

    def _overlay_writer(self) -> OverlayVideoWriter:
        if self.overlay is None:
            resumed = self.result.resumed_from
            suffix = f"_from{resumed:05d}" if resumed else ""  # a resumed run: the rest in a segment of its own
            path = os.path.join(self.opts.out_dir, f"{self.stem}_overlay{suffix}.mp4")
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
