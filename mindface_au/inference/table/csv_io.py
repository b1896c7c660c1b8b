"""An AU table as CSV text: formatting (the numbers the CSV holds), atomic writing and reading back
with errors that name the file and line."""
from __future__ import annotations

import csv
import re
import warnings
from typing import Optional

import numpy as np
import pandas as pd

from ...fileio import atomic_path
from .columns import META_COLUMNS, CsvLayout


def _format_column(values: pd.Series, kind: str) -> np.ndarray:
    if kind == "str":
        return values.astype(object).where(values.notna(), "").astype(str).to_numpy()
    x = values.to_numpy(np.float64)
    finite = np.isfinite(x)
    out = np.full(len(x), "", dtype=object)
    if kind == "int" or kind == "decision":
        out[finite] = x[finite].astype(np.int64).astype(str)
    else:
        out[finite] = np.char.mod(f"%.{kind.split(':')[1]}f", x[finite])
    return out


def round_like_csv(table: pd.DataFrame, layout: CsvLayout) -> pd.DataFrame:
    """``table`` with its float columns rounded as the CSV writes them (probabilities to
    ``layout.precision`` decimals, intensities too, timestamps and confidences to 3), so that a table in memory holds
    the very numbers its CSV holds (and smoothing it gives what smoothing the CSV gives)."""
    out = table.copy()
    for c in layout.columns:
        kind = layout.kind(c)
        if kind.startswith("float:"):
            x = out[c].to_numpy(np.float64).copy()
            finite = np.isfinite(x)
            x[finite] = np.char.mod(f"%.{kind.split(':')[1]}f", x[finite]).astype(np.float64)
            out[c] = x
    return out


def format_csv(table: pd.DataFrame, layout: CsvLayout, header: bool = True) -> str:
    """CSV text of ``table`` in ``layout`` (its header first when ``header``)."""
    cells = pd.DataFrame({c: _format_column(table[c], layout.kind(c)) for c in layout.columns}, columns=layout.columns,
                         dtype=object)
    names = list(layout.columns)
    if layout.fmt == "openface":  # ", " between fields, as OpenFace writes them
        for c in layout.columns[1:]:
            cells[c] = " " + cells[c]
        names = [names[0]] + [" " + c for c in names[1:]]
    if not header:
        names = False
    return cells.to_csv(None, header=names, index=False, lineterminator="\n")


def write_au_csv(table: pd.DataFrame, path: str, layout: Optional[CsvLayout] = None) -> str:
    """Write a whole table to ``path`` atomically (temporary file, fsync, replace); returns ``path``."""
    layout = layout or CsvLayout.from_columns(table.columns, source=path)
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            f.write(format_csv(table, layout))
    return path


def _fields_on_line(path: str, line_no: int) -> int:
    with open(path, newline="", encoding="utf-8") as f:
        for k, row in enumerate(csv.reader(f), start=1):
            if k == line_no:
                return len(row)
    return 0


def _read_cells(path: str) -> pd.DataFrame:
    """Every cell of the CSV as text (NaN when empty), header stripped of the spaces OpenFace writes;
    ValueError naming the file and line when a row does not fit the header."""
    try:
        with warnings.catch_warnings():  # a first row longer than the header only warns: make it an error
            warnings.simplefilter("error", pd.errors.ParserWarning)
            raw = pd.read_csv(path, dtype=str, skipinitialspace=True, keep_default_na=False, na_values=[""],
                              index_col=False, skip_blank_lines=True)
    except pd.errors.ParserWarning:
        with open(path, newline="", encoding="utf-8") as f:
            n_columns = len(next(csv.reader(f)))
        raise ValueError(f"{path}:2: expected {n_columns} columns, got {_fields_on_line(path, 2)}") from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: empty file, expected a header") from None
    except pd.errors.ParserError as exc:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if match:
            raise ValueError(f"{path}:{match.group(2)}: expected {match.group(1)} columns, "
                             f"got {match.group(3)}") from None
        raise ValueError(f"{path}: {exc}") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    return raw


def _layout_of(raw: pd.DataFrame, path: str) -> CsvLayout:
    """The layout of the header; ValueError when it is no AU table or a row is short."""
    columns = list(raw.columns)
    for fmt_meta in META_COLUMNS.values():
        missing = [c for c in fmt_meta if c not in columns]
        if not missing:
            break
    if missing:
        raise ValueError(f"{path}:1: not an AU CSV, missing columns {missing}")
    layout = CsvLayout.from_columns(columns, source=path)
    short = raw[["frame", "face_id", "success"]].isna().any(axis=1).to_numpy()
    if short.any():
        line = int(np.flatnonzero(short)[0]) + 2
        raise ValueError(f"{path}:{line}: expected {len(columns)} columns, got {_fields_on_line(path, line)}")
    return layout


def _typed_column(cells: pd.Series, kind: str, column: str, path: str) -> pd.Series:
    """One column's text cells as the ``kind`` of :meth:`CsvLayout.kind` says (str, int or float)."""
    if kind == "str":
        return cells.astype(object).where(cells.notna(), "").map(lambda s: str(s).strip())
    values = pd.to_numeric(cells, errors="coerce")
    bad = (values.isna() & cells.notna()).to_numpy()
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{path}:{k + 2}: column {column!r} holds {cells.iloc[k]!r}, not a number")
    return values.astype(np.int64) if kind == "int" else values.astype(np.float64)


def read_au_csv(path: str) -> pd.DataFrame:
    """An AU CSV of either format as a DataFrame (meta columns int/float, AU columns (``_p``, ``_c``, the
    intensities ``_r`` when present, smoothed ones) float with NaN for empty cells, extra columns str).
    Raises ValueError naming the file and line on a malformed row."""
    raw = _read_cells(path)
    layout = _layout_of(raw, path)
    columns = list(raw.columns)
    table = pd.DataFrame({c: _typed_column(raw[c], layout.kind(c), c, path) for c in columns}, columns=columns)
    ok = table["success"] == 1
    incomplete = ok & table[layout.value_columns].isna().any(axis=1)
    if incomplete.any():
        line = int(np.flatnonzero(incomplete.to_numpy())[0]) + 2
        raise ValueError(f"{path}:{line}: a row with success=1 has empty AU cells")
    return table
