"""AU intensity scores as the field reports them: per AU ICC(3,1), Pearson r and MAE, averaged over AUs.

:func:`score_intensity` -> :class:`IntensityScore`; :func:`format_intensity_table` prints it in the
layout of the papers' intensity tables (rows = AUs, columns ICC / PCC / MAE, a mean row).

ICC(3,1) is Shrout & Fleiss (1979)'s two-way mixed, consistency, single-rater coefficient with the
prediction and the label as the two raters (k = 2) of each frame (the n targets)::

    ICC(3,1) = (BMS - EMS) / (BMS + (k - 1) EMS)

BMS: the between-targets mean square, EMS: the residual mean square of the two-way ANOVA.

Frames whose label is NaN (not coded) are left out of that AU's scores. A value that is undefined
(fewer than 2 frames; a constant column makes Pearson r 0/0, and both columns constant make ICC
0/0) is NaN, with no warning; the means over AUs are over the AUs where it is defined (NaN when
none is). numpy only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np


def icc_3_1(ratings) -> float:
    """ICC(3,1) of an (n targets, k raters) array: ``(BMS - EMS) / (BMS + (k - 1) EMS)``; NaN when
    n < 2 or the denominator is 0 (no variance at all)."""
    x = np.asarray(ratings, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError(f"ratings must be (n targets, k >= 2 raters), got shape {x.shape}")
    n, k = x.shape
    if n < 2:
        return float("nan")
    grand = x.mean()
    ss_rows = k * np.sum((x.mean(axis=1) - grand) ** 2)
    ss_cols = n * np.sum((x.mean(axis=0) - grand) ** 2)
    ss_err = np.sum((x - grand) ** 2) - ss_rows - ss_cols
    bms = ss_rows / (n - 1)
    ems = ss_err / ((n - 1) * (k - 1))
    denominator = bms + (k - 1) * ems
    return float((bms - ems) / denominator) if denominator > 0 else float("nan")


def pearson_r(a, b) -> float:
    """Pearson correlation of two (n,) arrays; NaN when n < 2 or either is constant."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size < 2:
        return float("nan")
    da, db = a - a.mean(), b - b.mean()
    denominator = np.sqrt(np.sum(da * da) * np.sum(db * db))
    return float(np.sum(da * db) / denominator) if denominator > 0 else float("nan")


def _from_json(values) -> np.ndarray:
    """A JSON list of numbers (None = undefined) -> float64 array with NaN."""
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _mean_defined(values: np.ndarray) -> float:
    """Mean over the finite entries (NaN when there is none), without numpy's empty-slice warning."""
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


@dataclass(frozen=True)
class IntensityScore:
    """Per-AU intensity scores of C AUs; every array is (C,), float64 unless said.

    Attributes:
        au_names: the C AU names, in column order.
        icc: ICC(3,1) of prediction and label.
        pcc: Pearson r of prediction and label.
        mae: mean absolute error (label units, 0-5 for FACS intensities).
        frames: int64, the frames scored per AU (those with a label).
    """

    au_names: tuple
    icc: np.ndarray
    pcc: np.ndarray
    mae: np.ndarray
    frames: np.ndarray

    @property
    def mean_icc(self) -> float:
        return _mean_defined(self.icc)

    @property
    def mean_pcc(self) -> float:
        return _mean_defined(self.pcc)

    @property
    def mean_mae(self) -> float:
        return _mean_defined(self.mae)

    def as_dict(self) -> dict:
        """The JSON form: ``au_names``, ``icc``, ``pcc``, ``mae`` (lists, NaN as None), ``frames`` and
        ``mean_icc``, ``mean_pcc``, ``mean_mae``."""

        def listed(v):
            return [float(x) if np.isfinite(x) else None for x in v]

        def one(x):
            return float(x) if np.isfinite(x) else None

        return {"au_names": list(self.au_names), "icc": listed(self.icc), "pcc": listed(self.pcc),
                "mae": listed(self.mae), "frames": [int(f) for f in self.frames],
                "mean_icc": one(self.mean_icc), "mean_pcc": one(self.mean_pcc), "mean_mae": one(self.mean_mae)}

    @classmethod
    def from_dict(cls, d: dict) -> "IntensityScore":
        """The inverse of :meth:`as_dict` (None -> NaN; the means are derived again)."""
        return cls(au_names=tuple(d["au_names"]), icc=_from_json(d["icc"]), pcc=_from_json(d["pcc"]),
                   mae=_from_json(d["mae"]), frames=np.asarray(d["frames"], dtype=np.int64))


