"""The per-frame AU table: its columns in two formats, reading and writing it as CSV (pandas),
temporal smoothing over it and its timeline plot. ``tools/infer.py`` writes it, ``AUDetector``
returns it (:class:`AUTable`, a pandas DataFrame).

Formats (``csv_format``):

* ``mindface`` (default): ``frame, timestamp, face_id, confidence, success``, then ``AU1_p ...
  AU26_p`` (probabilities), ``AU1_c ... AU26_c`` (0/1 decisions), the AU names of
  :data:`mindface_au.constants.AU_NAMES`. A frame without a face has ``success=0`` and empty AU
  cells.
* ``openface``: OpenFace 2's names and order for the columns it writes: ``frame, face_id,
  timestamp, confidence, success``, then OpenFace's occurrence columns ``AU01_c ... AU26_c``
  (AU numbers zero-padded, ascending as OpenFace sorts them), then our probabilities
  ``AU01_p ... AU26_p`` (OpenFace has no probabilities; its ``_r`` intensities are not
  estimated here). Fields are separated by ``", "`` as OpenFace writes them. Our 12 AUs include
  AU24, which OpenFace lacks: ``AU24_c`` sits in numeric order between ``AU23_c`` and
  ``AU25_c``; OpenFace's AU05, AU09, AU14, AU17, AU20, AU28 and AU45 are absent. A frame without
  a face gets ``_c`` = 0 (OpenFace's convention) and empty ``_p`` cells.

Smoothed values never replace the raw ones: they go in their own columns ``<AU>_p_smooth``
(probability smoothing) and ``<AU>_c_smooth`` (the decisions after probability and label
smoothing), after the raw ``_c`` / ``_p`` columns. Extra columns (``file`` for folders of images)
come last.
"""
from __future__ import annotations

import csv
import os
import re
import warnings
from typing import List, Optional, Sequence

import numpy as np
import pandas as pd

from ..constants import AU_NAMES
from ..fileio import atomic_path

CSV_FORMATS = ("mindface", "openface")
SMOOTH_SUFFIX = "_smooth"
META_COLUMNS = {"mindface": ("frame", "timestamp", "face_id", "confidence", "success"),
                "openface": ("frame", "face_id", "timestamp", "confidence", "success")}
INT_COLUMNS = ("frame", "face_id", "success")
_DECIMALS = {"timestamp": 3, "confidence": 3}
_AU_COLUMN = re.compile(r"^AU(\d+)_([pc])(_smooth)?$")


def openface_au_name(name: str) -> str:
    """``'AU1'`` -> ``'AU01'`` (OpenFace zero-pads AU numbers to two digits)."""
    match = re.fullmatch(r"AU(\d+)", name)
    if not match:
        raise ValueError(f"not an AU name: {name!r}")
    return f"AU{int(match.group(1)):02d}"


def _au_number(column: str) -> int:
    return int(_AU_COLUMN.match(column).group(1))


