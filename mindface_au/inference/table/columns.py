"""The columns of an AU table (:class:`CsvLayout`, both formats; see :mod:`mindface_au.inference.table`)
and its rows built from arrays (:func:`make_table`)."""
from __future__ import annotations

import re
from typing import List, Optional, Sequence

import numpy as np
import pandas as pd

from ...constants import AU_NAMES

CSV_FORMATS = ("mindface", "openface")
SMOOTH_SUFFIX = "_smooth"
META_COLUMNS = {"mindface": ("frame", "timestamp", "face_id", "confidence", "success"),
                "openface": ("frame", "face_id", "timestamp", "confidence", "success")}
INT_COLUMNS = ("frame", "face_id", "success")
_DECIMALS = {"timestamp": 3, "confidence": 3}
_AU_COLUMN = re.compile(r"^AU(\d+)_([pcr])(_smooth)?$")


def openface_au_name(name: str) -> str:
    """``'AU1'`` -> ``'AU01'`` (OpenFace zero-pads AU numbers to two digits)."""
    match = re.fullmatch(r"AU(\d+)", name)
    if not match:
        raise ValueError(f"not an AU name: {name!r}")
    return f"AU{int(match.group(1)):02d}"


def _au_number(column: str) -> int:
    return int(_AU_COLUMN.match(column).group(1))


class CsvLayout:
    """The columns of one AU table: format, AU names, intensity, smoothed columns and extra columns.

    ``p_columns`` / ``c_columns`` / ``ps_columns`` / ``cs_columns`` list the column names of the
    probabilities, decisions, smoothed probabilities and smoothed decisions, one per AU in the
    order of ``au_names`` (the model's order); with ``intensity`` (a model with the intensity head)
    ``r_columns`` / ``rs_columns`` name the 0-5 intensities and their smoothed values (empty lists
    otherwise). ``columns`` is the whole header:

    * mindface: meta, ``_p``, ``_c``, ``_r``, then ``_p_smooth``, ``_r_smooth``, ``_c_smooth``, extra;
    * openface: meta, ``_r``, ``_c`` (OpenFace 2 writes every ``AUxx_r``, then every ``AUxx_c``), ``_p``,
      then the smoothed columns as above, extra.

    Without intensity the columns are those of every table written before intensity existed.
    """

    def __init__(self, fmt: str = "mindface", au_names: Sequence[str] = AU_NAMES, extra_columns: Sequence[str] = (),
                 smoothed_probs: bool = False, smoothed_decisions: bool = False, precision: int = 4,
                 intensity: bool = False):
        if fmt not in CSV_FORMATS:
            raise ValueError(f"csv format must be one of {CSV_FORMATS}, got {fmt!r}")
        self.fmt = fmt
        self.au_names = list(au_names)
        self.extra_columns = list(extra_columns)
        self.smoothed_probs = bool(smoothed_probs)
        self.smoothed_decisions = bool(smoothed_decisions)
        self.precision = int(precision)
        self.intensity = bool(intensity)
        names = [openface_au_name(a) for a in self.au_names] if fmt == "openface" else list(self.au_names)
        if fmt == "openface" and [int(n[2:]) for n in names] != sorted(int(n[2:]) for n in names):
            raise ValueError(f"openface format needs the AUs in ascending order, got {self.au_names}")
        self.meta = list(META_COLUMNS[fmt])
        self.p_columns = [f"{n}_p" for n in names]
        self.c_columns = [f"{n}_c" for n in names]
        self.ps_columns = [c + SMOOTH_SUFFIX for c in self.p_columns]
        self.cs_columns = [c + SMOOTH_SUFFIX for c in self.c_columns]
        self.r_columns = [f"{n}_r" for n in names] if self.intensity else []
        self.rs_columns = [c + SMOOTH_SUFFIX for c in self.r_columns]
        order = ([self.r_columns, self.c_columns, self.p_columns] if fmt == "openface"
                 else [self.p_columns, self.c_columns, self.r_columns])
        if self.smoothed_probs:
            order += [self.ps_columns, self.rs_columns]
        if self.smoothed_decisions:
            order.append(self.cs_columns)
        self.columns = self.meta + [c for group in order for c in group] + self.extra_columns

    @property
    def faceless_decision(self) -> float:
        """What a ``_c`` (and ``_r``) cell holds when ``success`` is 0: NaN (empty) for mindface, 0 for
        openface (OpenFace's convention)."""
        return 0.0 if self.fmt == "openface" else np.nan

    @property
    def value_columns(self) -> List[str]:
        """The columns a row with ``success`` 1 must fill: ``_p``, ``_c`` and ``_r`` (not the smoothed ones)."""
        return self.p_columns + self.c_columns + self.r_columns

    def with_smoothing(self, probs: bool, decisions: bool) -> "CsvLayout":
        return CsvLayout(self.fmt, self.au_names, self.extra_columns, probs, decisions, self.precision,
                         self.intensity)

    @classmethod
    def from_columns(cls, columns: Sequence[str], source: str = "table") -> "CsvLayout":
        """The layout of an existing header (either format); ValueError naming ``source`` if it is none."""
        columns = list(columns)
        fmt = "openface" if columns[1:2] == ["face_id"] else "mindface"
        p_cols = [c for c in columns if _AU_COLUMN.match(c) and c.endswith("_p")]
        if not p_cols:
            raise ValueError(f"{source}: no AU probability columns (<AU>_p)")
        au_names = [f"AU{_au_number(c)}" for c in p_cols]
        au_columns = [c for c in columns if _AU_COLUMN.match(c)]
        extra = [c for c in columns if c not in META_COLUMNS[fmt] and c not in au_columns]
        layout = cls(fmt, au_names, extra, any(c in columns for c in (p + SMOOTH_SUFFIX for p in p_cols)),
                     any(c.endswith("_c" + SMOOTH_SUFFIX) for c in columns),
                     intensity=any(c.endswith("_r") for c in au_columns))
        if layout.columns != columns:
            raise ValueError(f"{source}: columns are not a {fmt} AU table: {columns}")
        return layout

    def kind(self, column: str) -> str:
        """'int', 'float:<decimals>', 'decision' or 'str': how a column is typed and written (probabilities
        and intensities: ``precision`` decimals)."""
        if column in INT_COLUMNS:
            return "int"
        if column in _DECIMALS:
            return f"float:{_DECIMALS[column]}"
        match = _AU_COLUMN.match(column)
        if match:
            return "decision" if match.group(2) == "c" else f"float:{self.precision}"
        return "str"


