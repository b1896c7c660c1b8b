"""How an exported file's probabilities agree with the fp32 network's on the same frames."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..evaluation.metrics import binarize, mean_f1


def agreement_report(probs: np.ndarray, reference: np.ndarray, labels: Optional[np.ndarray], thresholds) -> dict:
    """Compare ``probs`` (N, n) of an exported file with the fp32 Cell's ``reference`` (N, n).

    ``frames``, ``max_prob_diff``, ``decision_agreement`` (share of the N x n AU decisions at
    ``thresholds`` that agree) and, only where ``labels`` (N, n) exist, ``mean_f1`` and
    ``reference_mean_f1`` (None without labels).
    """
    agree = binarize(probs, thresholds) == binarize(reference, thresholds)
    report = {"frames": int(len(probs)), "max_prob_diff": float(np.abs(probs - reference).max()),
              "decision_agreement": float(agree.mean()), "mean_f1": None, "reference_mean_f1": None}
    if labels is not None:
        report["mean_f1"] = float(mean_f1(probs, labels, thresholds))
        report["reference_mean_f1"] = float(mean_f1(reference, labels, thresholds))
    return report
