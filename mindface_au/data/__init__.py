"""Data: Aff-Wild2 / list-file readers, the frame index, per-epoch resampling, the MindSpore pipeline,
k-fold splits and synthetic ABAW data.

What the training and evaluation code calls:

* :func:`build_train_dataset` -> ``(dataset, sampler, index)``: batches of (image float32
  (B, 3, S, S), label float32 (B, 12)), per-epoch resampled, sharded over ranks;
* :func:`build_eval_dataset` -> ``(dataset, index)``: deterministic order, no augmentation; the
  index gives ``video_ids``, ``video_names``, ``frames``, ``labels``, ``paths`` of every frame;
* :func:`ensure_synthetic`: makes the synthetic dataset when the config asks for it;
* :func:`read_abaw_split`, :func:`read_list_file`: the readers.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Optional, Tuple

from ..config import ConfigError
from .abaw import (AnnotationError, NotAbawLayoutError, is_abaw_root, parse_annotation_bytes, parse_annotation_file,
                   read_abaw, read_abaw_split)
from .folds import make_folds
from .index import FrameIndex, ReadReport, concat_indexes
from .listfile import read_list_file, write_list_file
from ..fileio import cache_dir
from .synthetic import SYNTHETIC_DIR, ensure_synthetic, make_synthetic_affwild2
from .unlabelled import read_image_folders

if TYPE_CHECKING:  # MindSpore-dependent: imported on first use
    from .sampler import ResampleSampler


def data_root(cfg: dict) -> str:
    """``data.root`` expanded (``~``), or the synthetic default when synthetic data is asked for."""
    root = cfg["data"]["root"]
    if root is None:
        if cfg["data"]["synthetic"]:
            return cache_dir(SYNTHETIC_DIR)
        raise ConfigError("data.root: not set (the ABAW root, or the image root of list files)")
    return os.path.abspath(os.path.expanduser(root))


def read_index(cfg: dict, which: str = "train", split: Optional[str] = None, list_file: Optional[str] = None,
               progress: bool = False) -> FrameIndex:
    """The frame index of the training (``which='train'``) or validation (``'val'``) data of ``cfg``.

    ``split`` (an ABAW split name) or ``list_file`` override what the config names.
    """
    d = cfg["data"]
    root = data_root(cfg)
    check_images = d.get("check_images", True)
    if list_file is None and split is None and d["format"] == "list":
        key = "train_list" if which == "train" else "val_list"
        list_file = d[key]
        if not list_file:
            raise ConfigError(f"data.{key}: not set (data.format is 'list')")
    if list_file is not None:
        return read_list_file(list_file, root, check_images=check_images, cache_dir=d["cache_dir"])
    split = split or (d["train_split"] if which == "train" else d["val_split"])
    return read_abaw_split(root, split, strict=d["strict"], cache_dir=d["cache_dir"], check_images=check_images,
                           progress=progress)


def _check_lists(d: dict) -> None:
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
                        skip_steps: int = 0) -> Tuple[object, "ResampleSampler", FrameIndex]:
    """The training dataset: ``(dataset, sampler, index)``.

    ``dataset`` yields batches of ``cfg['train']['batch_size']`` (drop_remainder): image float32
    (B, 3, S, S) normalised per ``data.norm`` (S = ``model.input_size``, RandomResizedCrop to S,
    flip, colour jitter), label float32 (B, 12). ``sampler`` (:class:`ResampleSampler`) draws each
    epoch's resample from ``(seed, epoch)`` starting at ``start_epoch``, this rank's equal share;
    ``skip_steps`` batches are left out of the first epoch (resuming inside an epoch).
    """
    from .pipeline import make_dataset, train_transforms
    from .sampler import ResampleSampler

    d = cfg["data"]
    _check_lists(d)
    batch = cfg["train"]["batch_size"]
    index = read_index(cfg, "train")
    sampler = ResampleSampler(index, d["uniform_fraction"], d["rare_fraction"], d["rare_aus"], seed=cfg["seed"],
                              start_epoch=start_epoch, rank=rank, group_size=group_size, skip=skip_steps * batch)
    ops = train_transforms(cfg["model"]["input_size"], d["norm"], scale=d.get("crop_scale", (0.08, 1.0)),
                           ratio=d.get("crop_ratio", (0.75, 4 / 3)), flip_p=d.get("flip_p", 0.5),
                           color_jitter=d.get("color_jitter", (0.2, 0.2, 0.2, 0.2)),
                           color_jitter_p=d["color_jitter_p"], augment=d["augment"])
    dataset = make_dataset(index, ops, batch, sampler=sampler, drop_remainder=True, num_workers=d["num_workers"])
    return dataset, sampler, index


def build_eval_dataset(cfg: dict, split: Optional[str] = None, list_file: Optional[str] = None,
                       index: Optional[FrameIndex] = None):
    """An evaluation dataset in index order: ``(dataset, index)``.

    Batches of ``cfg['eval']['batch_size']`` (the last one may be smaller): image float32 (B, 3, S, S)
    (resize ``data.resize * S / 112``, centre crop S, normalised), label float32 (B, 12). Frame i of
    the concatenated output is ``index`` row i: ``index.video_ids``, ``index.frames``, ``index.paths``...
    Without ``split``/``list_file`` it is the config's validation data; ``index`` gives the frames
    directly (e.g. unlabelled test videos from :func:`read_image_folders`).
    """
    from .pipeline import eval_transforms, make_dataset

    d = cfg["data"]
    if index is None:
        index = read_index(cfg, "val", split=split, list_file=list_file)
    ops = eval_transforms(cfg["model"]["input_size"], d["norm"], d["resize"])
    dataset = make_dataset(index, ops, cfg["eval"]["batch_size"], sampler=None, drop_remainder=False,
                           num_workers=d["num_workers"])
    return dataset, index


def __getattr__(name):  # the MindSpore-dependent parts load on first use
    if name == "ResampleSampler":
        from .sampler import ResampleSampler

        return ResampleSampler
    if name in ("JpegSource", "UnreadableImageReport", "train_transforms", "eval_transforms", "make_dataset"):
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)


__all__ = ["build_train_dataset", "build_eval_dataset", "ensure_synthetic", "make_synthetic_affwild2",
           "read_abaw_split", "read_abaw", "read_list_file", "write_list_file", "read_index", "data_root",
           "FrameIndex", "ReadReport", "concat_indexes", "AnnotationError", "NotAbawLayoutError", "is_abaw_root",
           "parse_annotation_bytes", "parse_annotation_file", "make_folds", "read_image_folders", "ResampleSampler", "JpegSource",
           "UnreadableImageReport"]
