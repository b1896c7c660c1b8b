"""MindSpore vision ops of the input pipeline (JPEG bytes -> float32 (3, S, S)).

* train: Decode -> RandomResizedCrop(S, scale, ratio) -> RandomHorizontalFlip(0.5) ->
  RandomApply([RandomColorAdjust(0.2, 0.2, 0.2, 0.2)], p=0.3) -> Normalize -> HWC2CHW;
* eval: Decode -> Resize(eval_resize(S, resize)) -> CenterCrop(S) -> Normalize -> HWC2CHW
  (resize 128 + centre crop 112 at S = 112; normalisation and resize rule: :mod:`mindface_au.transforms`).

They run in ``dataset.map`` (C++ threads, no Python per pixel).
"""
from __future__ import annotations

import mindspore.dataset.transforms as T
import mindspore.dataset.vision as V

from ..transforms import eval_resize, norm_stats


def normalize_op(norm: str):
    """``V.Normalize`` with the mean and std of :data:`mindface_au.transforms.NORMS` ``[norm]``."""
    mean, std = norm_stats(norm)
    return V.Normalize(mean=mean.tolist(), std=std.tolist(), is_hwc=True)


def train_transforms(size: int, norm: str = "imagenet", scale=(0.08, 1.0), ratio=(0.75, 4 / 3), flip_p: float = 0.5,
                     color_jitter=(0.2, 0.2, 0.2, 0.2), color_jitter_p: float = 0.3, augment: bool = True) -> list:
    """Vision ops of the training pipeline (JPEG bytes -> float32 (3, S, S)); ``augment=False``: eval ops."""
    if not augment:
        return eval_transforms(size, norm)
    ops = [V.Decode(), V.RandomResizedCrop(size, scale=tuple(scale), ratio=tuple(ratio))]
    if flip_p > 0:
        ops.append(V.RandomHorizontalFlip(flip_p))
    if color_jitter_p > 0 and any(color_jitter):
        b, c, s, h = color_jitter
        ops.append(T.RandomApply([V.RandomColorAdjust(brightness=b, contrast=c, saturation=s, hue=h)],
                                 prob=color_jitter_p))
    return ops + [normalize_op(norm), V.HWC2CHW()]


def eval_transforms(size: int, norm: str = "imagenet", resize: int = 128) -> list:
    """Vision ops of evaluation: Decode -> Resize(resize*S/112) -> CenterCrop(S) -> Normalize -> HWC2CHW."""
    return [V.Decode(), V.Resize(eval_resize(size, resize)), V.CenterCrop(size), normalize_op(norm), V.HWC2CHW()]
