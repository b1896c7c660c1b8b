"""List files (ME-GraphAU style, for BP4D/DISFA and for k-fold splits) into a :class:`~.index.FrameIndex`.

One frame per line: a path relative to the image root, whitespace, then the 12 labels either
comma-separated or whitespace-separated::

    cropped_aligned/10-60-1280x720/00001.jpg 0,1,0,0,1,0,0,0,0,0,1,0
    F001/T1/2440.jpg 0 0 1 0 0 0 0 0 0 0 0 0

The video of a frame is the folder part of its path, the frame number the digits of its file
name (or its position in the video when the name has no digits). Frames stay in the file's
order, grouped by video (videos in order of first appearance). A BOM, CRLF and blank lines are
accepted; a malformed line is an :class:`~.abaw.AnnotationError` naming file and line.

Values are -1/0/1. By default a row holding any -1 is dropped (as for ABAW files) and counted;
``keep_partial=True`` keeps rows with some -1 (per-AU missing labels, to be masked in the loss)
and drops only rows that are all -1.
"""
from __future__ import annotations

import os
import re
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..constants import AU_NAMES, NUM_AUS
from ..fileio import atomic_write_text
from .abaw import AnnotationError, parse_values
from .index import FrameIndex, ReadReport
from .index_cache import IndexCache

_STEM = re.compile(r"^(.*?)(\d+)(\.[^./]+)$")


def _name_format(stems_and_exts) -> Optional[str]:
    """A format such that ``fmt.format(frame)`` rebuilds every name of a video, or None."""
    widths, exts = set(), set()
    for digits, ext, prefix in stems_and_exts:
        if prefix:
            return None
        exts.add(ext)
        widths.add(len(digits) if digits.startswith("0") else 0)
    if len(exts) != 1:
        return None
    ext = exts.pop()
    if widths == {0}:  # unpadded names: format must give back exactly the digits
        if all(str(int(d)) == d for d, _, _ in stems_and_exts):
            return "{:d}" + ext.replace("{", "{{").replace("}", "}}")
        return None
    lengths = {len(d) for d, _, _ in stems_and_exts}
    if len(lengths) == 1:
        w = lengths.pop()
        return "{:0%dd}" % w + ext.replace("{", "{{").replace("}", "}}")
    return None


def read_list_file(path: str, image_root: Optional[str] = None, check_images: bool = True,
                   keep_partial: bool = False, cache_dir: Optional[str] = None, use_cache: bool = True) -> FrameIndex:
    """Index of a list file.

    Args:
        path: the list file.
        image_root: folder the image paths are relative to (default: the list file's folder).
        check_images: drop frames whose image is absent (each image folder is listed once).
        keep_partial: keep rows with some (not all) -1 values; default drops any row holding -1.
        cache_dir: index cache folder (default ``<image_root>/.index_cache``; :mod:`.index_cache`);
            ``use_cache=False`` skips it.
    """
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: list file not found")
    image_root = os.path.abspath(os.path.expanduser(image_root or os.path.dirname(path)))
    if check_images and not os.path.isdir(image_root):
        raise FileNotFoundError(f"{image_root}: image root of {path} not found")
    cache = None
    if use_cache:
        cache = IndexCache(cache_dir, image_root, "list", os.path.basename(path), [path], [path, keep_partial],
                           check_images)
        cached = cache.load()
        if cached is not None:
            return cached
    rel_paths, labels = _parse_lines(path)
    index = index_frames(path, image_root, rel_paths, labels, check_images, keep_partial)
    if cache is not None:
        cache.save(index)
    return index


