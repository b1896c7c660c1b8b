"""Input normalisation and the evaluation resize: the one definition training, eval and inference share.

DESIGN.md: "Test: resize 128, centre crop 112", ImageNet mean/std on RGB (insightface weights
were trained with (x/255 - 0.5)/0.5: ``norm: arcface``). At another input side S the resize
scales with S (``resize * S / 112``) and never drops below S, so the centre crop always fits.

* :data:`NORMS` / :func:`norm_stats`: name -> per-channel mean and std (RGB, 0..255 scale);
* :func:`eval_resize`: the shorter side before the centre crop;
* :func:`eval_preprocess`: the whole eval transform in numpy + OpenCV for inference, (B, H, W, 3)
  uint8 RGB -> (B, 3, S, S) float32, the same numbers as the MindSpore pipeline's
  ``Resize -> CenterCrop -> Normalize -> HWC2CHW`` (:func:`mindface_au.pipeline.ops.eval_transforms`).

No MindSpore here: ONNX / OpenVINO inference imports this module too.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

from .constants import ARCFACE_MEAN, ARCFACE_STD, IMAGENET_MEAN, IMAGENET_STD

#: normalisation name (``data.norm``) -> (mean, std) per RGB channel, 0..255 scale
NORMS = {"imagenet": (IMAGENET_MEAN, IMAGENET_STD), "arcface": (ARCFACE_MEAN, ARCFACE_STD)}


def norm_stats(norm: str) -> Tuple[np.ndarray, np.ndarray]:
    """``(mean (3,), std (3,))`` float32 of a :data:`NORMS` name; an unknown name is a ``ValueError``."""
    if norm not in NORMS:
        raise ValueError(f"data.norm: unknown normalisation {norm!r}; known: {sorted(NORMS)}")
    mean, std = NORMS[norm]
    return np.asarray(mean, np.float32), np.asarray(std, np.float32)


def eval_resize(size: int, resize: int = 128) -> int:
    """The shorter side before the centre crop S = ``size``: ``resize`` at S = 112, scaled with S, at least S."""
    return max(int(size), int(round(resize * size / 112)))


def eval_preprocess(faces, input_size: int = 112, resize: int = 128, norm: str = "imagenet") -> np.ndarray:
    """(B, H, W, 3) uint8 RGB (or a list of (H, W, 3)) -> (B, 3, S, S) float32.

    Shorter side to :func:`eval_resize` (bilinear, the longer side truncated), centre crop S,
    normalise with :data:`NORMS`: bit for bit what the MindSpore eval pipeline gives.
    """
    import cv2

    mean, std = norm_stats(norm)
    side = eval_resize(input_size, resize)
    out = np.empty((len(faces), 3, input_size, input_size), np.float32)
    for i, face in enumerate(faces):
        face = np.asarray(face)
        if face.ndim != 3 or face.shape[2] != 3:
            raise ValueError(f"face {i}: expected an (H, W, 3) RGB crop, got shape {face.shape}")
        h, w = face.shape[:2]  # the longer side is truncated, as mindspore.dataset.vision.Resize does
        new_h, new_w = (side, int(side * w / h)) if h <= w else (int(side * h / w), side)
        resized = cv2.resize(face, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        top = (resized.shape[0] - input_size) // 2
        left = (resized.shape[1] - input_size) // 2
        crop = resized[top:top + input_size, left:left + input_size].astype(np.float32)
        out[i] = ((crop - mean) / std).transpose(2, 0, 1)
    return out


__all__ = ["NORMS", "norm_stats", "eval_resize", "eval_preprocess"]
