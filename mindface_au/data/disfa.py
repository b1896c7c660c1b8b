"""DISFA as released: per-subject intensity label files and left-camera videos, read with the crops made once.

The layout read (``root`` is the folder holding ``ActionUnit_Labels/``)::

    root/ActionUnit_Labels/SN001/SN001_au1.txt       "frameIdx,intensity" lines, 0-5 (line t = frame t)
    root/Videos_LeftCamera/LeftVideoSN001_comp.avi   the left camera, the field's choice
    root/cropped_aligned/LeftVideoSN001_comp/00001.jpg   aligned 112x112 crops of frame 1, ... written
                                                     once by ``mindface-au prepare-disfa``
                                                     (``cropped_aligned/SN001/`` is accepted too)

One video per subject (``SN001``). Every label file of a subject must list the same frames.
The labels of the AU set asked for (default the field's 8, ``disfa8``) are occurrence =
intensity >= ``threshold`` (2, the field's choice); the 0-5 intensities travel along
(:attr:`FrameIndex.intensity`). Frames without a crop (no face found, or not prepared yet) are
counted as missing. A malformed file is one :class:`~.abaw.AnnotationError` naming file and line.
"""
from __future__ import annotations

import os
import re
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from ..constants import AU_SETS, au_set
from .abaw import FRAME_FORMAT, IMAGE_SUBDIR, AnnotationError, NotAbawLayoutError
from .index import FrameIndex, ReadReport
from .index_cache import IndexCache
from .inttable import check_values, read_int_table

LABEL_SUBDIR = "ActionUnit_Labels"
VIDEO_SUBDIR = "Videos_LeftCamera"
CODED_AUS = AU_SETS["disfa12"]
DEFAULT_THRESHOLD = 2
_SUBJECT = re.compile(r"^SN\d{3}$")


class NotDisfaLayoutError(NotAbawLayoutError):
    """The root does not hold DISFA's ``ActionUnit_Labels`` folder."""


def video_file(root: str, subject: str) -> str:
    """``root/Videos_LeftCamera/LeftVideo<subject>_comp.avi``."""
    return os.path.join(root, VIDEO_SUBDIR, f"LeftVideo{subject}_comp.avi")


def crop_dir_names(subject: str) -> Tuple[str, str]:
    """Folder names below ``cropped_aligned/`` that may hold a subject's crops (prepare-disfa writes the first)."""
    return f"LeftVideo{subject}_comp", subject


def label_path(root: str, subject: str, au: str) -> str:
    return os.path.join(root, LABEL_SUBDIR, subject, f"{subject}_au{int(au[2:])}.txt")


def list_subjects(root: str) -> List[str]:
    labels = os.path.join(root, LABEL_SUBDIR)
    if not os.path.isdir(labels):
        raise NotDisfaLayoutError(f"{root}: not a DISFA release: no {LABEL_SUBDIR}/ folder")
    subjects = sorted(d for d in os.listdir(labels) if _SUBJECT.match(d) and os.path.isdir(os.path.join(labels, d)))
    if not subjects:
        raise NotDisfaLayoutError(f"{labels}: no SN<nnn>/ folders")
    return subjects


def parse_label_file(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """``(frames (R,) int32, intensity (R,) int8)`` of one ``SN<nnn>_au<k>.txt``."""
    if not os.path.isfile(path):
        raise AnnotationError(path, 1, "label file not found")
    _, values, lines = read_int_table(path, ",", n_cols=2)
    if not len(values):
        raise AnnotationError(path, 1, "the label file holds no frames")
    check_values(path, values[:, 1:], lines, range(6), "intensity must be 0-5")
    return values[:, 0].astype(np.int32), values[:, 1].astype(np.int8)


def read_subject(root: str, subject: str, aus: Sequence[str]) -> Tuple[np.ndarray, np.ndarray]:
    """``(frames (R,), intensity (R, A) int8)`` of one subject; every AU file must list the same frames."""
    frames, columns, first = None, [], None
    for au in aus:
        path = label_path(root, subject, au)
        f, v = parse_label_file(path)
        if frames is None:
            frames, first = f, path
        elif len(f) != len(frames) or np.any(f != frames):
            row = min(len(f), len(frames))
            diff = np.flatnonzero(f[:row] != frames[:row])
            row = int(diff[0]) if len(diff) else row
            raise AnnotationError(path, row + 1, f"frames differ from {os.path.basename(first)} "
                                  f"({len(f)} vs {len(frames)} lines)")
        columns.append(v)
    return frames, np.stack(columns, 1)


def _crop_folder(root: str, subject: str) -> str:
    """The ``cropped_aligned/`` folder name of a subject (the first of :func:`crop_dir_names` that exists)."""
    names = crop_dir_names(subject)
    for name in names:
        if os.path.isdir(os.path.join(root, IMAGE_SUBDIR, name)):
            return name
    return names[0]


def read_disfa(root: str, aus: Union[str, Sequence[str]] = "disfa8", threshold: int = DEFAULT_THRESHOLD,
               check_images: bool = True, cache_dir: Optional[str] = None, use_cache: bool = True) -> FrameIndex:
    """The frame index of a DISFA release (see the module doc): labels = intensity >= ``threshold``."""
    root = os.path.abspath(os.path.expanduser(root))
    aus = au_set(aus)
    unknown = [a for a in aus if a not in CODED_AUS]
    if unknown:
        raise ValueError(f"DISFA codes {', '.join(CODED_AUS)}; not {', '.join(unknown)}")
    subjects = list_subjects(root)
    cache = None
    if use_cache:
        files = [label_path(root, s, a) for s in subjects for a in aus]
        cache = IndexCache(cache_dir, root, "disfa", "all", [f for f in files if os.path.isfile(f)],
                           [list(aus), int(threshold)], check_images)
        cached = cache.load()
        if cached is not None:
            return cached
    dirs, parts, rows, missing = [], [], [], []
    for subject in subjects:
        frames, inten = read_subject(root, subject, aus)
        folder = _crop_folder(root, subject)
        keep = np.ones(len(frames), bool)
        if check_images:
            full = os.path.join(root, IMAGE_SUBDIR, folder)
            listing = set(os.listdir(full)) if os.path.isdir(full) else set()
            keep = np.fromiter((FRAME_FORMAT.format(int(f)) in listing for f in frames), bool, len(frames))
        dirs.append(f"{IMAGE_SUBDIR}/{folder}")
        rows.append(len(frames))
        missing.append(int((~keep).sum()))
        parts.append((frames[keep], inten[keep]))
    video_ids = np.concatenate([np.full(len(p[0]), v, np.int32) for v, p in enumerate(parts)])
    intensity = np.concatenate([p[1] for p in parts]).astype(np.float32)
    report = ReadReport(list(subjects), np.asarray(rows, np.int64), np.zeros(len(subjects), np.int64),
                        np.asarray(missing, np.int64))
    index = FrameIndex(root, list(subjects), dirs, [FRAME_FORMAT] * len(subjects), video_ids,
                       np.concatenate([p[0] for p in parts]), (intensity >= threshold).astype(np.int8), report,
                       source=f"DISFA {root}", au_names=aus, intensity=intensity)
    if cache is not None:
        cache.save(index)
    return index
