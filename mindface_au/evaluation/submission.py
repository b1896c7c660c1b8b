"""ABAW AU-track submission files: writers and readers for both formats.

* **ABAW5** (2023, the paper's challenge): one ``<video>.txt`` per test video. Line 1 is the
  header ``AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26``
  (:data:`~mindface_au.constants.ABAW_HEADER`); line k+1 is frame k (1-based) as 12 comma-separated
  0/1 values. Every frame of the video needs a row, including frames for which there is no
  cropped face image: those get the prediction of the nearest frame that has one
  (:func:`fill_missing_frames`; when the previous and the next such frame are equally far, the
  **previous** (earlier) frame wins). The same layout is the annotation format, so
  :func:`read_abaw5_file` also reads annotation files (values -1/0/1).
* **ABAW6 and later**: one ``predictions.txt``. Line 1 is
  ``image_location,AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26``; every other line is
  ``<video>/<frame:05d>.jpg,`` followed by the 12 0/1 values, e.g. ``video_left/00001.jpg,0,1,...``.
  The organisers give a template file listing the image locations to predict; read it with
  :func:`read_abaw6_locations` (:func:`order_by_template` puts the rows in its order).

A video's number of frames comes from a ``video,frames`` CSV (:func:`read_frame_counts`), else
from its last image. :func:`write_submission` does all of it from flat per-frame arrays (what
:func:`mindface_au.engine.evaluator.predict_checkpoints` returns). Every file is written
atomically (temporary file, fsync, replace).
"""
from __future__ import annotations

import csv
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..constants import ABAW_HEADER, AU_NAMES
from ..fileio import atomic_write_bytes

ABAW6_HEADER = "image_location," + ABAW_HEADER
ABAW6_FILENAME = "predictions.txt"


# --------------------------------------------------------------------------- frames
def fill_missing_frames(frames, preds, n_frames: Optional[int] = None) -> np.ndarray:
    """Predictions for every frame 1..n_frames from those of the frames that have one.

    Args:
        frames: (M,) 1-based frame numbers that have a prediction (any order, no repeats).
        preds: (M, C) their predictions.
        n_frames: frames in the video (default: the largest of ``frames``).

    Returns:
        (n_frames, C) array (``preds``' dtype): row t-1 is frame t's prediction, copied from the
        nearest frame in ``frames``; at equal distance the earlier frame wins.
    """
    f = np.asarray(frames)
    p = np.asarray(preds)
    if f.ndim != 1 or f.size == 0:
        raise ValueError(f"frames must be a non-empty 1-D array of frame numbers, got shape {f.shape}")
    if not np.issubdtype(f.dtype, np.integer):
        if not np.all(np.asarray(f, dtype=np.float64) == np.round(np.asarray(f, dtype=np.float64))):
            raise ValueError("frame numbers must be integers")
        f = f.astype(np.int64)
    if p.ndim != 2 or p.shape[0] != f.size:
        raise ValueError(f"preds must have shape ({f.size}, n_aus) to match {f.size} frames, got {p.shape}")
    n = int(f.max()) if n_frames is None else int(n_frames)
    if f.min() < 1 or f.max() > n:
        raise ValueError(f"frame numbers must lie in 1..{n}, got {int(f.min())}..{int(f.max())}")
    order = np.argsort(f, kind="stable")
    fs, ps = f[order].astype(np.int64), p[order]
    if np.any(np.diff(fs) == 0):
        dup = int(fs[np.flatnonzero(np.diff(fs) == 0)[0]])
        raise ValueError(f"frame {dup} is given more than once")
    t = np.arange(1, n + 1, dtype=np.int64)
    right = np.searchsorted(fs, t, side="left")  # first known frame >= t
    left = right - 1  # last known frame < t
    right_c = np.minimum(right, fs.size - 1)
    d_right = np.where(right < fs.size, fs[right_c] - t, np.iinfo(np.int64).max)
    d_left = np.where(left >= 0, t - fs[np.maximum(left, 0)], np.iinfo(np.int64).max)
    pick = np.where(d_left <= d_right, left, right_c)
    return ps[pick]


def _check_binary(preds: np.ndarray, what: str) -> np.ndarray:
    p = np.asarray(preds)
    if p.ndim != 2 or p.shape[1] != len(AU_NAMES):
        raise ValueError(f"{what}: predictions must have shape (n_frames, {len(AU_NAMES)}), got {p.shape}")
    if not np.all((p == 0) | (p == 1)):
        raise ValueError(f"{what}: predictions must be 0/1 (threshold the probabilities first)")
    return p.astype(np.uint8)