class CsvLayout:
    """The columns of one AU table: format, AU names, smoothed columns and extra columns.

    ``p_columns`` / ``c_columns`` / ``ps_columns`` / ``cs_columns`` list the column names of the
    probabilities, decisions, smoothed probabilities and smoothed decisions, one per AU in the
    order of ``au_names`` (the model's order); ``columns`` is the whole header.
    """

    def __init__(self, fmt: str = "mindface", au_names: Sequence[str] = AU_NAMES, extra_columns: Sequence[str] = (),
                 smoothed_probs: bool = False, smoothed_decisions: bool = False, precision: int = 4):
        if fmt not in CSV_FORMATS:
            raise ValueError(f"csv format must be one of {CSV_FORMATS}, got {fmt!r}")
        self.fmt = fmt
        self.au_names = list(au_names)
        self.extra_columns = list(extra_columns)
        self.smoothed_probs = bool(smoothed_probs)
        self.smoothed_decisions = bool(smoothed_decisions)
        self.precision = int(precision)
        names = [openface_au_name(a) for a in self.au_names] if fmt == "openface" else list(self.au_names)
        if fmt == "openface" and [int(n[2:]) for n in names] != sorted(int(n[2:]) for n in names):
            raise ValueError(f"openface format needs the AUs in ascending order, got {self.au_names}")
        self.meta = list(META_COLUMNS[fmt])
        self.p_columns = [f"{n}_p" for n in names]
        self.c_columns = [f"{n}_c" for n in names]
        self.ps_columns = [c + SMOOTH_SUFFIX for c in self.p_columns]
        self.cs_columns = [c + SMOOTH_SUFFIX for c in self.c_columns]
        order = [self.c_columns, self.p_columns] if fmt == "openface" else [self.p_columns, self.c_columns]
        if self.smoothed_probs:
            order.append(self.ps_columns)
        if self.smoothed_decisions:
            order.append(self.cs_columns)
        self.columns = self.meta + [c for group in order for c in group] + self.extra_columns

    @property
    def faceless_decision(self) -> float:
        """What a ``_c`` cell holds when ``success`` is 0: NaN (empty) for mindface, 0 for openface."""
        return 0.0 if self.fmt == "openface" else np.nan

    def with_smoothing(self, probs: bool, decisions: bool) -> "CsvLayout":
        return CsvLayout(self.fmt, self.au_names, self.extra_columns, probs, decisions, self.precision)

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
                     any(c.endswith("_c" + SMOOTH_SUFFIX) for c in columns))
        if layout.columns != columns:
            raise ValueError(f"{source}: columns are not a {fmt} AU table: {columns}")
        return layout

    def kind(self, column: str) -> str:
        """'int', 'float:<decimals>', 'decision' or 'str': how a column is typed and written."""
        if column in INT_COLUMNS:
            return "int"
        if column in _DECIMALS:
            return f"float:{_DECIMALS[column]}"
        match = _AU_COLUMN.match(column)
        if match:
            return f"float:{self.precision}" if match.group(2) == "p" else "decision"
        return "str"


def csv_columns(au_names: Sequence[str] = AU_NAMES, extra_columns: Sequence[str] = (), fmt: str = "mindface") -> List[str]:
    """The header of a table without smoothed columns."""
    return CsvLayout(fmt, au_names, extra_columns).columns


# --------------------------------------------------------------------------- building rows
def make_table(layout: CsvLayout, frame, timestamp, face_id, confidence, success, probs, decisions,
               extra: Optional[dict] = None, where: str = "table") -> pd.DataFrame:
    """Rows of an AU table as a DataFrame with ``layout.columns`` (no smoothed columns).

    Args:
        frame, timestamp, face_id, confidence, success: (N,) per row; success 0 or 1.
        probs: (N, C) probabilities, NaN rows where success is 0 (C = len(layout.au_names)).
        decisions: (N, C) 0/1 decisions, NaN rows where success is 0.
        extra: column name -> (N,) values for ``layout.extra_columns``.
        where: the file named in errors.
    """
    n_aus = len(layout.au_names)
    success = np.asarray(success, np.int64).reshape(-1)
    n = len(success)
    probs = np.asarray(probs, np.float64).reshape(n, -1) if n else np.zeros((0, n_aus))
    decisions = np.asarray(decisions, np.float64).reshape(n, -1) if n else np.zeros((0, n_aus))
    frame = np.asarray(frame, np.int64).reshape(-1)
    if probs.shape != (n, n_aus) or decisions.shape != (n, n_aus):
        raise ValueError(f"{where}: expected {n_aus} probabilities and {n_aus} decisions per row, "
                         f"got {probs.shape[1:]} and {decisions.shape[1:]}")
    bad = ~np.isin(success, (0, 1))
    if bad.any():
        raise ValueError(f"{where}: frame {frame[bad][0]}: success must be 0 or 1, got {success[bad][0]}")
    ok = success == 1
    faceless = ~ok & (~np.isnan(probs).all(1) | ~np.isnan(decisions).all(1))
    if faceless.any():
        raise ValueError(f"{where}: frame {frame[faceless][0]}: a row with success=0 takes no AU values")
    bad = ok & ~np.isfinite(probs).all(1)
    if bad.any():
        raise ValueError(f"{where}: frame {frame[bad][0]}: probabilities contain NaN or inf")
    bad = ok & ~np.isin(decisions, (0, 1)).all(1)
    if bad.any():
        raise ValueError(f"{where}: frame {frame[bad][0]}: decisions must be 0/1, got {decisions[bad][0].tolist()}")
    extra = dict(extra or {})
    if sorted(extra) != sorted(layout.extra_columns):
        raise ValueError(f"{where}: expected extra values for {layout.extra_columns}, got {sorted(extra)}")
    decisions = decisions.copy()
    decisions[~ok] = layout.faceless_decision
    data = {"frame": frame, "timestamp": np.asarray(timestamp, np.float64).reshape(-1),
            "face_id": np.asarray(face_id, np.int64).reshape(-1),
            "confidence": np.asarray(confidence, np.float64).reshape(-1), "success": success}
    data.update({c: probs[:, j] for j, c in enumerate(layout.p_columns)})
    data.update({c: decisions[:, j] for j, c in enumerate(layout.c_columns)})
    data.update({c: np.asarray(extra[c], dtype=object).reshape(-1) for c in layout.extra_columns})
    return pd.DataFrame(data, columns=layout.columns[:len(layout.meta) + 2 * n_aus] + layout.extra_columns)


