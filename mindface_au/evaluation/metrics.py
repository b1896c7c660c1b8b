"""Per-AU F1 (the ABAW metric), per-AU threshold search (:func:`mindface_au.evaluation.score` combines them)
and per-AU ROC AUC (threshold-free).

Conventions used everywhere in :mod:`mindface_au.evaluation`:

* ``probs`` is an (N, C) array of probabilities (C = the model's AUs in its order, the config's
  ``data.aus``; Aff-Wild2's 12 of :data:`~mindface_au.constants.AU_NAMES` by default); ``labels``
  is (N, C) in {0, 1}, or {-1, 0, 1} where -1 marks an entry that is not annotated: such entries
  are left out of that AU's F1 (a per-AU mask).
* A prediction is positive when ``prob >= threshold`` (as in the authors' code), compared in
  float64 whatever the input dtype; ``thresholds`` is a scalar or one value per AU, shape (C,).
* F1 of one AU = 2 TP / (2 TP + FP + FN), and 0 when that is 0/0 (no positive label and no
  positive prediction): scikit-learn's ``f1_score(..., zero_division=0)``.
* Scores are fractions in [0, 1] (the paper prints them x100).
"""
from __future__ import annotations

from typing import Iterable, Tuple

import numpy as np

from ..constants import THRESHOLD_GRID
from .thresholds import ThresholdLike, as_thresholds


# --------------------------------------------------------------------------- input checks
def check_probs_labels(probs, labels, name: str = "probs") -> Tuple[np.ndarray, np.ndarray]:
    """Validate and convert: ``(probs float64 (N, C), labels int8 (N, C) in {-1, 0, 1})``."""
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(labels)
    if p.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N, n_aus), got shape {p.shape}")
    if y.shape != p.shape:
        raise ValueError(f"labels shape {y.shape} does not match {name} shape {p.shape}")
    if p.shape[0] == 0:
        raise ValueError(f"{name} holds no frames (shape {p.shape})")
    if not np.all(np.isfinite(p)):
        bad = np.argwhere(~np.isfinite(p))[0]
        raise ValueError(f"{name} holds a non-finite value at row {bad[0]}, column {bad[1]}")
    y = as_label_array(y)
    return p, y


def as_label_array(y: np.ndarray) -> np.ndarray:
    """Labels (any shape) -> int8 in {-1, 0, 1} (bool or float 0./1./-1. accepted, anything else refused)."""
    if y.dtype == bool:
        return y.astype(np.int8)
    ok = (y == 0) | (y == 1) | (y == -1)
    if not np.all(ok):
        bad = np.argwhere(~ok)[0]
        raise ValueError(f"labels must be 0, 1 or -1 (not annotated); got {y[tuple(bad)]!r} at row {bad[0]}, "
                         f"column {bad[1]}")
    return y.astype(np.int8)


