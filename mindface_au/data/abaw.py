"""Reader of the Aff-Wild2 / ABAW AU layout into a :class:`~.index.FrameIndex`.

Layout (``root`` = the folder that holds both)::

    <root>/annotations/AU_Detection_Challenge/{Train_Set,Validation_Set}/<video>.txt
    <root>/cropped_aligned/<video>/<k:05d>.jpg          (112x112 aligned faces)

Each annotation file starts with the header ``AU1,AU2,...,AU26``; line k+1 holds frame k
(1-based): 12 values, each 0, 1 or -1 (not annotated). The reader

* drops the rows that hold a -1 and the frames whose image is missing, and counts both per video;
* accepts a UTF-8 BOM, CRLF line ends, spaces around values, trailing blank lines, videos of
  two people (``<video>_left`` / ``<video>_right``, each its own video and image folder) and
  image folders below intermediate folders at any depth, ``cropped_aligned/<any folders>/<video>``
  and ``cropped_aligned/<any folders>/cropped_aligned/<video>`` (as archives unpack; see
  :func:`video_folders`);
* raises :class:`AnnotationError` naming the file and line for a wrong header, a wrong number
  of values or a value other than -1/0/1; with ``strict=False`` it skips that video instead and
  reports it in ``index.report.skipped``.

Parsing is vectorised (numpy over the bytes of each file) and the finished index is cached as
one ``.npz`` (:mod:`.index_cache`: keyed on the annotation files' names, sizes and modification
times and on where each video's image folder is, current while those folders keep their times).
"""
from __future__ import annotations

import codecs
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..constants import ABAW_HEADER, AU_NAMES, NUM_AUS
from .index import FrameIndex, ReadReport, concat_indexes
from .index_cache import IndexCache

ANNOTATION_SUBDIR = os.path.join("annotations", "AU_Detection_Challenge")
IMAGE_SUBDIR = "cropped_aligned"
SPLITS = ("Train_Set", "Validation_Set")
FRAME_FORMAT = "{:05d}.jpg"


class AnnotationError(ValueError):
    """A malformed annotation or list file; the message starts with ``file:line:``."""

    def __init__(self, path: str, line: int, message: str):
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line = path, line


class NotAbawLayoutError(FileNotFoundError):
    """The root does not hold the ABAW AU layout."""


# ------------------------------------------------------------------------------------ parsing

_ALLOWED = np.zeros(256, dtype=bool)
_ALLOWED[list(b"-0123456789,\n")] = True  # other digits get a per-value message
_NL, _COMMA, _MINUS, _ZERO, _ONE = 10, 44, 45, 48, 49


def _line_of_offset(a: np.ndarray, pos: int) -> int:
    """0-based line number of byte ``pos`` in ``a``."""
    return int(np.count_nonzero(a[:pos] == _NL))


