"""The field's 3-fold subject-exclusive protocols of BP4D and DISFA (ME-GraphAU's and JAA-Net's lists).

Each data set's subjects fall into three parts; fold k tests on one part and trains on the
other two: fold 1 tests part 3, fold 2 part 2, fold 3 part 1. :func:`fold_subjects` gives the
subjects, :func:`select_fold` the frames of an index (subjects from video names:
``F001_T1`` -> ``F001``, ``SN001`` -> ``SN001``).
"""
from __future__ import annotations

from typing import Dict, Tuple

from .index import FrameIndex, select_videos

PARTS: Dict[str, Tuple[Tuple[str, ...], ...]] = {
    "bp4d": (
        ("F001", "M007", "F018", "F008", "F002", "M004", "F010", "F009", "M012", "M001", "F016", "M014", "F023", "M008"),
        ("M011", "F003", "M010", "M002", "F005", "F022", "M018", "M017", "F013", "M016", "F020", "F011", "M013", "M005"),
        ("F007", "F015", "F006", "F019", "M006", "M009", "F012", "M003", "F004", "F021", "F017", "M015", "F014"),
    ),
    "disfa": (
        ("SN002", "SN010", "SN001", "SN026", "SN027", "SN032", "SN030", "SN009", "SN016"),
        ("SN013", "SN018", "SN011", "SN028", "SN012", "SN006", "SN031", "SN021", "SN024"),
        ("SN003", "SN029", "SN023", "SN025", "SN008", "SN005", "SN007", "SN017", "SN004"),
    ),
}
TEST_PART = {1: 3, 2: 2, 3: 1}  # fold -> the part it tests on
FOLDS = tuple(TEST_PART)


def fold_subjects(dataset: str, fold: int) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """``(train subjects, test subjects)`` of fold ``fold`` (1, 2 or 3) of ``dataset`` (``bp4d``/``disfa``)."""
    if dataset not in PARTS:
        raise ValueError(f"no 3-fold protocol for {dataset!r}; known: {', '.join(PARTS)}")
    if fold not in TEST_PART:
        raise ValueError(f"fold must be 1, 2 or 3, got {fold!r}")
    test = TEST_PART[fold] - 1
    parts = PARTS[dataset]
    train = tuple(s for i, part in enumerate(parts) if i != test for s in part)
    return train, parts[test]


def subject_of(video: str) -> str:
    """A BP4D sequence's or a DISFA video's subject: ``'F001_T1'`` -> ``'F001'``, ``'SN001'`` -> ``'SN001'``."""
    return video.split("_", 1)[0]


def select_fold(index: FrameIndex, dataset: str, fold: int, part: str) -> FrameIndex:
    """The frames of ``index`` in the ``part`` (``'train'`` or ``'test'``) of fold ``fold``."""
    if part not in ("train", "test"):
        raise ValueError(f"part must be 'train' or 'test', got {part!r}")
    train, test = fold_subjects(dataset, fold)
    subjects = set(train if part == "train" else test)
    keep = [v for v in index.video_names if subject_of(v) in subjects]
    return select_videos(index, keep, source=f"{index.source} [{dataset} fold {fold} {part}]")
