"""Small integer tables as the releases ship them (BP4D's AU CSVs, DISFA's label files, ME-GraphAU's label lists).

:func:`read_int_table` reads a text file of integer rows, comma- or whitespace-separated, with an
optional header row, into an (R, C) int array plus each row's line number; a BOM, CRLF and blank
lines are accepted, and a malformed line raises one :class:`~.abaw.AnnotationError` naming the
file and the line.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np

from .abaw import AnnotationError


def _split(line: str, sep: Optional[str]) -> List[str]:
    return [t.strip() for t in line.split(sep)] if sep else line.split()


def read_int_table(path: str, sep: Optional[str] = ",", n_cols: Optional[int] = None,
                   header: bool = False) -> Tuple[List[str], np.ndarray, np.ndarray]:
    """``(header tokens, values (R, C) int64, line numbers (R,))`` of a file of integer rows.

    Args:
        sep: the separator (``None``: any whitespace).
        n_cols: the number of values every row must hold (default: the header's, else the first row's).
        header: the first non-blank line is a header (its tokens are returned, not parsed).
    """
    with open(path, "rb") as f:
        try:
            text = f.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise AnnotationError(path, 1, f"not a UTF-8 text file ({exc.reason})") from None
    names: List[str] = []
    rows, numbers = [], []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        tokens = _split(line, sep)
        if header and not names and not rows:
            names = tokens
            n_cols = n_cols or len(tokens)
            continue
        n_cols = n_cols or len(tokens)
        if len(tokens) != n_cols:
            raise AnnotationError(path, lineno, f"expected {n_cols} values, got {len(tokens)}")
        try:
            rows.append([int(float(t)) if "." in t and float(t).is_integer() else int(t) for t in tokens])
        except ValueError:
            bad = next(t for t in tokens if not _is_int(t))
            raise AnnotationError(path, lineno, f"value {bad!r} is not an integer") from None
        numbers.append(lineno)
    if header and not names:
        raise AnnotationError(path, 1, "empty file: expected a header row")
    values = np.asarray(rows, dtype=np.int64).reshape(len(rows), n_cols or 0)
    return names, values, np.asarray(numbers, dtype=np.int64)


def _is_int(token: str) -> bool:
    try:
        int(token)
        return True
    except ValueError:
        try:
            return float(token).is_integer()
        except ValueError:
            return False


def check_values(path: str, values: np.ndarray, lines: np.ndarray, allowed, what: str) -> None:
    """Raise :class:`AnnotationError` at the first value of ``values`` (R, C) not in ``allowed``."""
    bad = ~np.isin(values, list(allowed))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise AnnotationError(path, int(lines[r]), f"value {int(values[r, c])} in column {c + 1}: {what}")
