"""The random-access source of the input pipeline: raw JPEG bytes + labels of a :class:`~mindface_au.data.FrameIndex`.

``GeneratorDataset(JpegSource(index))`` yields, per frame, ``(image uint8 (L,) JPEG bytes, label
float32 (n,))`` (n: the index's AUs), or with ``intensity=True`` a (2n,) target, the occurrence
labels then the 0-5 intensities (-1 = not coded; :func:`frame_targets`); decoding and augmentation
run after it as MindSpore vision ops (:mod:`mindface_au.pipeline.ops`).

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
from mindspore.train import Callback

from ..data.index import FrameIndex
from ..data.jpeg import read_checked
from ..outputs import training_targets

logger = logging.getLogger(__name__)


class UnreadableImagesError(RuntimeError):
    """Too many consecutive unreadable images: the image root is most likely wrong."""


def frame_targets(index: FrameIndex, intensity: bool = False) -> np.ndarray:
    """The per-frame targets of ``index``: (N, n) float32 occurrence labels in {-1, 0, 1}, or with
    ``intensity`` (N, 2n), the labels then the intensities (:func:`mindface_au.outputs.training_targets`;
    -1 where not coded, everywhere when the index has no intensity labels)."""
    if not intensity:
        return index.labels.astype(np.float32)
    coded = index.intensity if index.intensity is not None else np.full(index.labels.shape, np.nan, np.float32)
    return training_targets(index.labels, coded)


class JpegSource:
    """Random-access source for ``GeneratorDataset``: item i -> (JPEG bytes uint8 (L,), target float32
    (n,) or (2n,) with ``intensity``; see :func:`frame_targets`).

    Thread-safe (``GeneratorDataset(..., python_multiprocessing=False)`` reads with threads),
    so the counters below are the pipeline's own.

    Attributes:
        bad: {relative path: reason} of every unreadable image met so far.
        replaced: how many reads returned a neighbour instead of the frame asked for.
    """

    def __init__(self, index: FrameIndex, max_consecutive_bad: int = 64, warn_first: int = 5, intensity: bool = False):
        if len(index) == 0:
            raise ValueError(f"no frames to read in {index.source or index.image_root}")
        self.index = index
        self.labels = frame_targets(index, intensity)
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
