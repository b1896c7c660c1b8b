"""Checking an Aff-Wild2 / ABAW AU dataset before training on it: per split the videos, annotation rows,
rows dropped as not annotated (-1), missing and unreadable images, usable frames and the positive rate
of each AU. ``mindface-au check-dataset`` prints :func:`format_check` of :func:`check_dataset`; the
chart is :func:`mindface_au.plots.plot_positive_rates`.
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence

from ..constants import AU_NAMES
from .abaw import ANNOTATION_SUBDIR, SPLITS, NotAbawLayoutError, list_splits, read_abaw_split
from .index import FrameIndex
from .jpeg import read_checked

MAX_LISTED = 20  # unreadable images named per split (all are counted)


def count_unreadable(index: FrameIndex, progress: bool = True) -> Dict[str, str]:
    """``{relative path: reason}`` of the frames of ``index`` whose image does not decode."""
    from tqdm import tqdm

    bad = {}
    for i in tqdm(range(len(index)), desc="decode check", unit="img", disable=not progress, leave=False):
        data, reason = read_checked(index.abspath(i))
        if data is None:
            bad[index.path(i)] = reason
    return bad


def check_split(root: str, split: str, strict: bool = True, decode: bool = True, progress: bool = True) -> dict:
    """The counts of one split (JSON-able dict).

    Keys: ``split``, ``videos``, ``annotation_rows``, ``annotated_frames``, ``dropped_unannotated_rows``,
    ``missing_images``, ``unreadable_images`` (None without ``decode``), ``usable_frames``,
    ``skipped_videos`` {video: reason} (``strict=False``), ``unreadable`` (the first
    :data:`MAX_LISTED` {path: reason}) and ``positive_rate`` {AU: rate among the usable frames}.
    """
    index = read_abaw_split(root, split, strict=strict, use_cache=False, progress=progress)
    t = index.report.totals()
    bad = count_unreadable(index, progress) if decode else None
    return {
        "split": split, "videos": t["videos"], "annotation_rows": t["rows"],
        "annotated_frames": t["rows"] - t["unannotated"], "dropped_unannotated_rows": t["unannotated"],
        "missing_images": t["missing"], "unreadable_images": None if bad is None else len(bad),
        "usable_frames": t["kept"] - (len(bad) if bad else 0), "skipped_videos": dict(index.report.skipped),
        "unreadable": dict(list((bad or {}).items())[:MAX_LISTED]),
        "positive_rate": {au: round(float(r), 4) for au, r in zip(AU_NAMES, index.positive_rate())},
    }


def check_dataset(root: str, splits: Optional[Sequence[str]] = None, strict: bool = True, decode: bool = True,
                  progress: bool = True) -> List[dict]:
    """:func:`check_split` of every split of ``root`` (default: every folder under the annotations).

    Raises :class:`NotAbawLayoutError` naming the root when it is not an ABAW AU layout, and
    :class:`~.abaw.AnnotationError` (file:line) for a malformed annotation file when ``strict``.
    """
    root = os.path.abspath(os.path.expanduser(root))
    if not os.path.isdir(root):
        raise NotAbawLayoutError(f"{root}: no such folder")
    splits = list(splits or list_splits(root))
    if not splits:
        raise NotAbawLayoutError(f"{root}: not an ABAW AU layout: no {ANNOTATION_SUBDIR}/<split>/ folders "
                                 f"(expected {', '.join(SPLITS)})")
    return [check_split(root, s, strict=strict, decode=decode, progress=progress) for s in splits]


def format_check(result: dict) -> str:
    """The lines that ``check-dataset`` prints for one split's :func:`check_split` result."""
    r = result
    unreadable = "not checked (--no-decode)" if r["unreadable_images"] is None else r["unreadable_images"]
    lines = [f"== {r['split']}",
             f"  videos                 {r['videos']}",
             f"  annotation rows        {r['annotation_rows']}",
             f"  annotated frames       {r['annotated_frames']}",
             f"  dropped rows (-1)      {r['dropped_unannotated_rows']}",
             f"  missing images         {r['missing_images']}",
             f"  unreadable images      {unreadable}",
             f"  usable frames          {r['usable_frames']}"]
    lines += [f"  skipped video {name}: {reason}" for name, reason in r["skipped_videos"].items()]
    lines += [f"  unreadable {path}: {reason}" for path, reason in r["unreadable"].items()]
    lines.append("  positive rate  " + "  ".join(f"{au}:{100 * v:5.1f}%" for au, v in r["positive_rate"].items()))
    return "\n".join(lines)


