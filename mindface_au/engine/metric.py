"""``AUF1Metric``: :func:`mindface_au.evaluation.score` as a ``mindspore.train.Metric`` (``Model.eval``)."""
from __future__ import annotations

from typing import Iterable

import numpy as np
from mindspore.train import Metric, rearrange_inputs

from ..constants import THRESHOLD_GRID
from ..evaluation.metrics import as_label_array
from ..evaluation.scoring import score
from ..evaluation.thresholds import ThresholdLike


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function of an array, in float64 (any shape)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


class AUF1Metric(Metric):
    """``mindspore.train.Metric`` for ``Model.eval``: per-AU F1, mean F1 and best thresholds.

    ``update(logits, labels)`` takes (B, C) logits (sigmoid is applied; pass ``from_logits=False``
    for probabilities) and (B, C) labels in {-1, 0, 1} as Tensors or numpy arrays, and keeps them.
    ``eval()`` returns :meth:`AUScore.as_dict <mindface_au.evaluation.AUScore.as_dict>` of everything
    seen (``mean_f1`` at ``threshold``, ``per_au_f1``, ``thresholds`` (best per AU over ``grid``),
    ``best_threshold_mean_f1``, ``best_threshold_per_au_f1``, ...) with numpy arrays in place of
    lists, plus ``probs`` (N, C) float32 and ``labels`` (N, C) int8, for saving or re-scoring.

    Memory: the probabilities and labels of every evaluated frame are kept (float32 + int8, 5 bytes
    per AU per frame: about 27 MB for Aff-Wild2's 445k validation frames; ``eval()`` scores a
    float64 copy).
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
        probs = sigmoid(out) if self.from_logits else out
        self._probs.append(probs.astype(np.float32))
        self._labels.append(as_label_array(lab))  # float 0./1./-1. accepted, anything else refused

    def eval(self) -> dict:
        """The scores of everything seen since :meth:`clear` (see the class docstring)."""
        if not self._probs:
            raise RuntimeError("AUF1Metric.eval called before any update")
        probs = np.concatenate(self._probs, axis=0)
        labels = np.concatenate(self._labels, axis=0)
        result = score(probs, labels, self.threshold, self.grid)
        out = {k: np.asarray(v) if isinstance(v, list) else v for k, v in result.as_dict().items()}
        return dict(out, probs=probs, labels=labels)