def score_intensity(predictions, labels, au_names: Optional[Sequence[str]] = None) -> IntensityScore:
    """Score (N, C) predicted intensities against (N, C) labels (NaN: not coded, left out of that AU).

    Args:
        predictions: (N, C) predicted intensities (any real values; no clipping is done here).
        labels: (N, C) label intensities, NaN where a frame's AU is not coded.
        au_names: C names (default ``AU_0 ...``).
    """
    p = np.asarray(predictions, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if p.ndim != 2 or p.shape != y.shape:
        raise ValueError(f"predictions {p.shape} and labels {y.shape} must be the same (N, C) shape")
    if not np.isfinite(p).all():
        raise ValueError("predictions hold NaN or infinite values")
    c = p.shape[1]
    names = tuple(au_names) if au_names is not None else tuple(f"AU_{j}" for j in range(c))
    if len(names) != c:
        raise ValueError(f"{len(names)} AU names for {c} columns")
    icc, pcc, mae = np.full(c, np.nan), np.full(c, np.nan), np.full(c, np.nan)
    frames = np.zeros(c, np.int64)
    for j in range(c):
        coded = ~np.isnan(y[:, j])
        pj, yj = p[coded, j], y[coded, j]
        frames[j] = pj.size
        if pj.size:
            mae[j] = float(np.mean(np.abs(pj - yj)))
            icc[j] = icc_3_1(np.stack([pj, yj], axis=1))
            pcc[j] = pearson_r(pj, yj)
    return IntensityScore(au_names=names, icc=icc, pcc=pcc, mae=mae, frames=frames)


def coded_intensity(targets) -> np.ndarray:
    """(N, n) intensity targets of a dataset (0-5, ``-1`` = not coded, :mod:`mindface_au.outputs`) ->
    (N, n) float64 labels with NaN where not coded (what :func:`score_intensity` takes)."""
    t = np.asarray(targets, dtype=np.float64)
    return np.where(t < 0, np.nan, t)


def score_labelled_intensity(predictions, labels, au_names: Optional[Sequence[str]] = None
                             ) -> Optional[IntensityScore]:
    """:func:`score_intensity` where there is something to score: None when the model predicts no
    intensity (``predictions`` None), or the data has no intensity labels (``labels`` None or all NaN)."""
    if predictions is None or labels is None or np.isnan(np.asarray(labels, dtype=np.float64)).all():
        return None
    return score_intensity(predictions, labels, au_names)


#: the flat intensity keys of a training run's files: log.jsonl epoch records, best.ckpt's meta, summary.json
INTENSITY_KEYS = ("mean_icc", "mean_pcc", "mean_mae", "per_au_icc", "per_au_pcc", "per_au_mae")


def intensity_metrics(result: Optional[IntensityScore]) -> dict:
    """:data:`INTENSITY_KEYS` of ``result`` (plain floats and lists, NaN as None); ``{}`` for None, so a
    run without intensity keeps exactly its old keys."""
    if result is None:
        return {}
    d = result.as_dict()
    return {"mean_icc": d["mean_icc"], "mean_pcc": d["mean_pcc"], "mean_mae": d["mean_mae"],
            "per_au_icc": d["icc"], "per_au_pcc": d["pcc"], "per_au_mae": d["mae"]}


def intensity_from_metrics(metrics: dict, au_names: Sequence[str]) -> Optional[IntensityScore]:
    """The :class:`IntensityScore` of :func:`intensity_metrics`' keys (e.g. a ``summary.json``); None
    when they are absent. ``frames`` are unknown there and read 0."""
    if "per_au_icc" not in metrics:
        return None
    return IntensityScore(au_names=tuple(au_names), icc=_from_json(metrics["per_au_icc"]),
                          pcc=_from_json(metrics["per_au_pcc"]), mae=_from_json(metrics["per_au_mae"]),
                          frames=np.zeros(len(au_names), np.int64))


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table of text cells: the first column left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return "| " + " | ".join(str(cell).rjust(w) if i else str(cell).ljust(w)
                                 for i, (cell, w) in enumerate(zip(cells, widths))) + " |"

    sep = "|" + "|".join("-" * (w + 1) + ":" if i else ":" + "-" * (w + 1) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def _cell(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if np.isfinite(value) else "n/a"


def format_intensity_table(result: IntensityScore, digits: int = 2) -> str:
    """Markdown, as the papers' intensity tables: one row per AU (ICC, PCC, MAE), then the mean row;
    undefined values print ``n/a``."""
    rows = [[name, _cell(i, digits), _cell(p, digits), _cell(m, digits)]
            for name, i, p, m in zip(result.au_names, result.icc, result.pcc, result.mae)]
    rows.append(["mean", _cell(result.mean_icc, digits), _cell(result.mean_pcc, digits),
                 _cell(result.mean_mae, digits)])
    return markdown_table(["AU", "ICC", "PCC", "MAE"], rows)


__all__ = ["IntensityScore", "score_intensity", "icc_3_1", "pearson_r", "format_intensity_table", "markdown_table",
           "coded_intensity", "score_labelled_intensity", "intensity_metrics", "intensity_from_metrics",
           "INTENSITY_KEYS"]
