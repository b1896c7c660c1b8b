"""The MindSpore input pipeline over the frame indexes of :mod:`mindface_au.data`.

* :func:`build_train_dataset` -> ``(dataset, sampler, index)``: batches of (image float32
  (B, 3, S, S), label float32 (B, C), or (B, 2C) with the intensity head), per-epoch resampled,
  sharded over ranks;
* :func:`build_eval_dataset` -> ``(dataset, index)``: deterministic order, no augmentation;
* :class:`ResampleSampler`: the per-epoch uniform + rare-AU resample (:mod:`.sampler`);
* :class:`JpegSource`, :class:`UnreadableImageReport`: the JPEG source that replaces unreadable
  frames, and the callback that reports them (:mod:`.source`);
* :func:`train_transforms`, :func:`eval_transforms`: the vision ops (:mod:`.ops`).
"""
from .dataset import build_eval_dataset, build_train_dataset, check_intensity_labels, make_dataset
from .ops import eval_transforms, normalize_op, train_transforms
from .sampler import ResampleSampler
from .source import JpegSource, UnreadableImageReport, UnreadableImagesError, frame_targets

__all__ = ["build_train_dataset", "build_eval_dataset", "make_dataset", "check_intensity_labels", "frame_targets",
           "train_transforms", "eval_transforms", "normalize_op", "ResampleSampler", "JpegSource",
           "UnreadableImageReport", "UnreadableImagesError"]
