"""BP4D as released: ``<subject>/<task>/<frame>.jpg`` images and ``AUCoding/AU_OCC/<subject>_<task>.csv`` labels.

The layout read (``root`` is the folder holding ``AUCoding/``)::

    root/AUCoding/AU_OCC/F001_T1.csv              header "0,1,2,4,...": column "0" = frame number,
                                                  the others named by AU number; 0/1, 9 = not coded
    root/AUCoding/AU_INT/AU06/F001_T1_AU06.csv     optional FERA 2015 intensity (AUs 6, 10, 12, 14, 17):
                                                  "frame,intensity" rows, 0-5, 9 = not coded
    root/[BP4D-training/|img/|images/]F001/T1/2440.jpg   (or 0099.jpg: names zero-padded to 4 digits
                                                  in some preprocessed copies; both are accepted)

One video per sequence, named ``<subject>_<task>`` (:func:`~.protocols.subject_of` gives its subject). Labels
follow the AU set asked for (default the field's 12 BP4D AUs); a 9 becomes -1 (masked); rows
where every AU of the set is 9 are dropped and counted as unannotated, and frames without an
image as missing. A malformed file is one :class:`~.abaw.AnnotationError` naming file and line.
"""
from __future__ import annotations

import os
import re
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..constants import au_set
from .abaw import AnnotationError, NotAbawLayoutError
from .index import FrameIndex, ReadReport
from .index_cache import IndexCache
from .inttable import check_values, read_int_table

OCC_SUBDIR = os.path.join("AUCoding", "AU_OCC")
INT_SUBDIR = os.path.join("AUCoding", "AU_INT")
INTENSITY_AUS = ("AU6", "AU10", "AU12", "AU14", "AU17")  # FERA 2015
NOT_CODED = 9
IMAGE_SUBDIRS = ("", "BP4D-training", "BP4D_training", "img", "images")
NAME_FORMATS = ("{:d}.jpg", "{:04d}.jpg")  # unpadded, zero-padded to 4 digits
_SEQUENCE = re.compile(r"^(?P<subject>[^_]+)_(?P<task>[^_.]+)\.csv$", re.IGNORECASE)


class NotBP4DLayoutError(NotAbawLayoutError):
    """The root does not hold BP4D's ``AUCoding/AU_OCC`` folder."""


def au_number(name: str) -> int:
    return int(name[2:])


def list_sequences(root: str) -> List[Tuple[str, str, str]]:
    """``[(subject, task, occurrence CSV path)]`` sorted by subject and task."""
    occ = os.path.join(root, OCC_SUBDIR)
    if not os.path.isdir(occ):
        raise NotBP4DLayoutError(f"{root}: not a BP4D release: no {OCC_SUBDIR}/ folder")
    out = []
    for name in sorted(os.listdir(occ)):
        m = _SEQUENCE.match(name)
        if m:
            out.append((m["subject"], m["task"], os.path.join(occ, name)))
    if not out:
        raise NotBP4DLayoutError(f"{occ}: no <subject>_<task>.csv files")
    return out


def find_image_root(root: str, subject: str, task: str) -> str:
    """The folder holding ``<subject>/<task>/``: ``root`` or one of :data:`IMAGE_SUBDIRS` below it."""
    for sub in IMAGE_SUBDIRS:
        if os.path.isdir(os.path.join(root, sub, subject, task)):
            return os.path.join(root, sub) if sub else root
    return root


def parse_occurrence(path: str, aus: Sequence[str]) -> Tuple[np.ndarray, np.ndarray]:
    """``(frames (R,) int32, labels (R, A) int8 with 9 -> -1)`` of one AU_OCC CSV for the AUs ``aus``."""
    header, values, lines = read_int_table(path, ",", header=True)
    if not header or header[0] != "0":
        raise AnnotationError(path, 1, f"expected a header whose first column is '0' (the frame), got {header[:3]}")
    try:
        numbers = [int(h) for h in header[1:]]
    except ValueError:
        raise AnnotationError(path, 1, "header columns after '0' must be AU numbers") from None
    missing = [a for a in aus if au_number(a) not in numbers]
    if missing:
        raise AnnotationError(path, 1, f"no column for {', '.join(missing)} (columns: {header[1:]})")
    cols = [1 + numbers.index(au_number(a)) for a in aus]
    labels = values[:, cols] if len(values) else np.zeros((0, len(aus)), np.int64)
    check_values(path, labels, lines, (0, 1, NOT_CODED), "occurrence must be 0, 1 or 9 (not coded)")
    labels = np.where(labels == NOT_CODED, -1, labels).astype(np.int8)
    return values[:, 0].astype(np.int32), labels


