"""Run a network over an evaluation dataset and score it (per-AU F1 at 0.5 and at the best thresholds)."""
from __future__ import annotations

import os

import numpy as np
from tqdm import tqdm

import mindspore as ms
import mindspore.nn as nn

from ..evaluation import all_positive_f1, best_thresholds, f1_per_au
from ..models import WithSigmoid


def predict_probs(net: nn.Cell, dataset, desc: str = "eval", progress: bool = True):
    """``(probs (N, n) float32, labels (N, n) int8)`` over a dataset of (image, label) batches, in order."""
    net.set_train(False)
    forward = WithSigmoid(net)
    forward.set_train(False)
    probs, labels = [], []
    total = dataset.get_dataset_size()
    it = dataset.create_tuple_iterator(num_epochs=1, output_numpy=True)
    for image, label in tqdm(it, total=total, desc=desc, disable=not progress, leave=False):
        probs.append(forward(ms.Tensor(image)).asnumpy())
        labels.append(np.asarray(label))
    if not probs:
        raise ValueError("the evaluation dataset is empty")
    return np.concatenate(probs).astype(np.float32), np.concatenate(labels).astype(np.int8)


def score(probs: np.ndarray, labels: np.ndarray, threshold: float = 0.5) -> dict:
    """Per-AU F1 and mean at ``threshold``, the best per-AU thresholds, and the all-positive baseline."""
    per_au = f1_per_au(probs, labels, threshold)
    thresholds, best = best_thresholds(probs, labels)
    baseline = all_positive_f1(labels)
    return {
        "mean_f1": float(per_au.mean()),
        "per_au_f1": per_au.tolist(),
        "thresholds": thresholds.tolist(),
        "best_threshold_mean_f1": float(best.mean()),
        "best_threshold_per_au_f1": best.tolist(),
        "all_positive_mean_f1": float(np.mean(baseline)),
        "num_frames": int(len(probs)),
    }


def predict_checkpoints(cfg: dict, ckpts, weights=None, split=None, list_file=None, progress=True, index=None) -> dict:
    """Probabilities of one checkpoint or a weighted ensemble over an evaluation split.

    Returns ``{'probs' (N, n), 'labels' (N, n), 'video_ids' (N,) video name of each frame,
    'frames' (N,) 1-based frame numbers}`` in dataset order (the arguments of
    :func:`mindface_au.evaluation.save_predictions`); with several checkpoints ``probs`` is their
    weighted mean. Every checkpoint is rebuilt from ``cfg`` (one architecture for all). ``index``
    (a FrameIndex) replaces the split, e.g. for unlabelled test videos.
    """
    from ..weights import restore_model
    from ..data import build_eval_dataset
    from ..evaluation import weighted_mean

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
