"""Data (numpy, no MindSpore): Aff-Wild2, BP4D, DISFA, ME-GraphAU and list-file readers, the frame index
and its cache, the field's 3-fold protocols, k-fold splits and synthetic data in each release's layout.

What the training and evaluation code calls:

* :func:`read_index`: the :class:`FrameIndex` of the config's training or validation data;
* :func:`ensure_synthetic`: makes the synthetic dataset when the config asks for it;
* :func:`read_abaw_split`, :func:`read_bp4d`, :func:`read_disfa`, :func:`read_megraphau_list`,
  :func:`read_list_file`, :func:`read_image_folders`: the readers (``data.format``: ``abaw``,
  ``bp4d``, ``disfa``, ``megraphau_list``, ``list``);
* :func:`fold_subjects` / :func:`select_fold`: the 3-fold subject-exclusive protocols (``data.fold``).

The MindSpore datasets built on these indexes (``build_train_dataset``, ``build_eval_dataset``)
and the per-epoch resampling sampler live in :mod:`mindface_au.pipeline`.
"""
from __future__ import annotations

import os
from typing import Optional, Tuple

from ..config import ConfigError
from ..constants import FORMAT_AUS, au_set
from ..fileio import cache_dir
from .abaw import (AnnotationError, NotAbawLayoutError, is_abaw_root, parse_annotation_bytes, parse_annotation_file,
                   read_abaw, read_abaw_split)
from .bp4d import read_bp4d
from .disfa import read_disfa
from .folds import make_folds
from .index import FrameIndex, ReadReport, concat_indexes
from .listfile import read_list_file, write_list_file
from .megraphau import find_list, read_megraphau_list
from .protocols import fold_subjects, select_fold
from .synthetic import SYNTHETIC_DIR, make_synthetic_affwild2
from .synthetic import ensure_synthetic as ensure_synthetic_affwild2
from .synthetic_releases import (SYNTHETIC_RELEASE_DIRS, ensure_synthetic_release, make_synthetic_bp4d,
                                 make_synthetic_disfa, synthetic_release_ready)
from .unlabelled import read_image_folders


def data_root(cfg: dict) -> str:
    """``data.root`` expanded (``~``), or the synthetic default when synthetic data is asked for."""
    root = cfg["data"]["root"]
    if root is None:
        if cfg["data"]["synthetic"]:
            return cache_dir(SYNTHETIC_RELEASE_DIRS.get(cfg["data"].get("format"), SYNTHETIC_DIR))
        raise ConfigError("data.root: not set (the ABAW root, or the image root of list files)")
    return os.path.abspath(os.path.expanduser(root))


def ensure_synthetic(cfg: dict, progress: bool = True) -> str:
    """Make the synthetic data ``cfg`` asks for (``data.synthetic``) unless it is there; returns the root.

    ``data.format: bp4d | disfa``: that release (:func:`~.synthetic_releases.ensure_synthetic_release`);
    otherwise the Aff-Wild2 layout (:func:`~.synthetic.ensure_synthetic`).
    """
    if cfg["data"].get("format") in SYNTHETIC_RELEASE_DIRS:
        root = data_root(cfg)
        return ensure_synthetic_release(cfg, root, progress) if cfg["data"]["synthetic"] else root
    return ensure_synthetic_affwild2(cfg, progress)


def synthetic_ready(cfg: dict) -> bool:
    """Whether the synthetic data :func:`ensure_synthetic` makes for ``cfg`` is complete (the data-parallel
    ranks other than 0 wait for it): the release's info file for bp4d / disfa, else the ABAW layout."""
    root = data_root(cfg)
    if cfg["data"].get("format") in SYNTHETIC_RELEASE_DIRS:
        return synthetic_release_ready(cfg, root)
    return is_abaw_root(root, (cfg["data"]["train_split"], cfg["data"]["val_split"]))


def recipe_aus(cfg: dict) -> Optional[Tuple[str, ...]]:
    """The AU set of ``cfg``: ``data.aus`` (a loaded config always has it), else its format's
    (None for ME-GraphAU lists: the reader tells it from the file name)."""
    spec = cfg["data"].get("aus") or FORMAT_AUS.get(cfg["data"]["format"])
    return None if spec is None else au_set(spec)


def _read_release(cfg: dict, which: str, root: str) -> FrameIndex:
    """``data.format: bp4d | disfa``: the whole release, then the train or test part of ``data.fold``."""
    d = cfg["data"]
    opts = dict(check_images=d.get("check_images", True), cache_dir=d["cache_dir"])
    if d["format"] == "bp4d":
        index = read_bp4d(root, recipe_aus(cfg), **opts)
    else:
        index = read_disfa(root, recipe_aus(cfg), threshold=d.get("occurrence_threshold", 2), **opts)
    return select_fold(index, d["format"], d.get("fold") or 1, "train" if which == "train" else "test")


def _read_megraphau(cfg: dict, which: str, root: str) -> FrameIndex:
    """``data.format: megraphau_list``: ``data.train_list``/``val_list`` name a list or the folder of the lists."""
    d = cfg["data"]
    given = d["train_list"] if which == "train" else (d["val_list"] or d["train_list"])
    if not given:
        raise ConfigError("data.train_list: not set (an ME-GraphAU list folder or *_img_path_fold<k>.txt)")
    path = os.path.expanduser(given)
    if os.path.isdir(path):
        path = find_list(path, d.get("fold") or 1, "train" if which == "train" else "test")
    return read_megraphau_list(path, root, recipe_aus(cfg),
                               check_images=d.get("check_images", True), cache_dir=d["cache_dir"])


def read_index(cfg: dict, which: str = "train", split: Optional[str] = None, list_file: Optional[str] = None,
               progress: bool = False) -> FrameIndex:
    """The frame index of the training (``which='train'``) or validation (``'val'``) data of ``cfg``.

    One dispatch on ``data.format``: ``abaw`` (splits), ``list``, ``bp4d`` / ``disfa`` (the
    release, then the train or test part of ``data.fold``), ``megraphau_list``. ``split`` (an
    ABAW split name) or ``list_file`` override what the config names.
    """
    d = cfg["data"]
    root = data_root(cfg)
    check_images = d.get("check_images", True)
    if list_file is None and split is None:
        if d["format"] in ("bp4d", "disfa"):
            return _read_release(cfg, which, root)
        if d["format"] == "megraphau_list":
            return _read_megraphau(cfg, which, root)
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


__all__ = ["read_bp4d", "read_disfa", "read_megraphau_list", "fold_subjects", "select_fold", "recipe_aus",
           "make_synthetic_bp4d", "make_synthetic_disfa", "ensure_synthetic", "synthetic_ready",
           "make_synthetic_affwild2", "read_abaw_split", "read_abaw", "read_list_file", "write_list_file",
           "read_index", "data_root", "FrameIndex", "ReadReport", "concat_indexes", "AnnotationError",
           "NotAbawLayoutError", "is_abaw_root", "parse_annotation_bytes", "parse_annotation_file",
           "make_folds", "read_image_folders"]