def empty_table(layout: CsvLayout) -> pd.DataFrame:
    n = len(layout.au_names)
    return make_table(layout, [], [], [], [], [], np.zeros((0, n)), np.zeros((0, n)),
                      {c: [] for c in layout.extra_columns})


# --------------------------------------------------------------------------- CSV text
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
    ``layout.precision`` decimals, timestamps and confidences to 3), so that a table in memory holds
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


def read_au_csv(path: str) -> pd.DataFrame:
    """An AU CSV of either format as a DataFrame (meta columns int/float, AU columns float with NaN for
    empty cells, extra columns str). Raises ValueError naming the file and line on a malformed row."""
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
    columns = [str(c).strip() for c in raw.columns]
    raw.columns = columns
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
    out = {}
    for c in columns:
        kind = layout.kind(c)
        cells = raw[c]
        if kind == "str":
            out[c] = cells.astype(object).where(cells.notna(), "").map(lambda s: str(s).strip())
            continue
        values = pd.to_numeric(cells, errors="coerce")
        bad = (values.isna() & cells.notna()).to_numpy()
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{path}:{k + 2}: column {c!r} holds {cells.iloc[k]!r}, not a number")
        out[c] = values.astype(np.int64) if kind == "int" else values.astype(np.float64)
    table = pd.DataFrame(out, columns=columns)
    ok = table["success"] == 1
    incomplete = ok & table[layout.p_columns + layout.c_columns].isna().any(axis=1)
    if incomplete.any():
        line = int(np.flatnonzero(incomplete.to_numpy())[0]) + 2
        raise ValueError(f"{path}:{line}: a row with success=1 has empty AU cells")
    return table


# --------------------------------------------------------------------------- smoothing
def smooth_table(table: pd.DataFrame, layout: CsvLayout, prob_k: int = 0, label_k: int = 0, thresholds=0.5,
                 frame_step: int = 1, edges: str = "clip") -> tuple:
    """The paper's post-processing per face track, in new columns: ``(table, layout)``.

    Windows count **frames**: ``prob_k=8`` averages the rows of frames t-8 ... t+8. When only every
    ``frame_step``-th frame was processed (``--skip-frames frame_step - 1``), that window holds
    ``prob_k // frame_step`` processed frames on each side. Rows with ``success=0`` are skipped
    over, as :mod:`mindface_au.evaluation.smoothing` skips frames absent from a video; each
    ``face_id`` is its own track. ``edges``: 'clip' or 'keep' (see that module).

    Adds ``<AU>_p_smooth`` (when ``prob_k``) and ``<AU>_c_smooth`` (decisions of the smoothed
    probabilities at ``thresholds``, then label smoothing when ``label_k``); the raw columns stay.
    """
    from ..evaluation import binarize, smooth_labels, smooth_probs

    frame_step = max(1, int(frame_step))
    rows_prob, rows_label = int(prob_k) // frame_step, int(label_k) // frame_step
    for name, k, rows in (("prob", prob_k, rows_prob), ("label", label_k, rows_label)):
        if k and not rows:
            warnings.warn(f"--smooth {name}={k}: a window of +-{k} frames holds no other processed frame when "
                          f"one frame in {frame_step} is processed; {name} smoothing does nothing", stacklevel=2)
    if not (prob_k or label_k):
        return table, layout
    out_layout = layout.with_smoothing(bool(prob_k), True)
    ok = (table["success"] == 1).to_numpy()
    probs = table[layout.p_columns].to_numpy(np.float64)
    smoothed = probs.copy()
    decisions = np.full(probs.shape, layout.faceless_decision)
    if ok.any():
        # rows in frame order within each track (a stable sort keeps the written order otherwise)
        order = np.flatnonzero(ok)[np.argsort(table["frame"].to_numpy()[ok], kind="stable")]
        tracks = table["face_id"].to_numpy()[order]
        p = probs[order]
        if rows_prob:
            p = smooth_probs(p, tracks, rows_prob, edges=edges)
        d = binarize(p, thresholds)
        if rows_label:
            d = smooth_labels(d, tracks, rows_label, edges=edges)
        smoothed[order] = p
        decisions[order] = d
    out = table.copy()
    if prob_k:
        for j, c in enumerate(layout.ps_columns):
            out[c] = smoothed[:, j]
    for j, c in enumerate(layout.cs_columns):
        out[c] = decisions[:, j]
    return out[out_layout.columns], out_layout


