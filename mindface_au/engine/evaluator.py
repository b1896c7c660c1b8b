"""Run networks over an evaluation dataset: one network (:func:`predict_probs`, training's validation)
or checkpoints and weighted ensembles over a split (:func:`predict_checkpoints`, ``mindface-au eval``).

Scoring the probabilities is :func:`mindface_au.evaluation.score` (numpy only).
"""
from __future__ import annotations

import os
from typing import Optional, Sequence

import numpy as np
from tqdm import tqdm

import mindspore.nn as nn

from ..evaluation.ensemble import weighted_mean
from .predict import cell_forward, sigmoid_cell


def predict_probs(net: nn.Cell, dataset, desc: str = "eval", progress: bool = True):
    """``(probs (N, n) float32, labels (N, n) int8)`` over a dataset of (image, label) batches, in order."""
    forward = cell_forward(sigmoid_cell(net))  # the forward of engine.predict, batched by the dataset here
    probs, labels = [], []
    total = dataset.get_dataset_size()
    it = dataset.create_tuple_iterator(num_epochs=1, output_numpy=True)
    for image, label in tqdm(it, total=total, desc=desc, disable=not progress, leave=False):
        probs.append(forward(image))
        labels.append(np.asarray(label))
    if not probs:
        raise ValueError("the evaluation dataset is empty")
    return np.concatenate(probs).astype(np.float32), np.concatenate(labels).astype(np.int8)


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
    from ..factory import restore_model
    from ..pipeline import build_eval_dataset

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