def parse_intensity(path: str) -> Dict[int, float]:
    """``{frame: intensity}`` of one FERA 2015 intensity CSV (``frame,intensity``; 9 -> NaN)."""
    _, values, lines = read_int_table(path, ",", n_cols=2)
    check_values(path, values[:, 1:], lines, (0, 1, 2, 3, 4, 5, NOT_CODED), "intensity must be 0-5 or 9")
    return {int(f): (np.nan if v == NOT_CODED else float(v)) for f, v in values.tolist()}


def intensity_path(root: str, au: str, video: str) -> str:
    tag = f"AU{au_number(au):02d}"
    return os.path.join(root, INT_SUBDIR, tag, f"{video}_{tag}.csv")


def _intensity(root: str, video: str, frames: np.ndarray, aus: Sequence[str]) -> np.ndarray:
    """(R, A) float32 of one sequence: FERA 2015 intensity where a file codes it, else NaN."""
    out = np.full((len(frames), len(aus)), np.nan, np.float32)
    for j, au in enumerate(aus):
        path = intensity_path(root, au, video)
        if au in INTENSITY_AUS and os.path.isfile(path):
            table = parse_intensity(path)
            out[:, j] = [table.get(int(f), np.nan) for f in frames]
    return out


def _name_format(folder: str, frames: np.ndarray) -> Tuple[str, np.ndarray]:
    """The name format (unpadded or 4-digit) that finds most of ``frames`` in ``folder``, and which it finds."""
    listing = set(os.listdir(folder)) if os.path.isdir(folder) else set()
    best = None
    for fmt in NAME_FORMATS:
        present = np.fromiter((fmt.format(int(f)) in listing for f in frames), bool, len(frames))
        if best is None or present.sum() > best[1].sum():
            best = (fmt, present)
    return best


def read_bp4d(root: str, aus: Union[str, Sequence[str]] = "bp4d", image_root: Optional[str] = None,
              check_images: bool = True, cache_dir: Optional[str] = None, use_cache: bool = True) -> FrameIndex:
    """The frame index of a BP4D release (see the module doc); ``aus`` a preset name or AU list."""
    root = os.path.abspath(os.path.expanduser(root))
    aus = au_set(aus)
    sequences = list_sequences(root)
    image_root = os.path.abspath(image_root) if image_root else find_image_root(root, *sequences[0][:2])
    with_intensity = os.path.isdir(os.path.join(root, INT_SUBDIR))
    int_files = [intensity_path(root, a, f"{s}_{t}") for s, t, _ in sequences for a in aus if a in INTENSITY_AUS]
    cache = None
    if use_cache:
        cache = IndexCache(cache_dir, image_root, "bp4d", "all", [p for *_, p in sequences]
                           + [p for p in int_files if os.path.isfile(p)], [root, list(aus)], check_images)
        cached = cache.load()
        if cached is not None:
            return cached
    names, dirs, formats, parts = [], [], [], []
    rows, unannotated, missing = [], [], []
    for subject, task, path in sequences:
        video = f"{subject}_{task}"
        frames, labels = parse_occurrence(path, aus)
        coded = (labels >= 0).any(axis=1)
        fmt, present = _name_format(os.path.join(image_root, subject, task), frames)
        keep = coded & present if check_images else coded
        names.append(video)
        dirs.append(f"{subject}/{task}")
        formats.append(fmt)
        rows.append(len(frames))
        unannotated.append(int((~coded).sum()))
        missing.append(int((coded & ~keep).sum()))
        inten = _intensity(root, video, frames[keep], aus) if with_intensity else None
        parts.append((frames[keep], labels[keep], inten))
    video_ids = np.concatenate([np.full(len(p[0]), v, np.int32) for v, p in enumerate(parts)])
    report = ReadReport(names, np.asarray(rows, np.int64), np.asarray(unannotated, np.int64),
                        np.asarray(missing, np.int64))
    index = FrameIndex(image_root, names, dirs, formats, video_ids, np.concatenate([p[0] for p in parts]),
                       np.concatenate([p[1] for p in parts]), report, source=f"BP4D {root}", au_names=aus,
                       intensity=np.concatenate([p[2] for p in parts]) if with_intensity else None)
    if cache is not None:
        cache.save(index)
    return index
