"""How an exported file's outputs agree with the fp32 network's on the same frames: the probabilities
(occurrence) as decisions and F1, the intensities (with the intensity head) by their largest difference."""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from ..evaluation.metrics import binarize, mean_f1
from ..outputs import split_outputs


class OutputDiff(NamedTuple):
    """Largest absolute differences of two outputs: ``prob`` over the probabilities, ``intensity`` over
    the intensities (None for a model without the intensity head)."""

    prob: float
    intensity: Optional[float] = None


def output_diff(outputs: np.ndarray, reference: np.ndarray, num_aus: Optional[int] = None) -> OutputDiff:
    """:class:`OutputDiff` of ``outputs`` against ``reference``, both (N, n) or (N, 2n) (n = ``num_aus``,
    default the width: no intensity)."""
    n = reference.shape[-1] if num_aus is None else int(num_aus)
    probs, intensity = split_outputs(np.asarray(outputs), n)
    ref_probs, ref_intensity = split_outputs(np.asarray(reference), n)
    if (intensity is None) != (ref_intensity is None):
        raise ValueError(f"outputs of width {outputs.shape[-1]} and {reference.shape[-1]} cannot be compared")
    prob = float(np.abs(probs - ref_probs).max()) if probs.size else 0.0
    if intensity is None:
        return OutputDiff(prob)
    return OutputDiff(prob, float(np.abs(intensity - ref_intensity).max()) if intensity.size else 0.0)


def agreement_report(probs: np.ndarray, reference: np.ndarray, labels: Optional[np.ndarray], thresholds,
                     num_aus: Optional[int] = None) -> dict:
    """Compare ``probs`` (N, n) of an exported file with the fp32 Cell's ``reference`` (N, n).

    ``frames``, ``max_prob_diff``, ``decision_agreement`` (share of the N x n AU decisions at
    ``thresholds`` that agree) and, only where ``labels`` (N, n) exist, ``mean_f1`` and
    ``reference_mean_f1`` (None without labels). With ``num_aus`` = n and outputs of the intensity
    head (N, 2n) (and labels (N, 2n), occurrence then intensity), the decisions and F1 are those of the
    first n columns and ``max_intensity_diff`` is added (the key is absent without intensity).
    """
    n = reference.shape[-1] if num_aus is None else int(num_aus)
    diff = output_diff(probs, reference, n)
    probs, reference = split_outputs(probs, n)[0], split_outputs(reference, n)[0]
    agree = binarize(probs, thresholds) == binarize(reference, thresholds)
    report = {"frames": int(len(probs)), "max_prob_diff": diff.prob,
              "decision_agreement": float(agree.mean()), "mean_f1": None, "reference_mean_f1": None}
    if diff.intensity is not None:
        report["max_intensity_diff"] = diff.intensity
    if labels is not None:
        labels = split_outputs(labels, n)[0]
        report["mean_f1"] = float(mean_f1(probs, labels, thresholds))
        report["reference_mean_f1"] = float(mean_f1(reference, labels, thresholds))
    return report
