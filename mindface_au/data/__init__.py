"""Data (numpy, no MindSpore): Aff-Wild2 / list-file readers, the frame index and its cache, k-fold
splits and synthetic ABAW data.

What the training and evaluation code calls:

* :func:`read_index`: the :class:`FrameIndex` of the config's training or validation data;
* :func:`ensure_synthetic`: makes the synthetic dataset when the config asks for it;
* :func:`read_abaw_split`, :func:`read_list_file`, :func:`read_image_folders`: the readers.

The MindSpore datasets built on these indexes (``build_train_dataset``, ``build_eval_dataset``)
and the per-epoch resampling sampler live in :mod:`mindface_au.pipeline`.
"""
from __future__ import annotations

import os
from typing import Optional

from ..config import ConfigError
from ..fileio import cache_dir
from .abaw import (AnnotationError, NotAbawLayoutError, is_abaw_root, parse_annotation_bytes, parse_annotation_file,
                   read_abaw, read_abaw_split)
from .folds import make_folds
from .index import FrameIndex, ReadReport, concat_indexes
from .listfile import read_list_file, write_list_file
from .synthetic import SYNTHETIC_DIR, ensure_synthetic, make_synthetic_affwild2
from .unlabelled import read_image_folders


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


__all__ = ["ensure_synthetic", "make_synthetic_affwild2", "read_abaw_split", "read_abaw", "read_list_file",
           "write_list_file", "read_index", "data_root", "FrameIndex", "ReadReport", "concat_indexes", "AnnotationError",
           "NotAbawLayoutError", "is_abaw_root", "parse_annotation_bytes", "parse_annotation_file", "make_folds",
           "read_image_folders"]
