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
* ``detect_every=N`` (> 1) runs the detector on one frame in N and moves the 5 landmarks of the
  chosen face(s) in between with optical flow (:class:`LandmarkFlowTracker`); a lost track or a
  cut re-detects at once. Tracked faces keep the confidence of their last detection and have
  ``detected`` False.
* ``timings``: a dict that receives the seconds spent per stage (``decode``, ``detect``,
  ``track``, ``align``).

:func:`prefetch` runs any such iterator in a producer thread, ``depth`` items ahead (decoding and
detection overlap the network, which releases the GIL); order, exceptions and Ctrl+C are kept.
"""
from __future__ import annotations

import queue
import threading
import time
from contextlib import contextmanager
from typing import Iterable, Iterator, NamedTuple, Optional

import cv2
import numpy as np

from .align import align_face, bgr_to_rgb
from .face import Face, FaceDetector, as_bgr, largest_face
from .sources import Frame
from .tracking import IoUTracker, LandmarkFlowTracker


class FaceRecord(NamedTuple):
    frame_idx: int
    timestamp: float
    face_id: int
    confidence: float
    success: int  # 1 = a face was found and aligned, 0 = none
    crop: Optional[np.ndarray]  # (size, size, 3) uint8, RGB unless rgb=False; None when success == 0
    face: Optional[Face]  # detection in frame pixels (box, score, landmarks), None when success == 0
    image: np.ndarray  # the whole frame, (H, W, 3) uint8 BGR (shared, not copied): for overlays
    detected: bool = True  # False when the landmarks were moved by optical flow (detect_every > 1)


@contextmanager
def _timed(timings: Optional[dict], stage: str):
    if timings is None:
        yield
        return
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - t0


def moved_face(face: Face, landmarks: np.ndarray) -> Face:
    """``face`` carried to new (5, 2) ``landmarks``: box shifted with their mean and scaled with the eye distance."""
    old = face.landmarks_or_estimate()
    scale = float(np.linalg.norm(landmarks[1] - landmarks[0]) / max(np.linalg.norm(old[1] - old[0]), 1e-6))
    x, y, w, h = (float(v) for v in face.box)
    cx, cy = np.array([x + w / 2, y + h / 2]) + (landmarks.mean(0) - old.mean(0))
    box = np.array([cx - w * scale / 2, cy - h * scale / 2, w * scale, h * scale], np.float32)
    return Face(box=box, score=face.score, landmarks=np.asarray(landmarks, np.float32))


def iter_faces(frames: Iterable[Frame], detector: Optional[FaceDetector], all_faces: bool = False,
               tracker: Optional[IoUTracker] = None, size: int = 112, rgb: bool = True, detect_every: int = 1,
               flow: Optional[LandmarkFlowTracker] = None, timings: Optional[dict] = None) -> Iterator[FaceRecord]:
    """Yield :class:`FaceRecord` s for ``frames`` (see the module docstring)."""
    if detect_every < 1:
        raise ValueError(f"detect_every must be >= 1, got {detect_every}")
    if all_faces and tracker is None:
        tracker = IoUTracker()
    if detect_every > 1 and flow is None:
        flow = LandmarkFlowTracker()
    convert = bgr_to_rgb if rgb else (lambda x: x)
    frames = iter(frames)
    previous, since_detection = [], 0
    while True:
        with _timed(timings, "decode"):
            frame = next(frames, None)
        if frame is None:
            return
        image = as_bgr(frame.image)
        if detector is None:
            crop = image if image.shape[:2] == (size, size) else cv2.resize(image, (size, size),
                                                                            interpolation=cv2.INTER_AREA)
            h, w = image.shape[:2]
            face = Face(box=np.array([0, 0, w, h], np.float32), score=1.0)
            yield FaceRecord(frame.index, frame.timestamp, 0, 1.0, 1, convert(crop), face, image)
            continue
        faces, detected = None, False
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if detect_every > 1 else None
        if detect_every > 1 and flow.active and since_detection < detect_every:
            with _timed(timings, "track"):
                moved = flow.track(grey)
            if moved is not None:
                faces = [moved_face(f, lm) for f, lm in zip(previous, moved)]
                since_detection += 1
        if faces is None:
            with _timed(timings, "detect"):
                faces = detector.detect(image)
            detected, since_detection = True, 1
        if all_faces:
            ids = tracker.update(np.array([f.box for f in faces], np.float32).reshape(-1, 4))
            chosen = sorted(zip(ids, faces), key=lambda pair: pair[0])
        else:
            best = largest_face(faces)
            chosen = [] if best is None else [(0, best)]
        if detect_every > 1 and detected:
            previous = [face for _, face in chosen]
            flow.start(grey, [face.landmarks_or_estimate() for face in previous])
        elif detect_every > 1:
            previous = [face for _, face in chosen]
        if not chosen:
            yield FaceRecord(frame.index, frame.timestamp, 0, 0.0, 0, None, None, image)
            continue
        for face_id, face in chosen:
            with _timed(timings, "align"):
                try:
                    crop = align_face(image, face.landmarks_or_estimate(), size)
                except ValueError:  # degenerate landmarks: fall back to the box
                    crop = align_face(image, Face(face.box, face.score).landmarks_or_estimate(), size)
                crop = convert(crop)
            yield FaceRecord(frame.index, frame.timestamp, int(face_id), float(face.score), 1, crop, face, image,
                             detected)


_DONE = object()


def prefetch(items: Iterable, depth: int = 16, name: str = "mindface-au-producer") -> Iterator:
    """Iterate ``items`` in a producer thread, up to ``depth`` items ahead, yielding them in order.

    An exception raised by ``items`` is raised here (with its traceback) after the items before it;
    closing this generator early (``break``, Ctrl+C, an error in the consumer) stops the producer
    after the item it is working on.
    """
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for item in items:
                if not put((item, None)):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            put((_DONE, exc))
            return
        put((_DONE, None))

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item, error = q.get()
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=30)  # the item in progress (a webcam read may block longer: daemon)