def binarize(probs, thresholds: ThresholdLike = 0.5) -> np.ndarray:
    """(N, C) probabilities -> (N, C) int8 0/1 predictions: 1 where ``prob >= threshold``."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probs must be 2-D (N, n_aus), got shape {p.shape}")
    return (p >= as_thresholds(thresholds, p.shape[1])[None, :]).astype(np.int8)


# --------------------------------------------------------------------------- F1
def f1_per_au(probs, labels, thresholds: ThresholdLike = 0.5) -> np.ndarray:
    """F1 of each AU at ``thresholds`` (scikit-learn ``f1_score``, ``zero_division=0``).

    Args:
        probs: (N, C) probabilities (or 0/1 predictions, which threshold to themselves at 0.5).
        labels: (N, C) in {0, 1}; -1 entries are ignored for that AU.
        thresholds: scalar or (C,).

    Returns:
        (C,) float64 F1 per AU.
    """
    from sklearn.metrics import f1_score  # here, not at import: scikit-learn takes ~2 s to import

    p, y = check_probs_labels(probs, labels)
    pred = binarize(p, thresholds)
    if not np.any(y < 0):  # one multilabel call, the common case
        return np.asarray(f1_score(y, pred, average=None, zero_division=0), dtype=np.float64)
    out = np.zeros(p.shape[1], dtype=np.float64)
    for j in range(p.shape[1]):
        keep = y[:, j] >= 0
        if keep.any():
            out[j] = f1_score(y[keep, j], pred[keep, j], zero_division=0)
    return out


def mean_f1(probs, labels, thresholds: ThresholdLike = 0.5) -> float:
    """Mean over AUs of :func:`f1_per_au` (the ABAW AU score)."""
    return float(f1_per_au(probs, labels, thresholds).mean())


def binary_f1(preds, labels) -> np.ndarray:
    """F1 per AU of 0/1 predictions, from counts (fast path, equal to :func:`f1_per_au` at 0.5).

    Used for sweeps where scikit-learn's input checking would dominate. (N, C), (N, C) -> (C,).
    """
    pr = np.asarray(preds)
    p, y = check_probs_labels(pr, labels, name="preds")
    if not np.all((pr == 0) | (pr == 1)):
        raise ValueError("preds must be 0/1")
    valid = y >= 0
    pos_pred = (p >= 0.5) & valid
    pos_true = (y == 1)
    tp = np.count_nonzero(pos_pred & pos_true, axis=0)
    denom = np.count_nonzero(pos_pred, axis=0) + np.count_nonzero(pos_true, axis=0)
    return np.divide(2.0 * tp, denom, out=np.zeros(p.shape[1]), where=denom > 0)


def all_positive_f1(labels) -> np.ndarray:
    """(C,) F1 per AU of the trivial predictor that says 1 for every frame (a baseline).

    Equals 2P / (P + N_annotated) per AU. Take ``.mean()`` for the mean F1.
    """
    y = as_label_array(np.asarray(labels))
    if y.ndim != 2:
        raise ValueError(f"labels must be 2-D (N, n_aus), got shape {y.shape}")
    return f1_per_au(np.ones(y.shape, dtype=np.float64), y, 0.5)


def f1_over_grid(probs, labels, grid: Iterable[float] = THRESHOLD_GRID) -> np.ndarray:
    """F1 of every AU at every threshold of ``grid``: (G, C).

    Vectorised over frames and grid: per AU, the probabilities are sorted once and the counts of
    positives at each threshold come from a cumulative sum and ``searchsorted``, so the cost is
    O(N log N) per AU whatever the grid size.
    """
    p, y = check_probs_labels(probs, labels)
    g = np.asarray(list(grid), dtype=np.float64)
    if g.ndim != 1 or g.size == 0:
        raise ValueError("grid must be a non-empty 1-D sequence of thresholds")
    out = np.zeros((g.size, p.shape[1]), dtype=np.float64)
    for j in range(p.shape[1]):
        keep = y[:, j] >= 0
        pj, yj = p[keep, j], y[keep, j]
        order = np.argsort(pj, kind="stable")
        ps = pj[order]
        pos_cum = np.concatenate([[0], np.cumsum(yj[order], dtype=np.int64)])
        n_pos = int(pos_cum[-1])
        first = np.searchsorted(ps, g, side="left")  # frames [first:] have prob >= t
        n_pred = ps.size - first
        tp = n_pos - pos_cum[first]
        denom = n_pred + n_pos  # = 2TP + FP + FN
        out[:, j] = np.divide(2.0 * tp, denom, out=np.zeros(g.size), where=denom > 0)
    return out


def best_thresholds(probs, labels, grid: Iterable[float] = THRESHOLD_GRID) -> Tuple[np.ndarray, np.ndarray]:
    """Per-AU threshold from ``grid`` that maximises that AU's F1 (ties: the lowest threshold).

    Returns:
        ``(thresholds (C,), f1 (C,))``: the chosen thresholds and the F1 each reaches.
    """
    g = np.asarray(list(grid), dtype=np.float64)
    table = f1_over_grid(probs, labels, g)
    best = np.argmax(table, axis=0)  # first maximum = lowest threshold
    return g[best].copy(), table[best, np.arange(table.shape[1])]


def roc_auc_per_au(scores, labels) -> np.ndarray:
    """Threshold-free ranking quality per AU: (C,) float64 ROC AUC of ``scores`` (N, C) against ``labels``
    (N, C) in {-1, 0, 1} over the frames coded for that AU (label >= 0); NaN for an AU whose coded frames
    are all of one class. 0.5 is chance, 1 a perfect ranking."""
    from sklearn.metrics import roc_auc_score

    p, y = check_probs_labels(scores, labels, "scores")
    out = np.full(p.shape[1], np.nan)
    for j in range(p.shape[1]):
        coded = y[:, j] >= 0
        if len(np.unique(y[coded, j])) == 2:
            out[j] = roc_auc_score(y[coded, j], p[coded, j])
    return out
