"""``AUF1Metric``: :func:`mindface_au.evaluation.score` as a ``mindspore.train.Metric`` (``Model.eval``)."""
from __future__ import annotations

from typing import Iterable

import numpy as np
from mindspore.train import Metric, rearrange_inputs

from ..constants import THRESHOLD_GRID
from ..evaluation.intensity import coded_intensity, intensity_metrics, score_labelled_intensity
from ..evaluation.metrics import as_label_array
from ..evaluation.scoring import score
from ..evaluation.thresholds import ThresholdLike
from ..outputs import split_outputs


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

    With ``intensity=True`` (a network with the intensity head, :mod:`mindface_au.outputs`) ``update``
    takes (B, 2C) outputs and (B, 2C) targets: the occurrence is scored on the first C columns exactly
    as above, and ``eval()`` adds :func:`~mindface_au.evaluation.intensity.intensity_metrics` of the last
    C (``mean_icc``, ``per_au_icc``, ... over the coded entries; absent when no entry is coded) and
    ``intensity`` (N, C) float32 / ``intensity_labels`` (N, C) float64 (NaN = not coded).
    """

    def __init__(self, threshold: ThresholdLike = 0.5, grid: Iterable[float] = THRESHOLD_GRID,
                 from_logits: bool = True, intensity: bool = False):
        super().__init__()
        self.threshold = threshold
        self.grid = tuple(float(t) for t in grid)
        self.from_logits = from_logits
        self.intensity = bool(intensity)
        self.clear()

    def clear(self):
        """Forget everything seen so far."""
        self._probs = []
        self._labels = []
        self._intensity = []
        self._intensity_labels = []

    @rearrange_inputs
    def update(self, *inputs):
        """Accumulate one batch: ``update(logits (B, C), labels (B, C))``; with ``intensity``
        ``update(outputs (B, 2C), targets (B, 2C))``."""
        if len(inputs) != 2:
            raise ValueError(f"AUF1Metric.update expects (logits, labels), got {len(inputs)} inputs")
        out = np.asarray(self._convert_data(inputs[0]), dtype=np.float64)
        lab = np.asarray(self._convert_data(inputs[1]))
        if out.ndim != 2 or lab.shape != out.shape:
            raise ValueError(f"AUF1Metric.update: logits shape {out.shape} and labels shape {lab.shape} "
                             "must both be (batch, n_aus)")
        if self.intensity:
            if out.shape[1] % 2:
                raise ValueError(f"AUF1Metric(intensity=True).update: outputs of width {out.shape[1]} are not "
                                 "(batch, 2 n_aus)")
            n = out.shape[1] // 2
            out, predicted = split_outputs(out, n)
            lab, coded = split_outputs(lab, n)
            self._intensity.append(predicted.astype(np.float32))
            self._intensity_labels.append(coded_intensity(coded))
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
        out = dict(out, probs=probs, labels=labels)
        if self.intensity:
            intensity, coded = np.concatenate(self._intensity), np.concatenate(self._intensity_labels)
            metrics = intensity_metrics(score_labelled_intensity(intensity, coded))
            out.update({k: np.asarray(v, np.float64) if isinstance(v, list) else v for k, v in metrics.items()},
                       intensity=intensity, intensity_labels=coded)
        return out
