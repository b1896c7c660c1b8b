"""ME-GraphAU's list pairs, read as they are: ``<DS>_{train,test}_img_path_fold{k}.txt`` with ``_label_fold{k}.txt``.

The image-path file holds one image path a line, relative to the image root
(``F001/T1/2440.jpg``); the label file holds, in the same order, one row of space-separated 0/1
values a line (BP4D: the field's 12 AUs, DISFA: its 8). A 9 or -1 is read as not coded (-1,
masked); rows with every AU not coded are dropped. The AU set follows ``<DS>`` (``BP4D`` ->
``bp4d``, ``DISFA`` -> ``disfa8``) unless one is given. Videos are the image folders, as for
:func:`~.listfile.read_list_file`. A malformed line is one :class:`~.abaw.AnnotationError`
naming file and line.
"""
from __future__ import annotations

import glob
import os
import re
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from ..constants import LIST_PREFIX_AUS, au_set
from .abaw import AnnotationError
from .index import FrameIndex
from .index_cache import IndexCache
from .inttable import check_values, read_int_table
from .listfile import index_frames

PARTS = ("train", "test")
_IMG_LIST = re.compile(r"^(?P<ds>.+)_(?P<part>train|test)_img_path_fold(?P<fold>\d+)\.txt$")


def label_file_of(img_path_file: str) -> str:
    """``BP4D_train_img_path_fold1.txt`` -> ``BP4D_train_label_fold1.txt`` (same folder)."""
    folder, name = os.path.split(img_path_file)
    if "_img_path_" not in name:
        raise ValueError(f"{img_path_file}: not an ME-GraphAU image-path list (<DS>_<part>_img_path_fold<k>.txt)")
    return os.path.join(folder, name.replace("_img_path_", "_label_"))


def find_list(list_dir: str, fold: int, part: str) -> str:
    """The one ``<DS>_<part>_img_path_fold<fold>.txt`` in ``list_dir``."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    found = sorted(glob.glob(os.path.join(glob.escape(list_dir), f"*_{part}_img_path_fold{int(fold)}.txt")))
    if len(found) != 1:
        what = "no" if not found else f"{len(found)}"
        raise FileNotFoundError(f"{list_dir}: {what} *_{part}_img_path_fold{fold}.txt list (need exactly one)")
    return found[0]


def default_aus(img_path_file: str) -> Tuple[str, ...]:
    m = _IMG_LIST.match(os.path.basename(img_path_file))
    ds = m["ds"].upper() if m else ""
    if ds not in LIST_PREFIX_AUS:
        raise ValueError(f"{img_path_file}: cannot tell the AU set from the name; pass data.aus")
    return au_set(LIST_PREFIX_AUS[ds])


def read_image_paths(path: str):
    """``(relative paths, line numbers)`` of the non-blank lines of an image-path list."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8-sig")
    paths, lines = [], []
    for lineno, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 1:
            raise AnnotationError(path, lineno, f"expected one image path, got {len(parts)} fields")
        paths.append(parts[0].replace("\\", "/"))
        lines.append(lineno)
    if not paths:
        raise AnnotationError(path, 1, "the list holds no images")
    return paths, lines


def read_megraphau_list(img_path_file: str, image_root: str, aus: Union[None, str, Sequence[str]] = None,
                        check_images: bool = True, cache_dir: Optional[str] = None,
                        use_cache: bool = True) -> FrameIndex:
    """The index of one ME-GraphAU list pair (the label file found beside ``img_path_file``)."""
    img_path_file = os.path.abspath(os.path.expanduser(img_path_file))
    label_file = label_file_of(img_path_file)
    for p in (img_path_file, label_file):
        if not os.path.isfile(p):
            raise FileNotFoundError(f"{p}: ME-GraphAU list not found")
    aus = default_aus(img_path_file) if aus is None else au_set(aus)
    image_root = os.path.abspath(os.path.expanduser(image_root))
    cache = None
    if use_cache:
        cache = IndexCache(cache_dir, image_root, "megraphau", os.path.basename(img_path_file),
                           [img_path_file, label_file], [list(aus)], check_images)
        cached = cache.load()
        if cached is not None:
            return cached
    paths, _ = read_image_paths(img_path_file)
    _, values, lines = read_int_table(label_file, None, n_cols=len(aus))
    if len(values) != len(paths):
        at = int(lines[-1]) + 1 if len(values) < len(paths) else int(lines[len(paths)])
        raise AnnotationError(label_file, at, f"{len(values)} label rows for {len(paths)} image paths "
                              f"in {os.path.basename(img_path_file)}")
    check_values(label_file, values, lines, (0, 1, 9, -1), "labels must be 0, 1 or 9 / -1 (not coded)")
    labels = np.where((values == 9) | (values < 0), -1, values).astype(np.int8)
    index = index_frames(img_path_file, image_root, paths, labels, check_images, keep_partial=True, au_names=aus)
    if cache is not None:
        cache.save(index)
    return index
