"""Run a network over an evaluation dataset and score it (per-AU F1 at 0.5 and at the best thresholds).

The training loop's validation uses these; evaluating saved checkpoints (one or an ensemble) is
:func:`mindface_au.evaluation.evaluate.predict_checkpoints`.
"""
from __future__ import annotations

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
