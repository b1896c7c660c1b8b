"""The frame-index cache: one ``.npz`` per read, with one staleness rule for every reader.

A reader (:func:`~.abaw.read_abaw_split`, :func:`~.listfile.read_list_file`) describes its read
as an :class:`IndexCache` and asks :meth:`IndexCache.load` before parsing, :meth:`IndexCache.save`
after. The rule:

1. the file name carries a key over the reader's name, its options, and the name, size and
   modification time of every annotation file it reads (the README's "keyed on the annotation
   files' sizes and times"): a changed annotation or list file, or other options, is another key;
2. when the reader checks that images exist, the cache also records the modification time of
   every image folder the index names (:attr:`FrameIndex.video_dirs`, absent ones as None) and
   is used only while they are unchanged: adding or removing an image changes its folder's time.

A damaged or foreign cache file is rebuilt, never trusted; a cache that cannot be written (a
read-only dataset folder) only warns. Files are written through :func:`mindface_au.fileio.atomic_path`.
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from typing import Dict, Optional, Sequence

import numpy as np

from ..fileio import atomic_path
from .index import FrameIndex, ReadReport

CACHE_VERSION = 5
DEFAULT_SUBDIR = ".index_cache"  # below the image root when no cache folder is given


def file_signature(path: str) -> list:
    """``[name, size, mtime_ns]`` of a file: what rule 1 keys on."""
    st = os.stat(path)
    return [os.path.basename(path), st.st_size, st.st_mtime_ns]


def folder_mtimes(index: FrameIndex) -> Dict[str, Optional[int]]:
    """``{video_dir: mtime_ns or None}`` of every image folder of ``index``: what rule 2 compares."""
    out = {}
    for d in index.video_dirs:
        full = os.path.join(index.image_root, d)
        out[d] = os.stat(full).st_mtime_ns if os.path.isdir(full) else None
    return out


class IndexCache:
    """Where the index of one read is cached, and whether a cached copy is still current.

    Args:
        folder: the cache folder (``~`` expanded); None: ``<image_root>/.index_cache``.
        image_root: the image root of the read.
        reader: the reader's name (``"abaw"``, ``"list"``), the start of the file name.
        name: what was read (split or list-file name), also in the file name.
        annotation_files: every annotation file the read parses (rule 1).
        options: everything else the index depends on (JSON-able).
        check_images: the index depends on which images exist (rule 2).
    """

    def __init__(self, folder: Optional[str], image_root: str, reader: str, name: str,
                 annotation_files: Sequence[str], options: Sequence, check_images: bool):
        key_parts = [CACHE_VERSION, reader, image_root, list(options), check_images,
                     [file_signature(p) for p in annotation_files]]
        text = json.dumps(key_parts, sort_keys=True, default=str)
        key = hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]
        folder = os.path.expanduser(folder) if folder else os.path.join(image_root, DEFAULT_SUBDIR)
        self.path = os.path.join(folder, f"{reader}-{name}-{key}.npz")
        self.check_images = check_images

    def load(self) -> Optional[FrameIndex]:
        """The cached index when it exists, reads back and is current (rules 1 and 2), else None."""
        if not os.path.isfile(self.path):
            return None
        try:
            index, stamps = _read_npz(self.path)
        except Exception:  # a damaged or foreign cache file is rebuilt, never trusted
            return None
        if self.check_images and stamps != folder_mtimes(index):
            return None
        return index

    def save(self, index: FrameIndex) -> None:
        """Write ``index`` with its image folders' times (atomically); warn when the folder is read-only."""
        stamps = folder_mtimes(index) if self.check_images else {}
        try:
            with atomic_path(self.path) as tmp:
                with open(tmp, "wb") as f:
                    np.savez(f, **_arrays_of(index, stamps))
        except OSError as exc:  # read-only dataset folder: work without the cache
            warnings.warn(f"could not write the frame index cache {self.path}: {exc}", stacklevel=3)


def _arrays_of(index: FrameIndex, stamps: dict) -> dict:
    """The arrays of one cache file: the index's arrays, and its other fields as JSON bytes (``meta``)."""
    meta = {"image_root": index.image_root, "video_names": index.video_names, "video_dirs": index.video_dirs,
            "name_formats": index.name_formats, "source": index.source, "skipped": index.report.skipped,
            "report_videos": index.report.video_names, "au_names": list(index.au_names), "folder_mtimes": stamps}
    arrays = {"video_ids": index.video_ids, "frames": index.frames, "labels": index.labels,
              "rows": index.report.rows, "unannotated": index.report.unannotated, "missing": index.report.missing,
              "meta": np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)}
    if index.intensity is not None:
        arrays["intensity"] = index.intensity
    if index.explicit_paths is not None:
        arrays["explicit_paths"] = np.asarray(index.explicit_paths, dtype=str)
    return arrays


def _read_npz(path: str):
    """``(index, folder mtimes)`` of a cache file written by :meth:`IndexCache.save`."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(z["meta"].tobytes().decode("utf-8"))
        report = ReadReport(meta["report_videos"], z["rows"], z["unannotated"], z["missing"], meta["skipped"])
        explicit = z["explicit_paths"].astype(object) if "explicit_paths" in z.files else None
        index = FrameIndex(meta["image_root"], meta["video_names"], meta["video_dirs"], meta["name_formats"],
                           z["video_ids"], z["frames"], z["labels"], report, explicit, meta["source"],
                           from_cache=True, au_names=tuple(meta["au_names"]),
                           intensity=z["intensity"] if "intensity" in z.files else None)
    return index, meta["folder_mtimes"]