def csv_columns(au_names: Sequence[str] = AU_NAMES, extra_columns: Sequence[str] = (), fmt: str = "mindface",
                intensity: bool = False) -> List[str]:
    """The header of a table without smoothed columns (with ``_r`` columns when ``intensity``)."""
    return CsvLayout(fmt, au_names, extra_columns, intensity=intensity).columns


# --------------------------------------------------------------------------- building rows
def _values(values, n: int, n_aus: int) -> np.ndarray:
    """(N, C) float64 of per-AU values (an (0, C) array when there are no rows)."""
    return np.asarray(values, np.float64).reshape(n, -1) if n else np.zeros((0, n_aus))


def _check_rows(layout: CsvLayout, frame, success, probs, decisions, intensity, where: str) -> None:
    """ValueError naming ``where`` and the first bad frame: shapes, success 0/1, AU values only with a face,
    finite probabilities and intensities, 0/1 decisions."""
    n_aus, n = len(layout.au_names), len(success)
    if probs.shape != (n, n_aus) or decisions.shape != (n, n_aus):
        raise ValueError(f"{where}: expected {n_aus} probabilities and {n_aus} decisions per row, "
                         f"got {probs.shape[1:]} and {decisions.shape[1:]}")
    if intensity is not None and intensity.shape != (n, n_aus):
        raise ValueError(f"{where}: expected {n_aus} intensities per row, got {intensity.shape[1:]}")
    bad = ~np.isin(success, (0, 1))
    if bad.any():
        raise ValueError(f"{where}: frame {frame[bad][0]}: success must be 0 or 1, got {success[bad][0]}")
    ok = success == 1
    values = [probs, decisions] + ([] if intensity is None else [intensity])
    faceless = ~ok & np.any([~np.isnan(v).all(1) for v in values], axis=0)
    if faceless.any():
        raise ValueError(f"{where}: frame {frame[faceless][0]}: a row with success=0 takes no AU values")
    for name, v in (("probabilities", probs), ("intensities", intensity)):
        bad = ok & (~np.isfinite(v).all(1) if v is not None else False)
        if bad.any():
            raise ValueError(f"{where}: frame {frame[bad][0]}: {name} contain NaN or inf")
    bad = ok & ~np.isin(decisions, (0, 1)).all(1)
    if bad.any():
        raise ValueError(f"{where}: frame {frame[bad][0]}: decisions must be 0/1, got {decisions[bad][0].tolist()}")