def _rows_bytes(preds: np.ndarray, prefixes: Optional[Sequence[str]] = None) -> bytes:
    """(N, C) 0/1 -> b"0,1,...\\n" * N, optionally each row prefixed by ``prefix + ','``."""
    n, c = preds.shape
    buf = np.empty((n, 2 * c), dtype=np.uint8)
    buf[:, 0::2] = preds + ord("0")
    buf[:, 1::2] = ord(",")
    buf[:, -1] = ord("\n")
    if prefixes is None:
        return buf.tobytes()
    lines = buf.tobytes().decode("ascii").splitlines(keepends=True)
    return "".join(f"{loc},{line}" for loc, line in zip(prefixes, lines)).encode("utf-8")


def _check_video_name(name: str) -> str:
    name = str(name)
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\n" in name:
        raise ValueError(f"invalid video name for a file name: {name!r}")
    return name


# --------------------------------------------------------------------------- ABAW5
def write_abaw5(out_dir: str, video_names: Sequence[str], per_video_frames: Sequence, per_video_preds: Sequence,
                n_frames_per_video: Optional[Sequence[int]] = None) -> List[str]:
    """Write one ``<video>.txt`` per video in ``out_dir`` (ABAW5 format).

    Args:
        out_dir: folder (created if absent).
        video_names: V names, e.g. ``"video10_left"``.
        per_video_frames: V arrays (M_v,) of 1-based frame numbers that have a prediction.
        per_video_preds: V arrays (M_v, 12) of 0/1 predictions for those frames.
        n_frames_per_video: V frame counts of the videos (None: each video's largest frame
            number). Frames without a prediction get the nearest frame's (earlier on ties).

    Returns:
        The V paths written.
    """
    names = [_check_video_name(v) for v in video_names]
    if len(set(names)) != len(names):
        raise ValueError("video names must be unique")
    n_counts = [None] * len(names) if n_frames_per_video is None else list(n_frames_per_video)
    if not (len(per_video_frames) == len(per_video_preds) == len(n_counts) == len(names)):
        raise ValueError(f"got {len(names)} videos, {len(per_video_frames)} frame arrays, {len(per_video_preds)} "
                         f"prediction arrays and {len(n_counts)} frame counts; they must match")
    filled = [_filled(name, frames, preds, n)
              for name, frames, preds, n in zip(names, per_video_frames, per_video_preds, n_counts)]
    paths = []  # every video is checked before the first file is written
    for name, full in zip(names, filled):
        path = os.path.join(out_dir, f"{name}.txt")
        atomic_write_bytes(path, (ABAW_HEADER + "\n").encode("ascii") + _rows_bytes(full))
        paths.append(path)
    return paths


def _filled(name: str, frames, preds, n_frames: Optional[int]) -> np.ndarray:
    what = f"video {name}"
    p = _check_binary(preds, what)
    try:
        return fill_missing_frames(frames, p, n_frames)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None


def _read_lines(path: str) -> List[str]:
    with open(path, "r", encoding="utf-8-sig", newline=None) as f:
        lines = f.read().splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _parse_values(rows: List[List[str]], path: str, first_line: int, allowed: Tuple[str, ...]) -> np.ndarray:
    """Rows of string fields -> (n, 12) int8, with an error naming file and line on bad input."""
    n_aus = len(AU_NAMES)
    for i, r in enumerate(rows):
        if len(r) != n_aus:
            raise ValueError(f"{path}:{first_line + i}: expected {n_aus} values, got {len(r)}")
    if not rows:
        return np.zeros((0, n_aus), dtype=np.int8)
    arr = np.char.strip(np.array(rows, dtype=str))
    ok = np.isin(arr, allowed)
    if not ok.all():
        i, j = np.argwhere(~ok)[0]
        raise ValueError(f"{path}:{first_line + i}: value {arr[i, j]!r} for {AU_NAMES[j]} is not one of "
                         f"{', '.join(allowed)}")
    return arr.astype(np.int8)


def read_abaw5_file(path: str, allow_unannotated: bool = True) -> np.ndarray:
    """Read one ABAW5 ``<video>.txt`` (submission or annotation) -> (n_frames, 12) int8.

    Accepts a BOM, CRLF line ends and trailing blank lines. Values are 0/1, and -1 (not
    annotated) unless ``allow_unannotated`` is False. A bad file raises ``ValueError`` naming
    the file and line.
    """
    lines = _read_lines(path)
    if not lines or lines[0].strip().replace(" ", "") != ABAW_HEADER:
        got = lines[0].strip() if lines else "an empty file"
        raise ValueError(f"{path}:1: expected the header {ABAW_HEADER!r}, got {got!r}")
    allowed = ("0", "1", "-1") if allow_unannotated else ("0", "1")
    return _parse_values([ln.split(",") for ln in lines[1:]], path, 2, allowed)


