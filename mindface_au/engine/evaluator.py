"""Run networks over an evaluation dataset: one network (:func:`predict_probs`, training's validation)
or checkpoints and weighted ensembles over a split (:func:`predict_checkpoints`, ``mindface-au eval``).

A network with the intensity head (``model.intensity``) gives (B, 2n): the occurrence is scored on the
first n columns exactly as without it, and :func:`predict_outputs` also returns the n intensities.
Scoring the probabilities is :func:`mindface_au.evaluation.score` (numpy only).
"""
from __future__ import annotations

import os
from typing import Optional, Sequence

import numpy as np
from tqdm import tqdm

import mindspore.nn as nn

from ..evaluation.ensemble import weighted_mean
from ..evaluation.intensity import coded_intensity
from ..outputs import split_outputs
from .predict import cell_forward, sigmoid_cell


def dataset_batches(dataset, desc: str = "eval", progress: bool = True):
    """The (image (B, 3, S, S) float32, target (B, w)) numpy batches of an evaluation dataset, in order,
    under a progress bar (``progress``) named ``desc``."""
    it = dataset.create_tuple_iterator(num_epochs=1, output_numpy=True)
    return tqdm(it, total=dataset.get_dataset_size(), desc=desc, disable=not progress, leave=False)


def predict_outputs(net: nn.Cell, dataset, desc: str = "eval", progress: bool = True) -> dict:
    """The network over a dataset of (image, target) batches, in order (``net``: a network, or the
    :func:`~.predict.sigmoid_cell` of one, reused across calls so that GRAPH_MODE compiles it once).

    Returns ``{'probs' (N, n) float32, 'labels' (N, n) int8}``; for a network with the intensity head
    (its dataset yields (B, 2n) targets, :mod:`mindface_au.outputs`) also ``'intensity'`` (N, n) float32
    predicted 0-5 and ``'intensity_labels'`` (N, n) float64, NaN where not coded.
    """
    cell = sigmoid_cell(net)
    forward = cell_forward(cell)  # the forward of engine.predict, batched by the dataset here
    outputs, targets = [], []
    for image, target in dataset_batches(dataset, desc, progress):
        outputs.append(forward(image))
        targets.append(np.asarray(target))
    if not outputs:
        raise ValueError("the evaluation dataset is empty")
    n = cell.num_aus if cell.use_intensity else outputs[0].shape[-1]
    probs, intensity = split_outputs(np.concatenate(outputs).astype(np.float32), n)
    labels, intensity_labels = split_outputs(np.concatenate(targets), n)
    out = {"probs": probs, "labels": labels.astype(np.int8)}
    if intensity is not None:
        out.update(intensity=intensity, intensity_labels=coded_intensity(intensity_labels))
    return out


def predict_probs(net: nn.Cell, dataset, desc: str = "eval", progress: bool = True):
    """``(probs (N, n) float32, labels (N, n) int8)`` over a dataset of (image, label) batches, in order
    (the occurrence part of :func:`predict_outputs`)."""
    out = predict_outputs(net, dataset, desc, progress)
    return out["probs"], out["labels"]


def predict_checkpoints(cfg: dict, ckpts: Sequence[str], weights=None, split: Optional[str] = None,
                        list_file: Optional[str] = None, progress: bool = True, index=None) -> dict:
    """Probabilities of one checkpoint or a weighted ensemble over an evaluation split.

    Returns ``{'probs' (N, n) float32, 'labels' (N, n) int8, 'video_ids' (N,) str: the video name
    of each frame, 'frames' (N,) 1-based frame numbers}`` in dataset order (the arguments of
    :func:`mindface_au.evaluation.save_predictions`), and for a model with the intensity head
    ``'intensity'`` (N, n) and ``'intensity_labels'`` (N, n, NaN = not coded) as :func:`predict_outputs`
    gives them; with several checkpoints ``probs`` (and ``intensity``) are their weighted mean
    (``weights``: one per checkpoint, default equal). Every checkpoint is rebuilt from
    ``cfg`` (one architecture for all). ``index`` (a FrameIndex) replaces the split, e.g. the
    unlabelled test videos of :func:`mindface_au.data.read_image_folders`. Set the device first
    (:func:`mindface_au.cli.setup_from_config`).
    """
    from ..factory import restore_model
    from ..pipeline import build_eval_dataset

    if not ckpts:
        raise ValueError("no checkpoints to evaluate")
    dataset, index = build_eval_dataset(cfg, split=split, list_file=list_file, index=index)
    runs = []
    for path in ckpts:
        net, _ = restore_model(cfg, path)
        runs.append(predict_outputs(net, dataset, desc=os.path.basename(path), progress=progress))
    names = np.asarray(index.video_names)
    out = dict(runs[0], video_ids=names[np.asarray(index.video_ids)], frames=np.asarray(index.frames))
    for key in ("probs", "intensity"):
        if key in out:
            merged = out[key] if len(runs) == 1 else weighted_mean([r[key] for r in runs], weights)
            out[key] = np.asarray(merged, np.float32)
    return out
