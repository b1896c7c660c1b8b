"""Per-frame AU CSV, written incrementally so that a long video never holds all its rows in memory.

Columns (exactly): ``frame, timestamp, face_id, confidence, success, AU1_p ... AU26_p, AU1_c ... AU26_c``
with the AU names of :data:`mindface_au.constants.AU_NAMES` (``_p`` = probability, ``_c`` = 0/1
decision), optionally followed by ``extra_columns`` (e.g. ``file`` for folders of images).
A frame without a face is a row with ``success=0`` and empty AU cells. The header is written on
opening (replacing any old file); every :meth:`AUCsvWriter.write` appends rows and flushes.
"""
from __future__ import annotations

import csv
import os
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..constants import AU_NAMES

META_COLUMNS = ("frame", "timestamp", "face_id", "confidence", "success")


def csv_columns(au_names: Sequence[str] = AU_NAMES, extra_columns: Sequence[str] = ()) -> List[str]:
    """The header: meta columns, ``<AU>_p`` for each AU, ``<AU>_c`` for each AU, then extras."""
    return list(META_COLUMNS) + [f"{a}_p" for a in au_names] + [f"{a}_c" for a in au_names] + list(extra_columns)


class AUCsvWriter:
    """``with AUCsvWriter(path) as w: w.write(frame, timestamp, face_id, confidence, success, probs, decisions)``.

    probs: (n_aus,) floats in [0, 1] and decisions: (n_aus,) 0/1 when success is 1; both None when
    success is 0. Probabilities are written with ``precision`` decimals, timestamps with 3.
    """

    def __init__(self, path: str, au_names: Sequence[str] = AU_NAMES, extra_columns: Sequence[str] = (),
                 precision: int = 4):
        self.path = path
        self.au_names = list(au_names)
        self.extra_columns = list(extra_columns)
        self.precision = int(precision)
        self.columns = csv_columns(self.au_names, self.extra_columns)
        self.rows_written = 0
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        self._file = open(path, "w", newline="", encoding="utf-8")
        self._csv = csv.writer(self._file)
        self._csv.writerow(self.columns)
        self._file.flush()

    def write(self, frame: int, timestamp: float, face_id: int, confidence: float, success: int,
              probs: Optional[Sequence[float]] = None, decisions: Optional[Sequence[int]] = None,
              extra: Sequence = ()) -> None:
        """Append one row and flush."""
        self._csv.writerow(self._row(frame, timestamp, face_id, confidence, success, probs, decisions, extra))
        self.rows_written += 1
        self._file.flush()

    def write_many(self, rows: Sequence[Sequence]) -> None:
        """Append several rows, each a tuple of :meth:`write`'s arguments, then flush once."""
        for row in rows:
            self._csv.writerow(self._row(*row))
            self.rows_written += 1
        self._file.flush()

    def _row(self, frame, timestamp, face_id, confidence, success, probs=None, decisions=None, extra=()) -> list:
        n = len(self.au_names)
        success = int(success)
        if success not in (0, 1):
            raise ValueError(f"{self.path}: success must be 0 or 1, got {success}")
        if len(extra) != len(self.extra_columns):
            raise ValueError(f"{self.path}: expected {len(self.extra_columns)} extra values "
                             f"({self.extra_columns}), got {len(extra)}")
        head = [int(frame), f"{float(timestamp):.3f}", int(face_id), f"{float(confidence):.3f}", success]
        if success == 0:
            if probs is not None or decisions is not None:
                raise ValueError(f"{self.path}: frame {frame}: a row with success=0 takes no AU values")
            return head + [""] * (2 * n) + list(extra)
        probs = np.asarray(probs, np.float64).reshape(-1)
        decisions = np.asarray(decisions).reshape(-1)
        if probs.shape != (n,) or decisions.shape != (n,):
            raise ValueError(f"{self.path}: frame {frame}: expected {n} probabilities and {n} decisions, "
                             f"got {probs.shape[0]} and {decisions.shape[0]}")
        if not np.all(np.isfinite(probs)):
            raise ValueError(f"{self.path}: frame {frame}: probabilities contain NaN or inf")
        if not np.all(np.isin(decisions, (0, 1))):
            raise ValueError(f"{self.path}: frame {frame}: decisions must be 0/1, got {decisions.tolist()}")
        return (head + [f"{p:.{self.precision}f}" for p in probs] + [int(d) for d in decisions] + list(extra))

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> "AUCsvWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_au_csv(path: str) -> Dict[str, np.ndarray]:
    """Columns of an AU CSV as arrays: meta columns as int/float, AU columns as float with NaN for empty
    cells; extra columns as str. Raises ValueError naming the file and line on a malformed row."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        try:
            header = next(reader)
        except StopIteration:
            raise ValueError(f"{path}: empty file, expected a header") from None
        rows = []
        for line_no, row in enumerate(reader, start=2):
            if len(row) != len(header):
                raise ValueError(f"{path}:{line_no}: expected {len(header)} columns, got {len(row)}")
            rows.append(row)
    missing = [c for c in META_COLUMNS if c not in header]
    if missing:
        raise ValueError(f"{path}:1: not an AU CSV, missing columns {missing}")
    out: Dict[str, np.ndarray] = {}
    for j, name in enumerate(header):
        cells = [r[j] for r in rows]
        try:
            if name in ("frame", "face_id", "success"):
                out[name] = np.array([int(c) for c in cells], np.int64)
            elif name in ("timestamp", "confidence") or name.endswith("_p") or name.endswith("_c"):
                out[name] = np.array([float(c) if c != "" else np.nan for c in cells], np.float64)
            else:
                out[name] = np.array(cells, dtype=object)
        except ValueError:
            bad = next(k for k, c in enumerate(cells) if not _parses(c, name))
            raise ValueError(f"{path}:{bad + 2}: column {name!r} holds {cells[bad]!r}, not a number") from None
    return out


def _parses(cell: str, name: str) -> bool:
    try:
        int(cell) if name in ("frame", "face_id", "success") else (cell == "" or float(cell))
        return True
    except ValueError:
        return False