def plot_check(results: Sequence[dict], path: str) -> str:
    """Bar chart of each split's per-AU positive rates (:func:`~mindface_au.plots.plot_positive_rates`)."""
    from ..plots import plot_positive_rates

    rates = {f"{r['split']} ({r['usable_frames']} frames)": [r["positive_rate"][a] for a in AU_NAMES] for r in results}
    return plot_positive_rates(rates, path, title="AU positive rate per split")


# ------------------------------------------------------------------ BP4D, DISFA, ME-GraphAU lists


def check_index(index: FrameIndex, name: str) -> dict:
    """Counts of a BP4D / DISFA / ME-GraphAU index (JSON-able): frames, drops, and per subject and per AU
    ``[positive, negative, not coded]`` (BP4D's 9s are the not coded), each subject with its protocol part.
    """
    from .protocols import PARTS, subject_of

    part_of = {s: i + 1 for parts in PARTS.values() for i, part in enumerate(parts) for s in part}
    per_subject = index.subject_counts(subject_of)
    totals = {au: [sum(s["aus"][au][k] for s in per_subject.values()) for k in range(3)] for au in index.au_names}
    t = index.report.totals()
    return {"split": name, "aus": list(index.au_names), "videos": t["videos"], "annotation_rows": t["rows"],
            "dropped_uncoded_rows": t["unannotated"], "missing_images": t["missing"], "usable_frames": len(index),
            "subjects": {s: {**c, "part": part_of.get(s)} for s, c in per_subject.items()}, "per_au": totals,
            "positive_rate": {au: round(float(r), 4) for au, r in zip(index.au_names, index.positive_rate())}}


def check_release(fmt: str, root: str, aus=None, threshold: int = 2, lists: Sequence[str] = ()) -> List[dict]:
    """:func:`check_index` of a BP4D or DISFA release (``fmt``), or of each ME-GraphAU list of ``lists``."""
    from .bp4d import read_bp4d
    from .disfa import read_disfa
    from .megraphau import read_megraphau_list

    if fmt == "bp4d":
        return [check_index(read_bp4d(root, aus or "bp4d", use_cache=False), "BP4D")]
    if fmt == "disfa":
        return [check_index(read_disfa(root, aus or "disfa8", threshold, use_cache=False), f"DISFA (>= {threshold})")]
    if fmt == "megraphau_list":
        if not lists:
            raise ValueError("megraphau_list: name the *_img_path_fold<k>.txt lists (--list)")
        return [check_index(read_megraphau_list(p, root, aus, use_cache=False), os.path.basename(p)) for p in lists]
    raise ValueError(f"unknown format {fmt!r}")


def format_release_check(result: dict) -> str:
    """The lines that ``check-dataset`` prints for one :func:`check_index` result."""
    r = result
    lines = [f"== {r['split']}",
             f"  videos                 {r['videos']}",
             f"  annotation rows        {r['annotation_rows']}",
             f"  dropped rows (all 9)   {r['dropped_uncoded_rows']}",
             f"  missing images         {r['missing_images']}",
             f"  usable frames          {r['usable_frames']}",
             "  per AU (positive / negative / not coded):"]
    lines += [f"    {au:<5} {p:>8} {n:>8} {u:>8}" for au, (p, n, u) in r["per_au"].items()]
    lines.append("  per subject (part): frames; positives per AU (" + " ".join(r["aus"]) + ")")
    for s, c in r["subjects"].items():
        part = f"({c['part']})" if c["part"] else "(-)"
        coded = "" if not any(v[2] for v in c["aus"].values()) else \
            f"; not coded {sum(v[2] for v in c['aus'].values())}"
        lines.append(f"    {s} {part} {c['frames']:>7}; " + " ".join(str(v[0]) for v in c["aus"].values()) + coded)
    return "\n".join(lines)