def parse_values(body: bytes, n_cols: int, path: str, line_numbers: Optional[np.ndarray] = None,
                 first_line: int = 2) -> np.ndarray:
    """Parse lines of ``n_cols`` comma-separated values in {-1, 0, 1} -> (R, n_cols) int8.

    ``body`` has no header, no ``\\r``, no spaces and no trailing newline. Error messages name
    ``path`` and the 1-based line: ``line_numbers[r]`` for row r if given, else ``first_line + r``.
    """
    def lineno(row: int) -> int:
        return int(line_numbers[row]) if line_numbers is not None else first_line + row

    if not body:
        return np.zeros((0, n_cols), dtype=np.int8)
    a = np.frombuffer(body, dtype=np.uint8)
    bad = ~_ALLOWED[a]
    if bad.any():
        pos = int(np.argmax(bad))
        row = _line_of_offset(a, pos)
        ch = bytes([a[pos]]).decode("latin-1")
        raise AnnotationError(path, lineno(row), f"invalid character {ch!r}: values must be -1, 0 or 1")
    nl = np.flatnonzero(a == _NL)
    starts = np.concatenate([[0], nl + 1])
    ends = np.concatenate([nl, [len(a)]])
    comma_cum = np.concatenate([[0], np.cumsum(a == _COMMA)])
    n_values = comma_cum[ends] - comma_cum[starts] + 1
    wrong = np.flatnonzero(n_values != n_cols)
    if len(wrong):
        row = int(wrong[0])
        got = 0 if starts[row] == ends[row] else int(n_values[row])
        what = "an empty line" if got == 0 else f"{got} values"
        raise AnnotationError(path, lineno(row), f"expected {n_cols} comma-separated values, got {what}")
    sep = np.flatnonzero((a == _NL) | (a == _COMMA))
    tok_start = np.concatenate([[0], sep + 1])
    tok_end = np.concatenate([sep, [len(a)]])
    length = tok_end - tok_start
    last = a[np.maximum(tok_end - 1, 0)]
    first = a[np.minimum(tok_start, len(a) - 1)]
    ok = ((length == 1) & ((last == _ZERO) | (last == _ONE))) | ((length == 2) & (first == _MINUS) & (last == _ONE))
    if not ok.all():
        t = int(np.argmin(ok))
        token = bytes(a[tok_start[t]:tok_end[t]]).decode("latin-1")
        col = t % n_cols
        au = f" ({AU_NAMES[col]})" if n_cols == NUM_AUS else ""
        raise AnnotationError(path, lineno(t // n_cols),
                              f"value {token!r} in column {col + 1}{au}: values must be -1, 0 or 1")
    values = (last.astype(np.int8) - _ZERO)
    values[length == 2] = -1
    return values.reshape(-1, n_cols)


def normalise_text(data: bytes) -> bytes:
    """Drop a UTF-8 BOM, carriage returns, spaces and tabs."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    return data.replace(b"\r", b"").replace(b" ", b"").replace(b"\t", b"")


def parse_annotation_bytes(data: bytes, path: str = "<bytes>") -> np.ndarray:
    """The labels of one ABAW annotation file: (frames, 12) int8 in {-1, 0, 1}; row r is frame r+1."""
    data = normalise_text(data)
    nl = data.find(b"\n")
    header, body = (data, b"") if nl < 0 else (data[:nl], data[nl + 1:])
    if header.decode("utf-8", "replace") != ABAW_HEADER:
        shown = header[:120].decode("utf-8", "replace")
        raise AnnotationError(path, 1, f"expected the header {ABAW_HEADER!r}, got {shown!r}")
    return parse_values(body.rstrip(b"\n"), NUM_AUS, path, first_line=2)


def parse_annotation_file(path: str) -> np.ndarray:
    with open(path, "rb") as f:
        return parse_annotation_bytes(f.read(), path)


# ------------------------------------------------------------------------------------- images


def video_folders(root: str) -> Dict[str, List[str]]:
    """Every image folder below ``<root>/cropped_aligned``, at any depth: ``{folder name: [paths]}``.

    A folder that directly holds a ``.jpg`` is a video's image folder and is not searched further;
    any other folder is an intermediate one and is searched, so archives unpacked as
    ``cropped_aligned/<any folders>/cropped_aligned/<video>/`` or ``cropped_aligned/<any folders>/<video>/``
    are found as well as the plain ``cropped_aligned/<video>/``. Hidden folders (``.name``) are
    skipped. Paths of one name are listed shallowest first, then in name order. Empty when
    ``<root>/cropped_aligned`` is absent.
    """
    top = os.path.join(root, IMAGE_SUBDIR)
    found: Dict[str, List[str]] = {}
    level, seen = [top] if os.path.isdir(top) else [], set()
    while level:  # breadth first: shallower folders are listed first
        deeper = []
        for folder in level:
            real = os.path.realpath(folder)
            if real in seen:  # a symlink loop
                continue
            seen.add(real)
            subdirs, has_images = [], False
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    if folder != top and entry.name.endswith(".jpg") and entry.is_file():
                        has_images = True
                        break
                    if entry.is_dir():
                        subdirs.append(entry.path)
            if has_images:
                found.setdefault(os.path.basename(folder), []).append(folder)
            else:
                deeper.extend(sorted(subdirs))
        level = deeper
    return found


def find_video_dirs(root: str, videos: Sequence[str]) -> List[Optional[str]]:
    """The image folder of each of ``videos`` below ``<root>/cropped_aligned`` (see :func:`video_folders`),
    None where a video has none. A video found in several folders uses the shallowest (with a warning)."""
    folders = video_folders(root)
    doubles = [v for v in videos if len(folders.get(v, ())) > 1]
    if doubles:
        import warnings

        shown = "; ".join(f"{v}: {', '.join(os.path.relpath(d, root) for d in folders[v])}" for v in doubles[:3])
        warnings.warn(f"{root}: {len(doubles)} videos have several image folders, the first of each is used "
                      f"({shown})", stacklevel=2)
    return [folders[v][0] if v in folders else None for v in videos]


def existing_frames(video_dir: Optional[str], ext: str = ".jpg") -> np.ndarray:
    """Sorted frame numbers that have an image ``<k:05d>.jpg`` in ``video_dir`` (empty if None)."""
    if video_dir is None:
        return np.zeros(0, dtype=np.int64)
    n_ext = len(ext)
    names = [n for n in os.listdir(video_dir) if n.endswith(ext)]
    width = 5 + n_ext  # the usual 00001.jpg: parsed as one numpy array
    usual = [n for n in names if len(n) == width]
    nums = np.zeros(0, dtype=np.int64)
    if usual:
        digits = np.frombuffer("".join(usual).encode("ascii", "replace"), np.uint8).reshape(-1, width)[:, :5]
        digits = digits.astype(np.int64) - 48
        ok = ((digits >= 0) & (digits <= 9)).all(1)
        nums = digits[ok] @ np.array([10000, 1000, 100, 10, 1], dtype=np.int64)
        names = [n for n, good in zip(usual, ok) if not good] + [n for n in names if len(n) != width]
    rest = [int(n[:-n_ext]) for n in names if n[:-n_ext].isdigit()]
    return np.sort(np.concatenate([nums, np.asarray(rest, dtype=np.int64)]))


# ------------------------------------------------------------------------------------- reader


def annotation_dir(root: str, split: str) -> str:
    return os.path.join(root, ANNOTATION_SUBDIR, split)


def is_abaw_root(root: str, splits=SPLITS) -> bool:
    """True when ``root`` has an annotation folder with at least one ``.txt`` for any of ``splits``."""
    for split in splits:
        d = annotation_dir(root, split)
        if os.path.isdir(d) and any(n.endswith(".txt") for n in os.listdir(d)):
            return True
    return False


def list_splits(root: str) -> List[str]:
    d = os.path.join(root, ANNOTATION_SUBDIR)
    if not os.path.isdir(d):
        return []
    return sorted(n for n in os.listdir(d) if os.path.isdir(os.path.join(d, n)))


def read_abaw_split(root: str, split: str, strict: bool = True, cache_dir: Optional[str] = None,
                    check_images: bool = True, use_cache: bool = True, progress: bool = False) -> FrameIndex:
    """Index of one split (``Train_Set``, ``Validation_Set`` or any folder under the annotations).

    Args:
        root: the ABAW root (holds ``annotations/`` and ``cropped_aligned/``); ``~`` is expanded.
        split: folder name under ``annotations/AU_Detection_Challenge``.
        strict: a malformed annotation file raises :class:`AnnotationError` (True) or its video is
            skipped and named in ``index.report.skipped`` (False).
        cache_dir: folder of the index cache (default ``<root>/.index_cache``; :mod:`.index_cache`).
        check_images: drop frames whose image is absent (lists each image folder once). False
            keeps every annotated row (for annotation-only uses such as the scale benchmark).
        use_cache: read/write the cache.
        progress: a tqdm bar over the annotation files.

    Returns:
        a :class:`FrameIndex` with frames sorted by video name, then frame number.
    """
    root = os.path.abspath(os.path.expanduser(root))
    ann_dir, files = _annotation_files(root, split, check_images)
    videos = [n[:-4] for n in files]
    video_dirs = find_video_dirs(root, videos) if check_images else [None] * len(videos)
    cache = None
    if use_cache:
        rel_dirs = [_relative_video_dir(root, v, d) for v, d in zip(videos, video_dirs)]
        cache = IndexCache(cache_dir, root, "abaw", split, [os.path.join(ann_dir, n) for n in files],
                           [split, strict, rel_dirs], check_images)
        cached = cache.load()
        if cached is not None:
            return cached
    index = _index_videos(root, split, ann_dir, list(zip(videos, files, video_dirs)), strict, check_images, progress)
    if cache is not None:
        cache.save(index)
    return index


def _annotation_files(root: str, split: str, check_images: bool) -> Tuple[str, List[str]]:
    """``(annotation folder, sorted <video>.txt names)`` of a split; :class:`NotAbawLayoutError` when absent."""
    ann_dir = annotation_dir(root, split)
    if not os.path.isdir(ann_dir):
        found = list_splits(root)
        hint = f" (splits found: {found})" if found else ""
        raise NotAbawLayoutError(f"{root}: not an ABAW AU layout: no folder {os.path.relpath(ann_dir, root)}{hint}")
    files = sorted(n for n in os.listdir(ann_dir) if n.endswith(".txt"))
    if not files:
        raise NotAbawLayoutError(f"{ann_dir}: no annotation files (<video>.txt)")
    if check_images and not os.path.isdir(os.path.join(root, IMAGE_SUBDIR)):
        raise NotAbawLayoutError(f"{root}: not an ABAW AU layout: no image folder {IMAGE_SUBDIR}/")
    return ann_dir, files


def _relative_video_dir(root: str, video: str, video_dir: Optional[str]) -> str:
    """A video's image folder relative to ``root``, '/' separated (``cropped_aligned/<video>`` when it has none)."""
    rel = os.path.relpath(video_dir, root) if video_dir else os.path.join(IMAGE_SUBDIR, video)
    return rel.replace(os.sep, "/")


def _usable_rows(labels: np.ndarray, video_dir: Optional[str], check_images: bool) -> Tuple[np.ndarray, int, int]:
    """``(keep (R,) bool, unannotated rows, missing images)`` of one video's (R, 12) labels.

    A row is kept when it holds no -1 and, with ``check_images``, its image exists.
    """
    n = len(labels)
    keep = (labels >= 0).all(axis=1)
    n_unannotated = n - int(keep.sum())
    n_missing = 0
    if check_images:
        have = existing_frames(video_dir)
        present = np.zeros(n, dtype=bool)
        have = have[(have >= 1) & (have <= n)]
        present[have - 1] = True
        n_missing = int((keep & ~present).sum())
        keep &= present
    return keep, n_unannotated, n_missing


def _index_videos(root: str, split: str, ann_dir: str, videos: List[Tuple[str, str, Optional[str]]], strict: bool,
                  check_images: bool, progress: bool) -> FrameIndex:
    """Parse each ``(video, annotation file name, image folder)`` and join the usable rows into one index."""
    kept_names, kept_dirs, vids, frames, labels = [], [], [], [], []
    rows, unannotated, missing, skipped = [], [], [], {}
    if progress:
        from tqdm import tqdm

        videos = tqdm(videos, desc=f"index {split}", unit="video")
    for video, name, vdir in videos:
        try:
            lab = parse_annotation_file(os.path.join(ann_dir, name))
        except AnnotationError as exc:
            if strict:
                raise
            skipped[video] = str(exc)
            continue
        keep, n_unannotated, n_missing = _usable_rows(lab, vdir, check_images)
        fr = np.flatnonzero(keep).astype(np.int32) + 1
        vids.append(np.full(len(fr), len(kept_names), dtype=np.int32))
        kept_names.append(video)
        kept_dirs.append(_relative_video_dir(root, video, vdir))
        frames.append(fr)
        labels.append(lab[keep])
        rows.append(len(lab))
        unannotated.append(n_unannotated)
        missing.append(n_missing)
    report = ReadReport(kept_names, np.asarray(rows, np.int64), np.asarray(unannotated, np.int64),
                        np.asarray(missing, np.int64), skipped)
    return FrameIndex(root, kept_names, kept_dirs, [FRAME_FORMAT] * len(kept_names),
                      np.concatenate(vids) if vids else np.zeros(0, np.int32),
                      np.concatenate(frames) if frames else np.zeros(0, np.int32),
                      np.concatenate(labels) if labels else np.zeros((0, NUM_AUS), np.int8),
                      report, source=f"{root} [{split}]")


def read_abaw(root: str, splits: Tuple[str, ...] = SPLITS, **kwargs) -> FrameIndex:
    """Several splits joined into one index (e.g. both, for k-fold splitting)."""
    return concat_indexes([read_abaw_split(root, s, **kwargs) for s in splits])
