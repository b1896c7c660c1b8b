"""Score predictions with post-processing and write ``eval_result.json``, the per-AU F1 chart and the
smoothing sweep (:func:`evaluate_predictions`). ``mindface-au eval`` is
:func:`mindface_au.engine.evaluator.predict_checkpoints` (the network over a split) and this.
"""
from __future__ import annotations

import json
import os
from typing import Optional, Sequence

import numpy as np

from ..fileio import atomic_write_text
from ..plots import plot_f1_bars, plot_intensity_bars, plot_sweep
from .intensity import score_labelled_intensity
from .scoring import score
from .smoothing import apply_postprocess, smooth_probs, sweep, write_sweep_csv

RESULT_NAME = "eval_result.json"


def evaluate_predictions(pred: dict, out_dir: str, thresholds=0.5, prob_k: int = 0, label_k: int = 0,
                         with_sweep: bool = False, sources: Sequence[str] = (), edges: str = "clip",
                         au_names: Optional[Sequence[str]] = None) -> dict:
    """Score predictions (of :func:`mindface_au.engine.evaluator.predict_checkpoints` or a ``--save-probs``
    file) and write the report.

    Args:
        pred: ``probs`` (N, n), ``labels`` (N, n) in {0, 1}, ``video_ids`` (N,); optionally
            ``intensity`` (N, n) predicted 0-5 and ``intensity_labels`` (N, n, NaN = not coded).
        out_dir: gets ``eval_result.json``, ``eval_f1_per_au.png`` and, with ``with_sweep``,
            ``smoothing_sweep.csv`` / ``.png`` (all written atomically).
        thresholds: a float or (n,) per-AU decision thresholds (:func:`mindface_au.evaluation.resolve_thresholds`).
        prob_k, label_k: probability / label smoothing half-windows in frames (0: none).
        with_sweep: also the paper's Table 2 sweep of k = 1..10.
        sources: the checkpoints (or predictions file) scored, recorded in the JSON.
        edges: smoothing at video ends, 'clip' or 'keep' (the authors'; see evaluation.smoothing).
        au_names: the n AU names (the model's), recorded in the JSON and naming the chart's bars and
            the sweep's columns.

    Returns:
        the JSON's dict plus ``title``, ``paths`` and, with the sweep, ``sweep`` (its rows). The JSON
        holds :meth:`AUScore.as_dict <mindface_au.evaluation.AUScore.as_dict>`'s keys: ``mean_f1`` /
        ``per_au_f1`` at ``decision_thresholds`` (one per AU) after the smoothing (``prob_k``,
        ``label_k``), ``frames``, ``all_positive_mean_f1`` and ``thresholds``: the per-AU thresholds
        that maximise each AU's F1 on these (probability-smoothed) predictions, with
        ``best_threshold_mean_f1`` / ``best_threshold_per_au_f1`` before label smoothing, so
        ``--threshold eval_result.json`` reuses them; plus ``prob_k``, ``label_k``, ``smooth_edges``,
        ``videos``, ``checkpoints`` and ``au_names`` (when given). With predicted intensities and
        intensity labels also ``intensity``: :meth:`IntensityScore.as_dict
        <mindface_au.evaluation.intensity.IntensityScore.as_dict>` of the unsmoothed intensities (ICC(3,1),
        PCC, MAE per AU and their means), charted in ``eval_intensity_per_au.png``.
    """
    labels = pred["labels"]
    if labels is None or pred.get("video_ids") is None:
        raise ValueError("scoring needs labels and video_ids with the predictions")
    binary = apply_postprocess(pred["probs"], pred["video_ids"], prob_k, label_k, thresholds, edges=edges)
    probs = smooth_probs(pred["probs"], pred["video_ids"], prob_k, edges=edges) if prob_k else pred["probs"]
    scored = score(probs, labels, thresholds, decisions=binary)
    n_videos = len(np.unique(pred["video_ids"]))
    title = f"{len(labels)} frames, {n_videos} videos" + (
        f", smoothing prob={prob_k} label={label_k}" if prob_k or label_k else "")
    result = {**scored.as_dict(), "prob_k": prob_k, "label_k": label_k, "smooth_edges": edges,
              "videos": int(n_videos), "checkpoints": list(sources)}
    if au_names is not None:
        result["au_names"] = list(au_names)
    chart = os.path.join(out_dir, "eval_f1_per_au.png")
    paths = {"json": os.path.join(out_dir, RESULT_NAME),
             "plot": plot_f1_bars(scored.per_au_f1, chart, title=f"F1 per AU ({title})", au_names=au_names)}
    intensity = score_labelled_intensity(pred.get("intensity"), pred.get("intensity_labels"), au_names)
    if intensity is not None:
        result["intensity"] = intensity.as_dict()
        paths["intensity_plot"] = plot_intensity_bars(
            intensity.icc, intensity.pcc, os.path.join(out_dir, "eval_intensity_per_au.png"),
            title=f"intensity per AU ({title}; mean ICC {intensity.mean_icc:.2f}, PCC {intensity.mean_pcc:.2f})",
            au_names=au_names)
    atomic_write_text(paths["json"], json.dumps(result, indent=2) + "\n")
    out = dict(result, title=title, paths=paths)
    if with_sweep:
        rows = sweep(pred["probs"], labels, pred["video_ids"], thresholds=thresholds, edges=edges,
                     **({"au_names": au_names} if au_names is not None else {}))
        paths["sweep_csv"] = write_sweep_csv(rows, os.path.join(out_dir, "smoothing_sweep.csv"))
        paths["sweep_plot"] = plot_sweep(rows, os.path.join(out_dir, "smoothing_sweep.png"))
        out["sweep"] = rows
    return out
