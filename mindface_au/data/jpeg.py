"""Cheap JPEG checks (OpenCV), shared by the pipeline and ``tools/check_dataset.py``."""
from __future__ import annotations

from typing import Optional, Tuple

import cv2
import numpy as np


def jpeg_is_readable(data: np.ndarray) -> bool:
    """True when the bytes (uint8 (L,)) start like a JPEG and OpenCV decodes them (at 1/8 size, grey: ~0.04 ms)."""
    if data.size < 4 or data[0] != 0xFF or data[1] != 0xD8:
        return False
    return cv2.imdecode(data, cv2.IMREAD_REDUCED_GRAYSCALE_8) is not None


def read_checked(path: str) -> Tuple[Optional[np.ndarray], str]:
    """(bytes, '') for a readable JPEG file, else (None, reason)."""
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or exc}"
    if data.size == 0:
        return None, "empty file"
    if not jpeg_is_readable(data):
        return None, "not a decodable JPEG"
    return data, ""
