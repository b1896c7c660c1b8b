"""The MindSpore datasets of training and evaluation, built from a config.

``GeneratorDataset(JpegSource)`` -> ``.map`` (vision ops of :mod:`.ops`) -> ``.batch``: image
float32 (B, 3, S, S), label float32 (B, C) (C: the AUs of ``data.aus``), or with ``model.intensity``
(B, 2C): the occurrence labels, then the 0-5 intensities with -1 where not coded
(:mod:`mindface_au.outputs`). The resampler always works on the occurrence labels.

* :func:`build_train_dataset` -> ``(dataset, sampler, index)``: per-epoch resampled
  (:class:`~.sampler.ResampleSampler`), sharded over ranks, augmented;
* :func:`build_eval_dataset` -> ``(dataset, index)``: index order, no augmentation; the index gives
  ``video_ids``, ``video_names``, ``frames``, ``labels``, ``paths`` of every frame.
"""
from __future__ import annotations

import dataclasses
from typing import Optional, Tuple

import mindspore.dataset as ds
import numpy as np

from ..config import ConfigError, config_au_names
from ..data import FrameIndex, read_index
from .ops import eval_transforms, train_transforms
from .sampler import ResampleSampler
from .source import JpegSource


def model_index(index: FrameIndex, cfg: dict) -> FrameIndex:
    """``index`` with the label columns of the config's AU set (``data.aus``), in its order;
    a ConfigError when the data does not label one of them. Unlabelled frames (every label -1,
    e.g. test videos) get -1 for each AU of the set."""
    names = config_au_names(cfg)
    if index.au_names != names and bool((index.labels < 0).all()):
        return dataclasses.replace(index, labels=np.full((len(index), len(names)), -1, np.int8), au_names=names,
                                   intensity=None)
    try:
        return index.select_aus(names)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def check_intensity_labels(index: FrameIndex, cfg: dict) -> None:
    """With ``model.intensity: true`` the training data must have intensity labels: a ConfigError naming
    ``model.intensity`` and the data set otherwise."""
    if not cfg["model"].get("intensity") or (index.intensity is not None and not np.isnan(index.intensity).all()):
        return
    where = index.source or index.image_root
    raise ConfigError(f"model.intensity: true, but the training data (data.format {cfg['data']['format']}, "
                      f"{where}) has no intensity labels for {', '.join(index.au_names)}; set model.intensity: "
                      "false or train on data with intensity (data.format disfa, or bp4d's AUs 6/10/12/14/17)")


def make_dataset(index: FrameIndex, ops: list, batch_size: int, sampler=None, drop_remainder: bool = False,
                 num_workers: int = 2, intensity: bool = False) -> ds.Dataset:
    """``GeneratorDataset(JpegSource(index))`` -> map(ops) -> batch; the source is ``dataset.jpeg_source``.
    ``intensity``: (B, 2C) targets (:func:`~.source.frame_targets`) in place of the (B, C) labels."""
    source = JpegSource(index, intensity=intensity)
    kwargs = {"sampler": sampler} if sampler is not None else {"shuffle": False}
    dataset = ds.GeneratorDataset(source, column_names=["image", "label"], num_parallel_workers=1,
                                  python_multiprocessing=False, **kwargs)
    dataset = dataset.map(operations=ops, input_columns="image", num_parallel_workers=num_workers)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder, num_parallel_workers=1)
    dataset.jpeg_source = source
    return dataset


def _check_lists(d: dict) -> None:
    """``data.crop_scale``, ``data.crop_ratio`` and ``data.color_jitter`` within their ranges, else :class:`ConfigError`."""
    for key, n, lo, hi in (("crop_scale", 2, 0.0, 1.0), ("crop_ratio", 2, 0.0, None), ("color_jitter", 4, 0.0, None)):
        v = d.get(key)
        if v is None:
            continue
        if len(v) != n or any(x < lo or (hi is not None and x > hi) for x in v):
            raise ConfigError(f"data.{key}: expected {n} numbers in [{lo}, {hi if hi is not None else 'inf'}], got {v}")
        if n == 2 and v[0] > v[1]:
            raise ConfigError(f"data.{key}: expected [min, max], got {v}")
    if d.get("color_jitter") is not None and d["color_jitter"][3] > 0.5:
        raise ConfigError(f"data.color_jitter: hue must be <= 0.5, got {d['color_jitter'][3]}")


