"""Ensembles: weighted mean of several models' per-frame AU probabilities.

The authors ensembled 5 models (the official split + 4 video folds) with fixed weights, then
thresholded; they averaged the models' per-AU thresholds with the same weights, which
:func:`weighted_mean` also does when given (C,) threshold arrays.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

#: The authors' ensemble weights, in the order (official split, fold 1, fold 2, fold 3, fold 4).
AUTHORS_WEIGHTS = (0.2013, 0.2075, 0.2037, 0.1940, 0.1935)


def normalise_weights(weights: Sequence[float], n_models: int) -> np.ndarray:
    """Check ``weights`` (one finite, non-negative number per model, not all 0) and scale them to sum 1."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.size != n_models:
        raise ValueError(f"got {w.size if w.ndim == 1 else w.shape} weights for {n_models} models; "
                         "give exactly one weight per model")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"weights must be finite and >= 0, got {w.tolist()}")
    total = w.sum()
    if total <= 0:
        raise ValueError(f"weights sum to {total}; at least one must be > 0")
    return w / total


def weighted_mean(prob_list: Sequence, weights: Optional[Sequence[float]] = None) -> np.ndarray:
    """Weighted mean of several models' outputs: sum_m w_m * prob_list[m] with weights normalised to sum 1.

    Args:
        prob_list: M arrays of the same shape, e.g. (N, C) probabilities of the same frames in the
            same order (or (C,) thresholds).
        weights: M weights (None: equal weights), e.g. :data:`AUTHORS_WEIGHTS`.

    Returns:
        float64 array of the common shape.
    """
    arrays = [np.asarray(p, dtype=np.float64) for p in prob_list]
    if not arrays:
        raise ValueError("weighted_mean needs at least one model's predictions")
    shape = arrays[0].shape
    for i, a in enumerate(arrays[1:], start=1):
        if a.shape != shape:
            raise ValueError(f"model {i} predictions have shape {a.shape}, but model 0's have {shape}; "
                             "all models must predict the same frames in the same order")
    w = normalise_weights(np.ones(len(arrays)) if weights is None else weights, len(arrays))
    out = np.zeros(shape, dtype=np.float64)
    for wi, a in zip(w, arrays):
        out += wi * a
    return out
