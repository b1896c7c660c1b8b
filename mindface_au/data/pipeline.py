"""The input pipeline: a random-access source of raw JPEG bytes + labels, MindSpore vision ops after it.

``GeneratorDataset(JpegSource)`` yields, per frame, ``(image uint8 (L,) JPEG bytes, label float32
(12,))``; decoding and augmentation run as ``mindspore.dataset.vision`` ops in ``.map`` (C++
threads, no Python per pixel):

* train: Decode -> RandomResizedCrop(S, scale, ratio) -> RandomHorizontalFlip(0.5) ->
  RandomApply([RandomColorAdjust(0.2, 0.2, 0.2, 0.2)], p=0.3) -> Normalize -> HWC2CHW;
* eval: Decode -> Resize(eval_resize(S, resize)) -> CenterCrop(S) -> Normalize -> HWC2CHW
  (resize 128 + centre crop 112 at S = 112; normalisation and resize rule: :mod:`mindface_au.transforms`);

then ``.batch``: image float32 (B, 3, S, S), label float32 (B, 12).

Unreadable images never stop a run: the source checks each file it reads (a reduced-size
OpenCV decode, ~0.04 ms at 112x112; MindSpore's decoder can crash the process on some corrupt
files instead of raising), and replaces a bad frame by the next readable frame of the index
(its neighbour in the same video, with that frame's label). Bad files are counted, warned about
once each as they are met, and summarised by :meth:`JpegSource.flush_report`, which
:class:`UnreadableImageReport` calls at every epoch end.
"""
from __future__ import annotations

import logging
import os
import threading
import warnings
from typing import Dict, List, Optional

import numpy as np

import mindspore.dataset as ds
import mindspore.dataset.transforms as T
import mindspore.dataset.vision as V
from mindspore.train import Callback

from ..transforms import eval_resize, norm_stats
from .index import FrameIndex
from .jpeg import jpeg_is_readable, read_checked  # noqa: F401  (jpeg_is_readable re-exported)

logger = logging.getLogger(__name__)

class UnreadableImagesError(RuntimeError):
    pass


class JpegSource:
    """Random-access source for ``GeneratorDataset``: item i -> (JPEG bytes uint8 (L,), label float32 (12,)).

    Thread-safe (``GeneratorDataset(..., python_multiprocessing=False)`` reads with threads),
    so the counters below are the pipeline's own.

    Attributes:
        bad: {relative path: reason} of every unreadable image met so far.
        replaced: how many reads returned a neighbour instead of the frame asked for.
    """

    def __init__(self, index: FrameIndex, max_consecutive_bad: int = 64, warn_first: int = 5):
        if len(index) == 0:
            raise ValueError(f"no frames to read in {index.source or index.image_root}")
        self.index = index
        self.labels = index.labels.astype(np.float32)
        self.max_consecutive_bad = max_consecutive_bad
        self.warn_first = warn_first
        self._bad_mask = np.zeros(len(index), dtype=bool)
        self._lock = threading.Lock()
        self.bad: Dict[str, str] = {}
        self.replaced = 0
        self._pending: List[str] = []
        self._pending_replaced = 0

    def __len__(self) -> int:
        return len(self.index)

    def _read(self, i: int) -> Optional[np.ndarray]:
        data, reason = read_checked(self.index.abspath(i))
        if data is None:
            self._mark_bad(i, reason)
        return data

    def _mark_bad(self, i: int, reason: str) -> None:
        rel = self.index.path(i)
        with self._lock:
            self._bad_mask[i] = True
            if rel not in self.bad:
                self.bad[rel] = reason
                self._pending.append(rel)
                if len(self.bad) <= self.warn_first:
                    warnings.warn(f"unreadable image {os.path.join(self.index.image_root, rel)} ({reason}): "
                                  "replaced by the next readable frame", RuntimeWarning, stacklevel=2)

    def __getitem__(self, i):
        i = int(i)
        n = len(self.index)
        for step in range(min(self.max_consecutive_bad, n)):
            j = (i + step) % n
            if self._bad_mask[j]:
                continue
            data = self._read(j)
            if data is not None:
                if step:
                    with self._lock:
                        self.replaced += 1
                        self._pending_replaced += 1
                return data, self.labels[j]
        raise UnreadableImagesError(f"{self.max_consecutive_bad} consecutive unreadable images from "
                                    f"{self.index.abspath(i)}: is the image root right?")

    def flush_report(self, where: str = "") -> Optional[str]:
        """Warn with a summary of the unreadable images met since the last call; returns it (or None)."""
        with self._lock:
            pending, replaced = self._pending, self._pending_replaced
            self._pending, self._pending_replaced = [], 0
        if not pending and not replaced:
            return None
        shown = ", ".join(pending[:10]) + (f", ... ({len(pending) - 10} more)" if len(pending) > 10 else "")
        msg = (f"{where + ': ' if where else ''}{len(pending)} new unreadable image(s) in {self.index.image_root}, "
               f"{replaced} read(s) replaced by a neighbouring frame; {len(self.bad)} unreadable in all"
               + (f": {shown}" if pending else ""))
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
        logger.warning(msg)
        return msg


class UnreadableImageReport(Callback):
    """Callback: at each epoch end, warn with the unreadable images the dataset met (see :class:`JpegSource`)."""

    def __init__(self, *datasets):
        super().__init__()
        self.sources = [getattr(d, "jpeg_source", d) for d in datasets]

    def on_train_epoch_end(self, run_context):
        epoch = run_context.original_args().cur_epoch_num
        for src in self.sources:
            src.flush_report(f"epoch {epoch}")


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


def make_dataset(index: FrameIndex, ops: list, batch_size: int, sampler=None, drop_remainder: bool = False,
                 num_workers: int = 2) -> ds.Dataset:
    """``GeneratorDataset(JpegSource(index))`` -> map(ops) -> batch; the source is ``dataset.jpeg_source``."""
    source = JpegSource(index)
    kwargs = {"sampler": sampler} if sampler is not None else {"shuffle": False}
    dataset = ds.GeneratorDataset(source, column_names=["image", "label"], num_parallel_workers=1,
                                  python_multiprocessing=False, **kwargs)
    dataset = dataset.map(operations=ops, input_columns="image", num_parallel_workers=num_workers)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder, num_parallel_workers=1)
    dataset.jpeg_source = source
    return dataset