# --------------------------------------------------------------------------- timeline
def plot_table_timeline(table: pd.DataFrame, layout: CsvLayout, png_path: str, fps: Optional[float] = None,
                        title: str = "AU probabilities", thresholds=None) -> Optional[str]:
    """Heat map of the AU probabilities of the first face track over time (mindface_au.evaluation.report).

    The x axis is the source's frames (seconds when ``fps``), however many were skipped: the rows
    are placed at their frame numbers and each holds until the next processed frame; frames
    without a face stay blank. Returns ``png_path``, or None when the table has no rows.
    """
    from ..evaluation import plot_au_timeline

    if not len(table):
        return None
    ok = table["success"] == 1
    face = int(table.loc[ok, "face_id"].min()) if ok.any() else 0
    track = table[table["face_id"] == face]
    probs = track.set_index("frame")[layout.p_columns]
    probs = probs[~probs.index.duplicated(keep="first")].sort_index()
    frames = np.unique(table["frame"].to_numpy())
    step = int(np.diff(frames).min()) if len(frames) > 1 else 1
    grid = pd.RangeIndex(1, int(probs.index.max()) + step)
    probs = probs.reindex(grid)
    if step > 1:
        probs = probs.ffill(limit=step - 1)
    return plot_au_timeline(probs.to_numpy(np.float64), png_path, fps=fps, title=f"{title} (face {face})",
                            thresholds=thresholds)


# --------------------------------------------------------------------------- the result type
class AUTable(pd.DataFrame):
    """A per-frame AU table as a pandas DataFrame (one row per frame and face), with the CSV's columns.

    Everything pandas does works (``table[table.success == 1].AU12_p.mean()``); two helpers add
    what ``tools/infer.py`` writes: :meth:`to_csv` (the CSV, in the table's format) and
    :meth:`plot_timeline` (the PNG heat map). ``attrs`` holds ``fps``, ``source`` and
    ``thresholds``.
    """

    @property
    def _constructor(self):
        return AUTable

    @property
    def layout(self) -> CsvLayout:
        return CsvLayout.from_columns([str(c) for c in self.columns], source="AUTable")

    def to_csv(self, path_or_buf=None, *args, **kwargs):
        """Without further arguments: the AU CSV (the header and number formats ``tools/infer.py``
        writes), written atomically to ``path_or_buf`` (returns it) or returned as text when None.
        With any other pandas argument: ``pandas.DataFrame.to_csv`` unchanged."""
        if args or kwargs:
            return super().to_csv(path_or_buf, *args, **kwargs)
        layout = self.layout
        if path_or_buf is None:
            return format_csv(self, layout)
        if isinstance(path_or_buf, (str, os.PathLike)):
            return write_au_csv(self, os.fspath(path_or_buf), layout)
        path_or_buf.write(format_csv(self, layout))
        return None

    def plot_timeline(self, path: Optional[str] = None, title: Optional[str] = None) -> Optional[str]:
        """PNG heat map of the first face's AU probabilities over time (seconds when the fps is known);
        ``path`` defaults to ``<source name>_timeline.png`` in the current folder. Returns the path."""
        source = self.attrs.get("source") or "au"
        stem = os.path.splitext(os.path.basename(str(source).rstrip("/\\")))[0] or "au"
        path = path or f"{stem}_timeline.png"
        return plot_table_timeline(self, self.layout, path, self.attrs.get("fps"), title or stem,
                                   self.attrs.get("thresholds"))


def as_au_table(table: pd.DataFrame, **attrs) -> AUTable:
    out = AUTable(table)
    out.attrs.update(attrs)
    return out


__all__ = ["AUTable", "CSV_FORMATS", "CsvLayout", "csv_columns", "format_csv", "make_table", "openface_au_name",
           "plot_table_timeline", "read_au_csv", "round_like_csv", "smooth_table", "write_au_csv"]
