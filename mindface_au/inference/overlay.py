"""Overlays: the face box, its id and the active AUs drawn on a frame, and a video writer for them.

``draw_face(image, box, face_id, probs, decisions)`` draws in place on a (H, W, 3) uint8 BGR frame
(and returns it): the box, ``#id`` above it, and one line ``AUxx 0.87`` per active AU (decision 1)
to the right of the box (to the left when there is no room); with ``intensity`` (a model with the
intensity head) the line also shows the AU's 0-5 intensity: ``AUxx 0.87 r3.2``. ``OverlayVideoWriter`` writes frames
to a video file, opened on the first frame (its size fixes the video's), refusing with an error
naming the file when OpenCV cannot write it.
"""
from __future__ import annotations

import os
from typing import Optional, Sequence

import cv2
import numpy as np

from ..constants import AU_NAMES

BOX_COLOUR = (0, 200, 0)  # BGR
TEXT_COLOUR = (255, 255, 255)
NO_FACE_COLOUR = (0, 0, 255)


def _text(image, text, org, scale, colour, thickness):
    """Text with a dark outline so that it reads on any background."""
    cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
    cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness, cv2.LINE_AA)


def draw_face(image: np.ndarray, box: Sequence[float], face_id: int = 0, probs: Optional[Sequence[float]] = None,
              decisions: Optional[Sequence[int]] = None, au_names: Sequence[str] = AU_NAMES,
              landmarks: Optional[np.ndarray] = None, intensity: Optional[Sequence[float]] = None) -> np.ndarray:
    """Draw one face on ``image`` (BGR, modified in place and returned). box: x, y, w, h in pixels;
    ``intensity``: (n,) 0-5 values shown beside the probabilities of the active AUs."""
    h_img, w_img = image.shape[:2]
    x, y, w, h = (int(round(float(v))) for v in box)
    scale = max(0.35, min(1.0, h_img / 720.0))
    thickness = max(1, int(round(2 * scale)))
    cv2.rectangle(image, (x, y), (x + w, y + h), BOX_COLOUR, thickness)
    _text(image, f"#{int(face_id)}", (x, max(12, y - 6)), scale, BOX_COLOUR, thickness)
    if landmarks is not None:
        for px, py in np.asarray(landmarks, np.float32).reshape(-1, 2):
            cv2.circle(image, (int(round(px)), int(round(py))), max(1, thickness), BOX_COLOUR, -1)
    if probs is None or decisions is None:
        return image
    values = [None] * len(au_names) if intensity is None else intensity
    lines = [f"{name} {float(p):.2f}" + ("" if r is None else f" r{float(r):.1f}")
             for name, p, d, r in zip(au_names, probs, decisions, values) if int(d) == 1]
    line_h = int(22 * scale) + 4
    widths = [cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)[0][0] for text in lines]
    text_w = max(widths, default=0)
    tx = x + w + 6 if x + w + 6 + text_w <= w_img else max(0, x - 6 - text_w)
    for k, text in enumerate(lines):
        _text(image, text, (tx, y + line_h * (k + 1)), scale, TEXT_COLOUR, thickness)
    return image


def draw_no_face(image: np.ndarray) -> np.ndarray:
    """Mark a frame where no face was found (red 'no face' in the top-left corner)."""
    scale = max(0.35, min(1.0, image.shape[0] / 720.0))
    _text(image, "no face", (8, int(28 * scale) + 4), scale, NO_FACE_COLOUR, max(1, int(round(2 * scale))))
    return image


class OverlayVideoWriter:
    """``with OverlayVideoWriter(path, fps) as w: w.write(bgr_frame)``; codec from ``fourcc`` (mp4v)."""

    def __init__(self, path: str, fps: float = 30.0, fourcc: str = "mp4v"):
        self.path = path
        self.fps = float(fps) if fps and fps > 0 else 30.0
        self.fourcc = fourcc
        self.size = None
        self.frames_written = 0
        self._writer = None

    def write(self, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        if self._writer is None:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            self._writer = cv2.VideoWriter(self.path, cv2.VideoWriter_fourcc(*self.fourcc), self.fps, (w, h))
            if not self._writer.isOpened():
                self._writer = None
                raise OSError(f"{self.path}: OpenCV cannot write a video here (codec {self.fourcc!r}, size {w}x{h})")
            self.size = (w, h)
        elif (w, h) != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self._writer.write(np.ascontiguousarray(image))
        self.frames_written += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> "OverlayVideoWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
