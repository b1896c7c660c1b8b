"""k-fold splits by video (never by frame), with the rare-AU positives spread over the folds.

The two people of one clip (``<video>_left`` / ``<video>_right``) are one group and stay in the
same fold. Groups are placed greedily, heaviest first (ties broken by the seed), each into the
fold whose load - frames and positives of every rare AU, each relative to its total - stays
lowest; so every fold gets about 1/k of the frames and of each rare AU's positives.

:func:`write_folds` writes, for fold i, ``fold<i>/train.txt`` (the other folds) and
``fold<i>/val.txt`` (fold i) as list files, plus ``folds.json`` and a bar chart ``folds.png``.
"""
from __future__ import annotations

import json
import os
import re
from typing import Dict, Sequence

import numpy as np

from ..constants import AU_NAMES, RARE_AUS
from ..evaluation.report import plot_folds
from ..fileio import atomic_write_text
from .index import FrameIndex
from .listfile import write_list_file

_PAIR = re.compile(r"_(left|right)$")


def clip_of(video: str) -> str:
    """The clip a video comes from: ``x_left`` and ``x_right`` are both ``x``."""
    return _PAIR.sub("", video)


def make_folds(index: FrameIndex, k: int = 4, seed: int = 0, rare_aus: Sequence[str] = RARE_AUS) -> np.ndarray:
    """Fold (0..k-1) of every video of ``index``: (V,) int array."""
    if k < 2:
        raise ValueError(f"need at least 2 folds, got {k}")
    clips = [clip_of(v) for v in index.video_names]
    names, group = np.unique(np.asarray(clips, dtype=object), return_inverse=True)
    if len(names) < k:
        raise ValueError(f"{len(names)} clips cannot make {k} folds (each fold needs at least one)")
    cols = [AU_NAMES.index(a) for a in rare_aus]
    frame_group = group[index.video_ids]
    # per-group features: frames, positives of each rare AU
    feats = np.zeros((len(names), 1 + len(cols)))
    feats[:, 0] = np.bincount(frame_group, minlength=len(names))
    for j, c in enumerate(cols):
        feats[:, 1 + j] = np.bincount(frame_group, weights=(index.labels[:, c] == 1), minlength=len(names))
    totals = np.maximum(feats.sum(0), 1)
    rel = feats / totals
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(names)), -rel.sum(1)))  # heaviest first, random among equals
    load = np.zeros((k, feats.shape[1]))
    count = np.zeros(k, dtype=int)
    fold_of_group = np.empty(len(names), dtype=np.int64)
    for g in order:
        empty = np.flatnonzero(count == 0)
        remaining = len(names) - count.sum()
        if len(empty) and remaining <= len(empty):  # keep every fold non-empty
            candidates = empty
        else:
            candidates = np.arange(k)
        cost = (load[candidates] + rel[g]).max(1) + 1e-3 * (load[candidates] + rel[g]).sum(1)
        f = candidates[int(np.argmin(cost + 1e-9 * rng.random(len(candidates))))]
        fold_of_group[g] = f
        load[f] += rel[g]
        count[f] += 1
    return fold_of_group[group]


def _fold_summary(index: FrameIndex, folds: np.ndarray) -> Dict[str, dict]:
    """Per fold (``fold<i>``): its videos, its frames and the positives of every AU (``folds.json``'s ``folds``)."""
    k = int(folds.max()) + 1
    frame_fold = folds[index.video_ids]
    out = {}
    for f in range(k):
        sel = frame_fold == f
        out[f"fold{f}"] = {
            "videos": [v for v, ff in zip(index.video_names, folds) if ff == f],
            "frames": int(sel.sum()),
            "positives": {au: int((index.labels[sel, AU_NAMES.index(au)] == 1).sum()) for au in AU_NAMES},
        }
    return out


def write_folds(index: FrameIndex, folds: np.ndarray, out_dir: str, rare_aus: Sequence[str] = RARE_AUS,
                plot: bool = True) -> dict:
    """Write ``fold<i>/{train,val}.txt`` for every fold, ``folds.json`` and ``folds.png`` under ``out_dir``."""
    os.makedirs(out_dir, exist_ok=True)
    k = int(folds.max()) + 1
    frame_fold = folds[index.video_ids]
    for f in range(k):
        d = os.path.join(out_dir, f"fold{f}")
        write_list_file(index, os.path.join(d, "train.txt"), frame_fold != f)
        write_list_file(index, os.path.join(d, "val.txt"), frame_fold == f)
    summary = {"k": k, "image_root": index.image_root, "source": index.source, "rare_aus": list(rare_aus),
               "folds": _fold_summary(index, folds)}
    atomic_write_text(os.path.join(out_dir, "folds.json"), json.dumps(summary, indent=1))
    if plot:
        plot_folds(summary, os.path.join(out_dir, "folds.png"))
    return summary
