"""Evaluation of checkpoints: run them over a split (:func:`predict_checkpoints`), then score the
predictions with post-processing, write ``eval_result.json``, the per-AU F1 chart and the smoothing
sweep (:func:`evaluate_predictions`). ``mindface-au eval`` is these two calls.

MindSpore is imported only by :func:`predict_checkpoints` (scoring saved predictions needs numpy only).
"""
from __future__ import annotations

import json
import os
from typing import Optional, Sequence

import numpy as np

from ..fileio import atomic_write_text
from .ensemble import weighted_mean
from .metrics import all_positive_f1, best_thresholds, binary_f1
from ..plots import plot_f1_bars, plot_sweep
from .smoothing import apply_postprocess, smooth_probs, sweep, write_sweep_csv

RESULT_NAME = "eval_result.json"


def predict_checkpoints(cfg: dict, ckpts: Sequence[str], weights=None, split: Optional[str] = None,
                        list_file: Optional[str] = None, progress: bool = True, index=None) -> dict:
    """Probabilities of one checkpoint or a weighted ensemble over an evaluation split.

    Returns ``{'probs' (N, n) float32, 'labels' (N, n) int8, 'video_ids' (N,) str: the video name
    of each frame, 'frames' (N,) 1-based frame numbers}`` in dataset order (the arguments of
    :func:`mindface_au.evaluation.save_predictions`); with several checkpoints ``probs`` is their
    weighted mean (``weights``: one per checkpoint, default equal). Every checkpoint is rebuilt from
    ``cfg`` (one architecture for all). ``index`` (a FrameIndex) replaces the split, e.g. the
    unlabelled test videos of :func:`mindface_au.data.read_image_folders`. Set the device first
    (:func:`mindface_au.cli.setup_from_config`).
    """
    from ..weights import restore_model
    from ..data import build_eval_dataset
    from ..engine.evaluator import predict_probs

    if not ckpts:
        raise ValueError("no checkpoints to evaluate")
    dataset, index = build_eval_dataset(cfg, split=split, list_file=list_file, index=index)
    all_probs, labels = [], None
    for path in ckpts:
        net, _ = restore_model(cfg, path)
        probs, labels = predict_probs(net, dataset, desc=os.path.basename(path), progress=progress)
        all_probs.append(probs)
    probs = all_probs[0] if len(all_probs) == 1 else weighted_mean(all_probs, weights)
    names = np.asarray(index.video_names)
    return {"probs": probs.astype(np.float32), "labels": labels, "video_ids": names[np.asarray(index.video_ids)],
            "frames": np.asarray(index.frames)}


def evaluate_predictions(pred: dict, out_dir: str, thresholds=0.5, prob_k: int = 0, label_k: int = 0,
                         with_sweep: bool = False, sources: Sequence[str] = (), edges: str = "clip") -> dict:
    """Score predictions of :func:`predict_checkpoints` (or a ``--save-probs`` file) and write the report.

    Args:
        pred: ``probs`` (N, n), ``labels`` (N, n) in {0, 1}, ``video_ids`` (N,).
        out_dir: gets ``eval_result.json``, ``eval_f1_per_au.png`` and, with ``with_sweep``,
            ``smoothing_sweep.csv`` / ``.png`` (all written atomically).
        thresholds: a float or (n,) per-AU decision thresholds.
        prob_k, label_k: probability / label smoothing half-windows in frames (0: none).
        with_sweep: also the paper's Table 2 sweep of k = 1..10.
        sources: the checkpoints (or predictions file) scored, recorded in the JSON.
        edges: smoothing at video ends, 'clip' or 'keep' (the authors'; see evaluation.smoothing).

    Returns:
        the JSON's dict plus ``title``, ``paths`` and, with the sweep, ``sweep`` (its rows). The JSON
        holds ``mean_f1`` / ``per_au_f1`` at ``decision_thresholds`` after the smoothing
        (``prob_k``, ``label_k``), ``frames``, ``videos``, ``all_positive_mean_f1``, ``checkpoints``
        and ``thresholds``: the per-AU thresholds that maximise each AU's F1 on these
        (probability-smoothed) predictions, with ``best_threshold_per_au_f1`` before label
        smoothing, so ``--threshold eval_result.json`` reuses them.
    """
    labels = pred["labels"]
    if labels is None or pred.get("video_ids") is None:
        raise ValueError("scoring needs labels and video_ids with the predictions")
    binary = apply_postprocess(pred["probs"], pred["video_ids"], prob_k, label_k, thresholds, edges=edges)
    per_au = binary_f1(binary, labels)
    n_videos = len(np.unique(pred["video_ids"]))
    title = f"{len(labels)} frames, {n_videos} videos" + (
        f", smoothing prob={prob_k} label={label_k}" if prob_k or label_k else "")
    probs = smooth_probs(pred["probs"], pred["video_ids"], prob_k, edges=edges) if prob_k else pred["probs"]
    best, best_f1 = best_thresholds(probs, labels)
    result = {"mean_f1": float(per_au.mean()), "per_au_f1": per_au.tolist(), "prob_k": prob_k, "label_k": label_k,
              "smooth_edges": edges, "decision_thresholds": np.asarray(thresholds, np.float64).tolist(),
              "frames": int(len(labels)), "videos": int(n_videos),
              "all_positive_mean_f1": float(np.mean(all_positive_f1(labels))),
              "thresholds": best.tolist(), "best_threshold_per_au_f1": best_f1.tolist(),
              "checkpoints": list(sources)}
    paths = {"json": os.path.join(out_dir, RESULT_NAME),
             "plot": plot_f1_bars(per_au, os.path.join(out_dir, "eval_f1_per_au.png"), title=f"F1 per AU ({title})")}
    atomic_write_text(paths["json"], json.dumps(result, indent=2) + "\n")
    out = dict(result, title=title, paths=paths)
    if with_sweep:
        rows = sweep(pred["probs"], labels, pred["video_ids"], thresholds=thresholds, edges=edges)
        paths["sweep_csv"] = write_sweep_csv(rows, os.path.join(out_dir, "smoothing_sweep.csv"))
        paths["sweep_plot"] = plot_sweep(rows, os.path.join(out_dir, "smoothing_sweep.png"))
        out["sweep"] = rows
    return out
