"""One's own videos in the ABAW layout: ``ROOT/cropped_aligned/<video>/<k:05d>.jpg`` aligned crops.

``prepare_video(path, root, detector)`` runs the inference alignment (ArcFace template, 112x112 by
default) on every (or every (skip_frames+1)-th) frame and writes frame k's crop as ``<k:05d>.jpg``
(k = the video's 1-based frame number, kept when frames are skipped; frames without a face have
no file, as in Aff-Wild2). ``<video>`` is the file name without extension; with ``all_faces`` each
tracked face gets its own folder ``<video>_face<id>``. Optionally an annotation template
``ROOT/annotations/AU_Detection_Challenge/<split>/<video>.txt`` is written: the ABAW header and one
``-1`` row per frame of the video (line k+1 = frame k), ready to be filled with 0/1.
"""
from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from typing import Dict, Optional

import cv2

from ..constants import ABAW_HEADER, NUM_AUS
from ..data.abaw import FRAME_FORMAT, IMAGE_SUBDIR, annotation_dir
from ..fileio import atomic_write_text
from .face import FaceDetector
from .sources import SourceError, VideoSource
from .stream import iter_faces
from .tracking import IoUTracker

CROP_NAME = re.compile(r"^\d{5}\.jpg$")


@dataclass
class PrepareStats:
    video: str
    frames_total: int = 0  # frames in the video (all decoded, skipped ones included)
    frames_processed: int = 0  # frames run through the detector
    frames_with_face: int = 0
    crops_written: Dict[str, int] = field(default_factory=dict)  # folder name -> crops

    @property
    def face_rate(self) -> float:
        return self.frames_with_face / self.frames_processed if self.frames_processed else 0.0


def video_name(path: str) -> str:
    """``<video>`` of the layout: the file name without its extension."""
    return os.path.splitext(os.path.basename(path))[0]


def _clear_crops(folder: str) -> None:
    for path in glob.glob(os.path.join(folder, "*.jpg")):
        if CROP_NAME.match(os.path.basename(path)):
            os.remove(path)


def _write_jpeg(path: str, bgr, quality: int) -> None:
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise OSError(f"{path}: JPEG encoding failed")
    data.tofile(path)


def prepare_video(path: str, root: str, detector: FaceDetector, skip_frames: int = 0, size: int = 112,
                  all_faces: bool = False, quality: int = 95, overwrite: bool = False,
                  annotation_split: Optional[str] = None, progress: bool = True) -> PrepareStats:
    """Write the aligned crops of one video under ``root`` (see module doc) and return counts.

    Raises :class:`SourceError` for an unusable video and FileExistsError when the video's crop
    folder already holds crops and ``overwrite`` is False (with ``overwrite`` they are replaced).
    """
    from tqdm import tqdm

    source = VideoSource(path, skip_frames=skip_frames)
    name = video_name(path)
    crops_root = os.path.join(root, IMAGE_SUBDIR)
    main_dir = os.path.join(crops_root, name)
    existing = [d for d in [main_dir] + glob.glob(os.path.join(crops_root, glob.escape(name) + "_face*"))
                if os.path.isdir(d) and any(CROP_NAME.match(f) for f in os.listdir(d))]
    if existing and not overwrite:
        raise FileExistsError(f"{existing[0]}: already holds crops; pass overwrite=True (--overwrite) to replace them")
    for folder in existing:
        _clear_crops(folder)

    stats = PrepareStats(video=name)
    bar = tqdm(total=source.expected_frames, desc=name, unit="frame", disable=not progress, leave=False)
    tracker = IoUTracker() if all_faces else None
    last_frame = 0
    try:
        for record in iter_faces(source, detector, all_faces=all_faces, tracker=tracker, size=size,
                                 rgb=False):
            if record.frame_idx != last_frame:
                last_frame = record.frame_idx
                stats.frames_processed += 1
                stats.frames_with_face += record.success
                bar.update(1)
            if not record.success:
                continue
            folder_name = f"{name}_face{record.face_id}" if all_faces else name
            folder = os.path.join(crops_root, folder_name)
            if folder_name not in stats.crops_written:
                os.makedirs(folder, exist_ok=True)
                stats.crops_written[folder_name] = 0
            _write_jpeg(os.path.join(folder, FRAME_FORMAT.format(record.frame_idx)), record.crop, quality)
            stats.crops_written[folder_name] += 1
    finally:
        bar.close()
    stats.frames_total = source.frames_seen
    if annotation_split:
        ann_dir = annotation_dir(root, annotation_split)
        row = ",".join(["-1"] * NUM_AUS)
        for folder_name in (stats.crops_written or {name: 0}):
            atomic_write_text(os.path.join(ann_dir, folder_name + ".txt"),
                              ABAW_HEADER + "\n" + "".join(row + "\n" for _ in range(stats.frames_total)))
    return stats


def prepare_task(path: str, root: str, detector_name: str, detector_options: dict, kwargs: dict,
                 detector_memory_mb: float = 32.0) -> dict:
    """One video of a corpus run (a Ray task or a loop step): :func:`prepare_video` with a detector made by
    name (in a worker process replaced every ``detector_memory_mb`` MB of growth, see
    :mod:`~.detector_worker`; 0: in this process), its :class:`PrepareStats` as a dict, or
    ``{'error': ...}``; a finished video is recorded under ``<root>/.complete/``
    (:func:`~.resume.mark_complete`) so that reruns skip it."""
    from .detector_worker import WorkerDetector
    from .face import create_detector
    from .resume import mark_complete

    if detector_memory_mb:
        detector = WorkerDetector(detector_name, budget_mb=detector_memory_mb, **detector_options)
    else:
        detector = create_detector(detector_name, **detector_options)
    try:
        stats = prepare_video(path, root, detector, **kwargs)
    except (SourceError, FileExistsError, OSError) as exc:
        return {"error": str(exc)}
    finally:
        getattr(detector, "close", lambda: None)()
    mark_complete(root, stats.video, source=path, frames=stats.frames_total, crops=stats.crops_written)
    return {"video": stats.video, "frames_total": stats.frames_total, "frames_processed": stats.frames_processed,
            "frames_with_face": stats.frames_with_face, "face_rate": stats.face_rate,
            "crops_written": stats.crops_written}


__all__ = ["PrepareStats", "prepare_task", "prepare_video", "video_name", "SourceError"]
