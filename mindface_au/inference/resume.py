"""Resuming a per-frame CSV that a kill or a crash left behind, and marking finished outputs.

Rows are written a batch at a time, batches end between frames (:class:`~.batcher.FrameBatcher`),
and each batch is one write and a flush; a SIGKILL may still cut the last write. So a resumed run
keeps the CSV's header and its rows up to, not including, the **last frame present** (which may
be incomplete: several faces, or a cut line), truncates the file there, and computes that frame
again and every frame after it. Detection and the network are deterministic, so the CSV equals
an uninterrupted run's (rows, timestamps, frame numbers; ``face_id`` too for the largest face).

* a CSV whose header holds smoothed columns (``*_smooth``, the last pass of a run, also of a stopped
  one) has ``finished`` set: the caller drops those columns and resumes the raw rows; smoothing runs
  again over the whole table at the end;
* :func:`mark_complete` / :func:`is_complete`: a small JSON per finished input under
  ``<out>/.complete/``, written by corpus runs (``--ray``, ``--shard``, ``--resume``) so that a
  rerun skips finished inputs without decoding them.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Optional

from ..fileio import atomic_write_text

COMPLETE_DIR = ".complete"


@dataclass
class ResumePoint:
    """Where a CSV on disk lets a run continue: ``start_frame`` is computed again (its rows on disk
    are dropped by :func:`truncate_csv`), ``keep_bytes`` of the file are kept (header + rows before it)."""

    header: str
    start_frame: int = 1
    keep_bytes: int = 0
    rows_kept: int = 0
    max_face_id: int = -1
    finished: bool = False  # smoothing columns present (written at the end of a run)


def read_resume_point(csv_path: str) -> Optional[ResumePoint]:
    """The resume point of the CSV at ``csv_path``, or None when there is none (no file, no whole header)."""
    try:
        with open(csv_path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    end_header = data.find(b"\n")
    if end_header < 0:
        return None
    header = data[:end_header].decode("utf-8")
    point = ResumePoint(header=header, keep_bytes=end_header + 1,
                        finished=any(c.endswith("_smooth") for c in header.split(",")))
    body = data[end_header + 1:data.rfind(b"\n") + 1]  # whole lines only
    lines = body.splitlines(keepends=True)
    if not lines:
        return point
    frames = [int(line.split(b",", 1)[0]) for line in lines]
    point.start_frame = frames[-1]
    kept = next(k for k in range(len(frames) + 1) if k == len(frames) or frames[k] == frames[-1])
    point.rows_kept = kept
    point.keep_bytes += sum(len(line) for line in lines[:kept])
    columns = header.split(",")
    if "face_id" in columns:
        at = columns.index("face_id")
        point.max_face_id = max((int(float(line.split(b",")[at])) for line in lines[:kept]), default=-1)
    return point


def truncate_csv(csv_path: str, point: ResumePoint, expected_header: str) -> None:
    """Cut the CSV back to ``point.keep_bytes``; ValueError when its header is not ``expected_header``
    (another --csv-format, model or input kind wrote it: resuming would mix layouts)."""
    if point.header != expected_header:
        raise ValueError(f"{csv_path}: its columns differ from this run's (another --csv-format, model or input); "
                         f"remove it or write to another --out to start over")
    os.truncate(csv_path, point.keep_bytes)


def _marker(out_dir: str, stem: str) -> str:
    return os.path.join(out_dir, COMPLETE_DIR, f"{stem}.json")


def mark_complete(out_dir: str, stem: str, **info) -> str:
    """Record that input ``stem`` is finished (``info``: frames, rows, source ...) under ``<out>/.complete/``."""
    return atomic_write_text(_marker(out_dir, stem), json.dumps(info, sort_keys=True) + "\n")


def is_complete(out_dir: str, stem: str) -> bool:
    """Whether :func:`mark_complete` recorded ``stem`` as finished in ``out_dir``."""
    return os.path.isfile(_marker(out_dir, stem))


def clear_complete(out_dir: str, stem: str) -> None:
    """Forget that ``stem`` was finished (a run that starts it over)."""
    try:
        os.remove(_marker(out_dir, stem))
    except FileNotFoundError:
        pass
