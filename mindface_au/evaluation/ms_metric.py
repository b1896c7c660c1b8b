"""``AUF1Metric``: the ABAW F1 metrics of :mod:`.metrics` as a ``mindspore.train.Metric`` (``Model.eval``).

The only part of :mod:`mindface_au.evaluation` that imports MindSpore.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
from mindspore.train import Metric, rearrange_inputs

from ..constants import THRESHOLD_GRID
from .metrics import ThresholdLike, _as_label_array, _sigmoid, best_thresholds, f1_per_au


class AUF1Metric(Metric):
    """``mindspore.train.Metric`` for ``Model.eval``: per-AU F1, mean F1 and best thresholds.

    ``update(logits, labels)`` takes (B, C) logits (sigmoid is applied; pass ``from_logits=False``
    for probabilities) and (B, C) labels in {-1, 0, 1} as Tensors or numpy arrays, and keeps them.
    ``eval()`` returns a dict::

        {"mean_f1": float,             # mean F1 at `threshold` (0.5 = ABAW)
         "per_au_f1": (C,) ndarray,    # F1 per AU at `threshold`
         "thresholds": (C,) ndarray,   # best threshold per AU over `grid`
         "best_mean_f1": float,        # mean F1 with those thresholds
         "best_per_au_f1": (C,) ndarray,
         "probs": (N, C) float32, "labels": (N, C) int8}   # everything seen, for saving / re-scoring

    Memory: the probabilities and labels of every evaluated frame are kept (13 bytes per AU
    per frame when float32/int8: about 70 MB for Aff-Wild2's 445k validation frames).
    """

    def __init__(self, threshold: ThresholdLike = 0.5, grid: Iterable[float] = THRESHOLD_GRID,
                 from_logits: bool = True):
        super().__init__()
        self.threshold = threshold
        self.grid = tuple(float(t) for t in grid)
        self.from_logits = from_logits
        self.clear()

    def clear(self):
        """Forget everything seen so far."""
        self._probs = []
        self._labels = []

    @rearrange_inputs
    def update(self, *inputs):
        """Accumulate one batch: ``update(logits (B, C), labels (B, C))``."""
        if len(inputs) != 2:
            raise ValueError(f"AUF1Metric.update expects (logits, labels), got {len(inputs)} inputs")
        out = np.asarray(self._convert_data(inputs[0]), dtype=np.float64)
        lab = np.asarray(self._convert_data(inputs[1]))
        if out.ndim != 2 or lab.shape != out.shape:
            raise ValueError(f"AUF1Metric.update: logits shape {out.shape} and labels shape {lab.shape} "
                             "must both be (batch, n_aus)")
        probs = _sigmoid(out) if self.from_logits else out
        self._probs.append(probs.astype(np.float32))
        self._labels.append(_as_label_array(lab))  # float 0./1./-1. accepted, anything else refused

    def eval(self) -> dict:
        """The scores of everything seen since :meth:`clear` (see the class docstring)."""
        if not self._probs:
            raise RuntimeError("AUF1Metric.eval called before any update")
        probs = np.concatenate(self._probs, axis=0)
        labels = np.concatenate(self._labels, axis=0)
        per_au = f1_per_au(probs, labels, self.threshold)
        thr, best = best_thresholds(probs, labels, self.grid)
        return {"mean_f1": float(per_au.mean()), "per_au_f1": per_au, "thresholds": thr,
                "best_mean_f1": float(best.mean()), "best_per_au_f1": best,
                "probs": probs, "labels": labels}