def build_train_dataset(cfg: dict, rank: int = 0, group_size: int = 1, start_epoch: int = 0,
                        skip_steps: int = 0) -> Tuple[ds.Dataset, ResampleSampler, FrameIndex]:
    """The training dataset: ``(dataset, sampler, index)``.

    ``dataset`` yields batches of ``cfg['train']['batch_size']`` (drop_remainder): image float32
    (B, 3, S, S) normalised per ``data.norm`` (S = ``model.input_size``, RandomResizedCrop to S,
    flip, colour jitter), label float32 (B, C) (C: the AUs of ``data.aus``; (B, 2C) with ``model.intensity``,
    whose training data must then have intensity labels: :func:`check_intensity_labels`). ``sampler``
    (:class:`ResampleSampler`) draws each epoch's resample from ``(seed, epoch)`` starting at
    ``start_epoch``, this rank's equal share; ``skip_steps`` batches are left out of the first epoch
    (resuming inside an epoch).
    """
    d = cfg["data"]
    _check_lists(d)
    batch = cfg["train"]["batch_size"]
    index = model_index(read_index(cfg, "train"), cfg)
    check_intensity_labels(index, cfg)
    sampler = ResampleSampler(index, d["uniform_fraction"], d["rare_fraction"], d["rare_aus"], seed=cfg["seed"],
                              start_epoch=start_epoch, rank=rank, group_size=group_size, skip=skip_steps * batch,
                              au_names=index.au_names)
    ops = train_transforms(cfg["model"]["input_size"], d["norm"], scale=d.get("crop_scale", (0.08, 1.0)),
                           ratio=d.get("crop_ratio", (0.75, 4 / 3)), flip_p=d.get("flip_p", 0.5),
                           color_jitter=d.get("color_jitter", (0.2, 0.2, 0.2, 0.2)),
                           color_jitter_p=d["color_jitter_p"], augment=d["augment"])
    dataset = make_dataset(index, ops, batch, sampler=sampler, drop_remainder=True, num_workers=d["num_workers"],
                           intensity=cfg["model"].get("intensity", False))
    return dataset, sampler, index


def build_eval_dataset(cfg: dict, split: Optional[str] = None, list_file: Optional[str] = None,
                       index: Optional[FrameIndex] = None):
    """An evaluation dataset in index order: ``(dataset, index)``.

    Batches of ``cfg['eval']['batch_size']`` (the last one may be smaller): image float32 (B, 3, S, S)
    (resize ``data.resize * S / 112``, centre crop S, normalised), label float32 (B, C) (C: the AUs of
    ``data.aus``, :func:`model_index`), or (B, 2C) with ``model.intensity`` (intensities -1 where the data
    codes none: a split without intensity labels is scored on occurrence only). Frame i of
    the concatenated output is ``index`` row i: ``index.video_ids``, ``index.frames``, ``index.paths``...
    Without ``split``/``list_file`` it is the config's validation data; ``index`` gives the frames
    directly (e.g. unlabelled test videos from :func:`read_image_folders`).
    """
    d = cfg["data"]
    if index is None:
        index = read_index(cfg, "val", split=split, list_file=list_file)
    index = model_index(index, cfg)
    ops = eval_transforms(cfg["model"]["input_size"], d["norm"], d["resize"])
    dataset = make_dataset(index, ops, cfg["eval"]["batch_size"], sampler=None, drop_remainder=False,
                           num_workers=d["num_workers"], intensity=cfg["model"].get("intensity", False))
    return dataset, index