def read_abaw5(out_dir: str, allow_unannotated: bool = True) -> Dict[str, np.ndarray]:
    """Read every ``*.txt`` of an ABAW5 submission folder -> {video name: (n_frames, 12) int8}."""
    if not os.path.isdir(out_dir):
        raise FileNotFoundError(f"not a folder: {out_dir}")
    names = sorted(f for f in os.listdir(out_dir) if f.endswith(".txt") and not f.startswith("."))
    return {f[:-4]: read_abaw5_file(os.path.join(out_dir, f), allow_unannotated) for f in names}


# --------------------------------------------------------------------------- ABAW6+
def image_location(video: str, frame: int) -> str:
    """``('video1', 3) -> 'video1/00003.jpg'`` (the cropped-aligned image name, 1-based frame)."""
    return f"{_check_video_name(video)}/{int(frame):05d}.jpg"


def parse_image_location(location: str) -> Tuple[str, int]:
    """``'video1/00003.jpg' -> ('video1', 3)``."""
    video, sep, name = location.strip().rpartition("/")
    stem = name.rsplit(".", 1)[0]
    if not sep or not video or not stem.isdigit():
        raise ValueError(f"not an image location like 'video/00001.jpg': {location!r}")
    return video, int(stem)


def abaw6_rows(video_names: Sequence[str], per_video_frames: Sequence, per_video_preds: Sequence,
               n_frames_per_video: Optional[Sequence[int]] = None) -> Tuple[List[str], np.ndarray]:
    """Image locations and 0/1 predictions of every frame of every video (gaps filled as in ABAW5).

    Returns ``(locations (N,) list of str, preds (N, 12) uint8)`` for :func:`write_abaw6`.
    """
    n_counts = [None] * len(video_names) if n_frames_per_video is None else list(n_frames_per_video)
    if not (len(per_video_frames) == len(per_video_preds) == len(n_counts) == len(video_names)):
        raise ValueError("video_names, per_video_frames, per_video_preds and n_frames_per_video must have equal length")
    locations, blocks = [], []
    for name, frames, preds, n in zip(video_names, per_video_frames, per_video_preds, n_counts):
        full = _filled(name, frames, preds, n)
        locations.extend(image_location(name, t) for t in range(1, full.shape[0] + 1))
        blocks.append(full)
    preds = np.concatenate(blocks, axis=0) if blocks else np.zeros((0, len(AU_NAMES)), dtype=np.uint8)
    return locations, preds


def write_abaw6(path: str, image_locations: Sequence[str], preds) -> str:
    """Write an ABAW6+ ``predictions.txt``: header, then ``location,v1,...,v12`` per row.

    Args:
        path: the file to write (a folder means ``<folder>/predictions.txt``).
        image_locations: N strings like ``'video/00001.jpg'`` (no commas).
        preds: (N, 12) 0/1 predictions.

    Returns:
        The path written.
    """
    if os.path.isdir(path):
        path = os.path.join(path, ABAW6_FILENAME)
    locs = [str(x) for x in image_locations]
    p = _check_binary(preds, path) if len(locs) else np.zeros((0, len(AU_NAMES)), dtype=np.uint8)
    if p.shape[0] != len(locs):
        raise ValueError(f"{len(locs)} image locations but {p.shape[0]} prediction rows")
    for loc in locs:
        if not loc or "," in loc or "\n" in loc:
            raise ValueError(f"invalid image location {loc!r}")
    if len(set(locs)) != len(locs):
        raise ValueError("image locations must be unique")
    atomic_write_bytes(path, (ABAW6_HEADER + "\n").encode("ascii") + _rows_bytes(p, locs))
    return path


def _read_abaw6_lines(path: str) -> List[str]:
    lines = _read_lines(path)
    if not lines or lines[0].strip().replace(" ", "") != ABAW6_HEADER:
        got = lines[0].strip() if lines else "an empty file"
        raise ValueError(f"{path}:1: expected the header {ABAW6_HEADER!r}, got {got!r}")
    return lines[1:]


