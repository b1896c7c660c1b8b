"""From frames to aligned face crops: detection, choice of face(s), tracking and alignment, lazily.

``iter_faces(frames, detector, all_faces=False, tracker=None)`` yields one :class:`FaceRecord`
per face and frame (per frame only, with ``success=0``, when a frame has no face), in frame
order, holding one frame at a time. The first six fields are the ones a CSV row needs:

``frame_idx, timestamp, face_id, confidence, success, crop = record[:6]``

* the largest face only (``face_id`` 0) by default; with ``all_faces=True`` every face, with ids
  from ``tracker`` (an :class:`IoUTracker`, made if None), records of a frame in id order;
* ``crop``: (size, size, 3) uint8 aligned to the ArcFace template, **RGB** by default (what
  ``AUPredictor.predict`` takes; ``rgb=False`` keeps OpenCV's BGR, e.g. for ``cv2.imwrite``);
  None when ``success`` is 0. Faces without landmarks (Haar) are aligned from landmarks
  estimated from the box.
* a frame without a face gives ``face_id=0, confidence=0.0, success=0, crop=None, face=None``
  (OpenFace's convention);
* ``detector=None`` means the frames already are aligned crops (``--aligned``): each frame is
  resized to size x size and is one face, ``face_id`` 0, ``confidence`` 1.0.
"""
from __future__ import annotations

from typing import Iterable, Iterator, NamedTuple, Optional

import cv2
import numpy as np

from .align import align_face, bgr_to_rgb
from .face import Face, FaceDetector, as_bgr, largest_face
from .sources import Frame
from .tracking import IoUTracker


class FaceRecord(NamedTuple):
    frame_idx: int
    timestamp: float
    face_id: int
    confidence: float
    success: int  # 1 = a face was found and aligned, 0 = none
    crop: Optional[np.ndarray]  # (size, size, 3) uint8, RGB unless rgb=False; None when success == 0
    face: Optional[Face]  # detection in frame pixels (box, score, landmarks), None when success == 0
    image: np.ndarray  # the whole frame, (H, W, 3) uint8 BGR (shared, not copied): for overlays


def iter_faces(frames: Iterable[Frame], detector: Optional[FaceDetector], all_faces: bool = False,
               tracker: Optional[IoUTracker] = None, size: int = 112, rgb: bool = True) -> Iterator[FaceRecord]:
    """Yield :class:`FaceRecord` s for ``frames`` (see the module docstring)."""
    if all_faces and tracker is None:
        tracker = IoUTracker()
    convert = bgr_to_rgb if rgb else (lambda x: x)
    for frame in frames:
        image = as_bgr(frame.image)
        if detector is None:
            crop = image if image.shape[:2] == (size, size) else cv2.resize(image, (size, size),
                                                                            interpolation=cv2.INTER_AREA)
            h, w = image.shape[:2]
            face = Face(box=np.array([0, 0, w, h], np.float32), score=1.0)
            yield FaceRecord(frame.index, frame.timestamp, 0, 1.0, 1, convert(crop), face, image)
            continue
        faces = detector.detect(image)
        if all_faces:
            ids = tracker.update(np.array([f.box for f in faces], np.float32).reshape(-1, 4))
            chosen = sorted(zip(ids, faces), key=lambda pair: pair[0])
        else:
            best = largest_face(faces)
            chosen = [] if best is None else [(0, best)]
        if not chosen:
            yield FaceRecord(frame.index, frame.timestamp, 0, 0.0, 0, None, None, image)
            continue
        for face_id, face in chosen:
            try:
                crop = align_face(image, face.landmarks_or_estimate(), size)
            except ValueError:  # degenerate landmarks: fall back to the box
                crop = align_face(image, Face(face.box, face.score).landmarks_or_estimate(), size)
            yield FaceRecord(frame.index, frame.timestamp, int(face_id), float(face.score), 1, convert(crop), face,
                             image)
