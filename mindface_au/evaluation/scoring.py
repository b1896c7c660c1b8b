"""One score of AU predictions: :func:`score` -> :class:`AUScore` (the one place mean F1 and the best
per-AU thresholds are computed; training's validation, ``eval`` and the MindSpore metric call it)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np

from ..constants import THRESHOLD_GRID
from .metrics import all_positive_f1, best_thresholds, binary_f1, check_probs_labels, f1_per_au
from .thresholds import ThresholdLike, as_thresholds


@dataclass(frozen=True)
class AUScore:
    """Per-AU F1 of predictions (C AUs); every array is float64 (C,).

    Attributes:
        per_au_f1: F1 at ``decision_thresholds`` (of ``decisions`` when :func:`score` got them).
        decision_thresholds: the thresholds the decisions were taken at.
        thresholds: per AU, the threshold of the grid that maximises its F1 (ties: the lowest).
        best_threshold_per_au_f1: the F1 each AU reaches at its best threshold.
        all_positive_per_au_f1: F1 of the trivial predictor that says 1 for every frame (a baseline).
        frames: N, the number of frames scored.
    """

    per_au_f1: np.ndarray
    decision_thresholds: np.ndarray
    thresholds: np.ndarray
    best_threshold_per_au_f1: np.ndarray
    all_positive_per_au_f1: np.ndarray
    frames: int

    @property
    def mean_f1(self) -> float:
        """Mean over AUs of :attr:`per_au_f1` (the ABAW AU score)."""
        return float(np.mean(self.per_au_f1))

    @property
    def best_threshold_mean_f1(self) -> float:
        """Mean over AUs of :attr:`best_threshold_per_au_f1`."""
        return float(np.mean(self.best_threshold_per_au_f1))

    @property
    def all_positive_mean_f1(self) -> float:
        """Mean over AUs of :attr:`all_positive_per_au_f1`."""
        return float(np.mean(self.all_positive_per_au_f1))

    def as_dict(self) -> dict:
        """The JSON form (plain floats and lists), the keys of ``eval_result.json``, the epoch records of
        ``log.jsonl`` and ``best.ckpt``'s meta: ``mean_f1``, ``per_au_f1``, ``decision_thresholds``,
        ``thresholds``, ``best_threshold_mean_f1``, ``best_threshold_per_au_f1``,
        ``all_positive_mean_f1``, ``frames``."""
        return {"mean_f1": self.mean_f1, "per_au_f1": self.per_au_f1.tolist(),
                "decision_thresholds": self.decision_thresholds.tolist(),
                "thresholds": self.thresholds.tolist(),
                "best_threshold_mean_f1": self.best_threshold_mean_f1,
                "best_threshold_per_au_f1": self.best_threshold_per_au_f1.tolist(),
                "all_positive_mean_f1": self.all_positive_mean_f1, "frames": self.frames}


def score(probs, labels, thresholds: ThresholdLike = 0.5, grid: Iterable[float] = THRESHOLD_GRID,
          decisions: Optional[np.ndarray] = None) -> AUScore:
    """Score (N, C) probabilities against (N, C) labels (-1: not annotated, left out of that AU's F1).

    Args:
        probs: (N, C) probabilities; the best per-AU thresholds are searched on them over ``grid``.
        labels: (N, C) in {0, 1} or {-1, 0, 1}.
        thresholds: the decision thresholds, a scalar or (C,).
        decisions: (N, C) 0/1 decisions to score in place of ``probs >= thresholds``, e.g. after
            label smoothing (:func:`mindface_au.evaluation.apply_postprocess`).
    """
    p, y = check_probs_labels(probs, labels)
    decision_thresholds = as_thresholds(thresholds, p.shape[1])
    per_au = f1_per_au(p, y, decision_thresholds) if decisions is None else binary_f1(decisions, y)
    best, best_f1 = best_thresholds(p, y, grid)
    return AUScore(per_au_f1=np.asarray(per_au, np.float64), decision_thresholds=decision_thresholds,
                   thresholds=best, best_threshold_per_au_f1=best_f1,
                   all_positive_per_au_f1=all_positive_f1(y), frames=int(len(y)))