def read_abaw6(path: str) -> Tuple[List[str], np.ndarray]:
    """Read a ``predictions.txt`` -> ``(image locations (N,), preds (N, 12) int8)``."""
    rows = [ln.split(",") for ln in _read_abaw6_lines(path)]
    locations = [r[0].strip() for r in rows]
    for i, loc in enumerate(locations):
        if not loc:
            raise ValueError(f"{path}:{i + 2}: empty image location")
    return locations, _parse_values([r[1:] for r in rows], path, 2, ("0", "1"))


def read_abaw6_locations(path: str) -> List[str]:
    """The image locations (first column) of an ABAW6 file or of the organisers' template."""
    return [ln.split(",", 1)[0].strip() for ln in _read_abaw6_lines(path)]


# --------------------------------------------------------------------------- frame counts, templates
def read_frame_counts(path: str) -> Dict[str, int]:
    """``{video: number of frames}`` from a CSV of ``video,frames`` rows (an optional header line,
    ``#`` comments and blank lines are skipped); a malformed row is an error naming file and line."""
    counts = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        for line_no, row in enumerate(csv.reader(f), start=1):
            if not row or row[0].startswith("#") or (line_no == 1 and not row[-1].strip().isdigit()):
                continue
            if len(row) != 2 or not row[1].strip().isdigit():
                raise ValueError(f"{path}:{line_no}: expected 'video,frames', got {','.join(row)!r}")
            counts[row[0].strip()] = int(row[1])
    return counts


def order_by_template(locations: Sequence[str], preds, template: str) -> Tuple[List[str], np.ndarray]:
    """The rows of ``(locations (N,), preds (N, 12))`` in the order of the organisers' ``template`` file.

    Every template location needs a prediction (else an error naming the file and a few of them);
    predicted locations the template does not list are left out.
    """
    order = {loc: i for i, loc in enumerate(locations)}
    wanted = read_abaw6_locations(template)
    missing = [loc for loc in wanted if loc not in order]
    if missing:
        raise ValueError(f"{template}: {len(missing)} image locations have no prediction, e.g. {missing[:3]}")
    return wanted, np.asarray(preds)[[order[loc] for loc in wanted]]


def write_submission(out: str, fmt: str, video_ids, frames, preds, frame_counts: Optional[Dict[str, int]] = None,
                     template: Optional[str] = None) -> dict:
    """Write an ABAW submission from per-frame predictions.

    Args:
        out: ``abaw5``: the folder of ``<video>.txt`` files; ``abaw6``: ``predictions.txt`` (a
            folder means ``<out>/predictions.txt``).
        fmt: ``'abaw5'`` or ``'abaw6'``.
        video_ids: (N,) video name of each frame; frames: (N,) 1-based frame numbers;
            preds: (N, 12) 0/1 decisions. Videos keep the order of their first frame.
        frame_counts: ``{video: frames}`` (:func:`read_frame_counts`); other videos end at their
            last predicted frame. Frames without a prediction get the nearest frame's.
        template: ``abaw6``: the organisers' file whose image locations set the rows and their order.

    Returns:
        ``{'paths': files written, 'videos': V, 'rows': frame rows written}``.
    """
    if fmt not in ("abaw5", "abaw6"):
        raise ValueError(f"unknown submission format {fmt!r}: expected 'abaw5' or 'abaw6'")
    if template is not None and fmt != "abaw6":
        raise ValueError("a template applies to the abaw6 format only")
    video_ids = np.asarray(video_ids)
    frames = np.asarray(frames)
    preds = np.asarray(preds)
    if not (len(video_ids) == len(frames) == len(preds)):
        raise ValueError(f"{len(video_ids)} video ids, {len(frames)} frame numbers and {len(preds)} prediction rows")
    names, first = np.unique(video_ids, return_index=True)
    names = [str(n) for n in names[np.argsort(first)]]
    rows_of = [np.flatnonzero(video_ids == name) for name in names]
    per_frames = [frames[r] for r in rows_of]
    per_preds = [preds[r] for r in rows_of]
    counts = frame_counts or {}
    n_frames = [int(counts.get(name, int(fr.max()) if len(fr) else 0)) for name, fr in zip(names, per_frames)]
    if fmt == "abaw5":
        paths = write_abaw5(out, names, per_frames, per_preds, n_frames)
        return {"paths": paths, "videos": len(names), "rows": int(sum(n_frames))}
    locations, rows = abaw6_rows(names, per_frames, per_preds, n_frames)
    if template:
        locations, rows = order_by_template(locations, rows, template)
    path = write_abaw6(out, locations, rows)
    return {"paths": [path], "videos": len(names), "rows": len(locations)}