def make_table(layout: CsvLayout, frame, timestamp, face_id, confidence, success, probs, decisions,
               extra: Optional[dict] = None, where: str = "table", intensity=None) -> pd.DataFrame:
    """Rows of an AU table as a DataFrame with ``layout.columns`` (no smoothed columns).

    Args:
        frame, timestamp, face_id, confidence, success: (N,) per row; success 0 or 1.
        probs: (N, C) probabilities, NaN rows where success is 0 (C = len(layout.au_names)).
        decisions: (N, C) 0/1 decisions, NaN rows where success is 0.
        extra: column name -> (N,) values for ``layout.extra_columns``.
        where: the file named in errors.
        intensity: (N, C) 0-5 intensities, NaN rows where success is 0; required when
            ``layout.intensity``, refused otherwise.
    """
    n_aus = len(layout.au_names)
    success = np.asarray(success, np.int64).reshape(-1)
    n = len(success)
    if layout.intensity and intensity is None:
        raise ValueError(f"{where}: the table has intensity columns (_r) but no intensities were given")
    if intensity is not None and not layout.intensity:
        raise ValueError(f"{where}: intensities were given but the table has no intensity columns (_r)")
    probs, decisions = _values(probs, n, n_aus), _values(decisions, n, n_aus)
    intensity = None if intensity is None else _values(intensity, n, n_aus)
    frame = np.asarray(frame, np.int64).reshape(-1)
    _check_rows(layout, frame, success, probs, decisions, intensity, where)
    extra = dict(extra or {})
    if sorted(extra) != sorted(layout.extra_columns):
        raise ValueError(f"{where}: expected extra values for {layout.extra_columns}, got {sorted(extra)}")
    ok = success == 1
    decisions = decisions.copy()
    decisions[~ok] = layout.faceless_decision
    data = {"frame": frame, "timestamp": np.asarray(timestamp, np.float64).reshape(-1),
            "face_id": np.asarray(face_id, np.int64).reshape(-1),
            "confidence": np.asarray(confidence, np.float64).reshape(-1), "success": success}
    data.update({c: probs[:, j] for j, c in enumerate(layout.p_columns)})
    data.update({c: decisions[:, j] for j, c in enumerate(layout.c_columns)})
    if intensity is not None:
        intensity = intensity.copy()
        intensity[~ok] = layout.faceless_decision
        data.update({c: intensity[:, j] for j, c in enumerate(layout.r_columns)})
    data.update({c: np.asarray(extra[c], dtype=object).reshape(-1) for c in layout.extra_columns})
    raw = layout.columns[:len(layout.meta) + len(layout.value_columns)]  # meta and values in the format's order
    return pd.DataFrame(data, columns=raw + layout.extra_columns)


def empty_table(layout: CsvLayout) -> pd.DataFrame:
    n = len(layout.au_names)
    return make_table(layout, [], [], [], [], [], np.zeros((0, n)), np.zeros((0, n)),
                      {c: [] for c in layout.extra_columns}, intensity=np.zeros((0, n)) if layout.intensity else None)
