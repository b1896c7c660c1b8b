"""Unlabelled frames in the ABAW image layout (test videos): ``<root>/cropped_aligned/<video>/<k:05d>.jpg``."""
from __future__ import annotations

import os
from typing import Optional, Sequence

import numpy as np

from ..constants import NUM_AUS
from .abaw import FRAME_FORMAT, IMAGE_SUBDIR, existing_frames, find_video_dirs, video_folders
from .index import FrameIndex, ReadReport


def read_video_list(path: str) -> list:
    """Video names, one per line (blank lines and '#' comments ignored; a trailing '.mp4'/'.avi' dropped)."""
    names = []
    with open(path, encoding="utf-8-sig") as f:
        for line in f:
            name = line.strip()
            if name and not name.startswith("#"):
                names.append(os.path.splitext(name)[0] if name.lower().endswith((".mp4", ".avi")) else name)
    if not names:
        raise ValueError(f"{path}: no video names")
    return names


def read_image_folders(root: str, videos: Optional[Sequence[str]] = None) -> FrameIndex:
    """Every ``<k:05d>.jpg`` of ``videos`` (default: every folder) under ``root``'s ``cropped_aligned``.

    Labels are -1 (not annotated). Frames keep their numbers (gaps where images are missing).
    Image folders may sit below intermediate folders (:func:`~.abaw.video_folders`). A named
    video without a folder, or without any image, is an error naming it.
    """
    root = os.path.abspath(os.path.expanduser(root))
    if not os.path.isdir(os.path.join(root, IMAGE_SUBDIR)):
        raise FileNotFoundError(f"{root}: no {IMAGE_SUBDIR}/ folder (expected {IMAGE_SUBDIR}/<video>/00001.jpg)")
    if videos is None:
        videos = sorted(video_folders(root))
        if not videos:
            raise FileNotFoundError(f"{root}: no image folders under {IMAGE_SUBDIR}/ (<video>/00001.jpg)")
    names, dirs, vids, frames = [], [], [], []
    for video, vdir in zip(videos, find_video_dirs(root, videos)):
        if vdir is None:
            raise FileNotFoundError(f"{root}: video {video!r} has no folder under {IMAGE_SUBDIR}/")
        have = existing_frames(vdir)
        if not len(have):
            raise FileNotFoundError(f"{vdir}: no <k:05d>.jpg images")
        vids.append(np.full(len(have), len(names), np.int32))
        frames.append(have.astype(np.int32))
        names.append(video)
        dirs.append(os.path.relpath(vdir, root).replace(os.sep, "/"))
    n = int(sum(len(f) for f in frames))
    counts = np.array([len(f) for f in frames], np.int64)
    report = ReadReport(names, counts, np.zeros(len(names), np.int64), np.zeros(len(names), np.int64))
    return FrameIndex(root, names, dirs, [FRAME_FORMAT] * len(names),
                      np.concatenate(vids) if vids else np.zeros(0, np.int32),
                      np.concatenate(frames) if frames else np.zeros(0, np.int32),
                      np.full((n, NUM_AUS), -1, np.int8), report, source=f"{root} [images]")
