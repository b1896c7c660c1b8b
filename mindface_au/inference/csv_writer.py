"""The per-frame AU CSV written batch by batch, so a long video never holds more than a batch of rows.

The header is written on opening (replacing any old file; ``append=True`` keeps the file and its
header: a resumed run, see :mod:`~.resume`); :meth:`AUCsvWriter.write_table` appends
a batch (a DataFrame in the layout's columns, see :mod:`mindface_au.inference.table`) and
flushes, so the rows done are on disk whatever stops the run. :meth:`write` / :meth:`write_many`
append rows given as plain values. Columns and formats: :mod:`mindface_au.inference.table`.
"""
from __future__ import annotations

import os
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from ..constants import AU_NAMES
from .table import CsvLayout, csv_columns, format_csv, make_table, read_au_csv  # noqa: F401 (re-exported)


class AUCsvWriter:
    """``with AUCsvWriter(path, fmt='mindface') as w: w.write_table(batch)`` (or ``w.write(...)``)."""

    def __init__(self, path: str, au_names: Sequence[str] = AU_NAMES, extra_columns: Sequence[str] = (),
                 precision: int = 4, fmt: str = "mindface", layout: Optional[CsvLayout] = None,
                 append: bool = False, intensity: bool = False):
        self.path = path
        self.layout = layout or CsvLayout(fmt, au_names, extra_columns, precision=precision, intensity=intensity)
        self.au_names = self.layout.au_names
        self.extra_columns = self.layout.extra_columns
        self.columns = self.layout.columns
        self.rows_written = 0
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._file = open(path, "a" if append else "w", newline="", encoding="utf-8")
        if not append:
            self._file.write(self.header())
            self._file.flush()

    def header(self) -> str:
        """The header line (with its newline) of this writer's layout."""
        return self.header_of(self.layout)

    @staticmethod
    def header_of(layout: CsvLayout) -> str:
        """The header line (with its newline) of ``layout``."""
        return format_csv(pd.DataFrame(columns=layout.columns), layout)

    def write_table(self, table: pd.DataFrame) -> None:
        """Append the rows of ``table`` (columns: ``self.columns``) in one write, and flush."""
        if not len(table):
            return
        self._file.write(format_csv(table, self.layout, header=False))
        self._file.flush()
        self.rows_written += len(table)

    def write(self, frame: int, timestamp: float, face_id: int, confidence: float, success: int,
              probs: Optional[Sequence[float]] = None, decisions: Optional[Sequence[int]] = None,
              extra: Sequence = (), intensity: Optional[Sequence[float]] = None) -> None:
        """Append one row and flush. probs/decisions (and intensity, for a layout with ``_r`` columns):
        (n_aus,) when success is 1, None when it is 0."""
        self.write_many([(frame, timestamp, face_id, confidence, success, probs, decisions, extra, intensity)])

    def write_many(self, rows: Sequence[Sequence]) -> None:
        """Append several rows, each a tuple of :meth:`write`'s arguments, then flush once."""
        self.write_table(self._rows_table(rows))

    def _rows_table(self, rows) -> pd.DataFrame:
        n = len(self.au_names)
        probs = np.full((len(rows), n), np.nan)
        decisions = np.full((len(rows), n), np.nan)
        intensity = np.full((len(rows), n), np.nan) if self.layout.intensity else None
        meta = []
        extras = {c: [] for c in self.extra_columns}
        for i, row in enumerate(rows):
            frame, timestamp, face_id, confidence, success, p, d, extra, r = (tuple(row) + (None, None, (), None))[:9]
            meta.append((frame, timestamp, face_id, confidence, success))
            extra = tuple(extra or ())
            if len(extra) != len(self.extra_columns):
                raise ValueError(f"{self.path}: expected {len(self.extra_columns)} extra values "
                                 f"({self.extra_columns}), got {len(extra)}")
            for c, v in zip(self.extra_columns, extra):
                extras[c].append(v)
            if p is None and d is None:
                continue
            p = np.asarray(p, np.float64).reshape(-1)
            d = np.asarray(d, np.float64).reshape(-1)
            if int(success) == 1 and (p.shape != (n,) or d.shape != (n,)):
                raise ValueError(f"{self.path}: frame {frame}: expected {n} probabilities and {n} decisions, "
                                 f"got {p.shape[0]} and {d.shape[0]}")
            if int(success) != 1:
                raise ValueError(f"{self.path}: frame {frame}: a row with success=0 takes no AU values")
            probs[i], decisions[i] = p, d
            if r is not None and intensity is None:
                raise ValueError(f"{self.path}: frame {frame}: intensities given, but the table has no _r columns")
            if intensity is not None:
                r = np.asarray(r, np.float64).reshape(-1) if r is not None else np.full(n, np.nan)
                if r.shape != (n,):
                    raise ValueError(f"{self.path}: frame {frame}: expected {n} intensities, got {r.shape[0]}")
                intensity[i] = r
        columns = list(zip(*meta)) if meta else [()] * 5
        return make_table(self.layout, *columns, probs, decisions, extras, where=self.path, intensity=intensity)

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> "AUCsvWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