def _parse_lines(path: str) -> Tuple[List[str], np.ndarray]:
    """``(relative image paths ('/' separated), labels (N, 12) int8)`` of the non-blank lines of a list file."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8-sig", errors="strict")
    rel_paths, label_text, line_numbers = [], [], []
    for lineno, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) == 2:
            rel, lab = parts
        elif len(parts) == 1 + NUM_AUS:
            rel, lab = parts[0], ",".join(parts[1:])
        else:
            raise AnnotationError(path, lineno, f"expected 'relative/path.jpg v1,...,v{NUM_AUS}' "
                                  f"(or {NUM_AUS} space-separated values), got {len(parts)} fields")
        rel_paths.append(rel.replace("\\", "/"))
        label_text.append(lab)
        line_numbers.append(lineno)
    if not rel_paths:
        raise AnnotationError(path, 1, "the list file holds no frames")
    labels = parse_values("\n".join(label_text).encode("ascii"), NUM_AUS, path, np.asarray(line_numbers))
    return rel_paths, labels


def _present_images(image_root: str, dirs: Sequence[str], names: Sequence[str], rows: np.ndarray) -> np.ndarray:
    """(N,) bool: False for the ``rows`` whose image ``<image_root>/<dir>/<name>`` is absent (a folder listed once)."""
    listing = {}
    present = np.ones(len(names), dtype=bool)
    for i in rows:
        d = dirs[i]
        if d not in listing:
            full = os.path.join(image_root, d)
            listing[d] = set(os.listdir(full)) if os.path.isdir(full) else set()
        present[i] = names[i] in listing[d]
    return present


def index_frames(path: str, image_root: str, rel_paths: List[str], labels: np.ndarray, check_images: bool,
                 keep_partial: bool, au_names: Sequence[str] = AU_NAMES) -> FrameIndex:
    """The index of parsed list lines (paths, labels (N, A)): videos = folders in order of first
    appearance, file order kept within."""
    dirs, names = zip(*(p.rpartition("/")[::2] for p in rel_paths))
    video_names, first_seen = np.unique(np.asarray(dirs, dtype=object), return_index=True)
    video_names = [str(v) for v in video_names[np.argsort(first_seen)]]
    code = {v: i for i, v in enumerate(video_names)}
    vid_all = np.fromiter((code[d] for d in dirs), dtype=np.int32, count=len(dirs))
    n_videos = len(video_names)
    rows = np.bincount(vid_all, minlength=n_videos).astype(np.int64)
    keep = (labels >= 0).any(axis=1) if keep_partial else (labels >= 0).all(axis=1)
    unannotated = np.bincount(vid_all[~keep], minlength=n_videos).astype(np.int64)
    missing = np.zeros(n_videos, dtype=np.int64)
    if check_images:
        present = _present_images(image_root, dirs, names, np.flatnonzero(keep))
        missing = np.bincount(vid_all[keep & ~present], minlength=n_videos).astype(np.int64)
        keep &= present
    order = np.argsort(vid_all, kind="stable")
    sel = order[keep[order]]
    video_ids = vid_all[sel]
    frames, formats, need_paths = _frame_numbers(names, sel, video_ids, n_videos)
    explicit = np.asarray([rel_paths[i] for i in sel.tolist()], dtype=object) if need_paths else None
    report = ReadReport(video_names, rows, unannotated, missing, {})
    return FrameIndex(image_root, video_names, list(video_names), formats, video_ids.astype(np.int32), frames,
                      labels[sel], report, explicit, source=path, au_names=tuple(au_names))


def _frame_numbers(names: Sequence[str], sel: np.ndarray, video_ids: np.ndarray,
                   n_videos: int) -> Tuple[np.ndarray, List[str], bool]:
    """``(frames (K,) int32, name format per video, whether explicit paths are needed)`` of the kept rows ``sel``.

    A frame's number is the digits of its file name, else its 1-based position in the video; a
    video whose names follow one pattern (:func:`_name_format`) gets that format, otherwise the
    index keeps explicit paths.
    """
    frames = np.zeros(len(sel), dtype=np.int32)
    parsed = []
    for j, i in enumerate(sel.tolist()):
        m = _STEM.match(names[i])
        parsed.append((m.group(2), m.group(3), m.group(1)) if m else None)
        if m:
            frames[j] = int(m.group(2))
    per_video = {}
    for j, v in enumerate(video_ids.tolist()):
        per_video.setdefault(v, []).append(j)
    formats, need_paths = ["{:05d}.jpg"] * n_videos, False
    for v, js in per_video.items():
        items = [parsed[j] for j in js]
        fmt = None if any(it is None for it in items) else _name_format(items)
        if fmt is None:
            need_paths = True
            for pos, j in enumerate(js, start=1):
                if parsed[j] is None:
                    frames[j] = pos
        else:
            formats[v] = fmt
    return frames, formats, need_paths


def write_list_file(index: FrameIndex, path: str, rows: Optional[np.ndarray] = None) -> int:
    """Write frames ``rows`` (default all) of ``index`` as a list file (paths relative to its image root).

    Returns the number of lines written. The file is written atomically.
    """
    rows = np.arange(len(index)) if rows is None else np.asarray(rows)
    if rows.dtype == bool:
        rows = np.flatnonzero(rows)
    chars = np.where(index.labels[rows] < 0, "-1", np.where(index.labels[rows] > 0, "1", "0"))
    paths = index.paths
    lines = [f"{paths[i]} {','.join(c)}\n" for i, c in zip(rows.tolist(), chars.tolist())]
    atomic_write_text(path, "".join(lines))
    return len(lines)
