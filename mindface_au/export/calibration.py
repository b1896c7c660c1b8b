"""Frames export calibrates int8 on and checks its files with: (N, 3, S, S) float32 network inputs.

Two sources:

* the config's data set: :func:`split_arrays` samples up to ``max_frames`` frames of a split,
  evenly spaced, through the evaluation transform (labels included);
* a path the user names (``--calibration-data``): :func:`path_arrays` reads a folder of face
  images or videos (or one such file) through the same face detector and aligner as ``infer``
  (the largest face per frame), or takes the images as aligned crops as they are
  (``aligned=True``), and gives them the evaluation transform of the network's config. No labels.
"""
from __future__ import annotations

import dataclasses
import warnings
from typing import List, Optional

import numpy as np

from ..transforms import eval_preprocess


def evenly_spaced(total: int, count: int) -> np.ndarray:
    """Up to ``count`` distinct indices of ``range(total)``, evenly spaced, first and last included."""
    return np.unique(np.linspace(0, total - 1, min(total, count)).round().astype(np.int64))


def as_batches(x: np.ndarray, batch_size: int = 16) -> list:
    """``x`` (N, ...) cut into consecutive batches of at most ``batch_size``."""
    return [x[i:i + batch_size] for i in range(0, len(x), batch_size)]


def split_arrays(cfg: dict, which: str = "val", max_frames: int = 1000):
    """``(x (N, 3, S, S) float32, labels (N, n))``: up to ``max_frames`` frames of the config's
    ``which`` ('train' / 'val') split, evenly spaced over it, through the evaluation transform."""
    from ..data import ensure_synthetic, read_index
    from ..pipeline import build_eval_dataset

    ensure_synthetic(cfg, progress=False)
    index = read_index(cfg, which)
    if len(index) == 0:
        raise ValueError(f"the {which} split of the config's data has no frames")
    rows = evenly_spaced(len(index), max_frames)
    picked = dataclasses.replace(index, video_ids=index.video_ids[rows], frames=index.frames[rows],
                                 labels=index.labels[rows], explicit_paths=None if index.explicit_paths is None
                                 else index.explicit_paths[rows])
    dataset, _ = build_eval_dataset(cfg, index=picked)
    xs, ys = zip(*((x, y) for x, y in dataset.create_tuple_iterator(output_numpy=True)))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys)


def calibration_batches(cfg: dict, n_frames: int = 300, batch_size: int = 16) -> list:
    """Calibration data of int8 export: ``n_frames`` training-split crops (evaluation transform), in batches."""
    x, _ = split_arrays(cfg, "train", n_frames)
    return as_batches(x, batch_size)


def _source_crops(spec: str, detector, max_frames: int) -> List[np.ndarray]:
    """Aligned RGB crops of one input (video, image or folder of images), about ``max_frames`` of its frames."""
    from ..inference.sources import open_source
    from ..inference.stream import iter_faces

    expected = open_source(spec).expected_frames or 1
    source = open_source(spec, skip_frames=max(0, expected // max(1, max_frames) - 1))
    return [record.crop for record in iter_faces(source, detector) if record.success]


def crops_from_path(path: str, max_frames: int = 300, detector: Optional[str] = "yuface",
                    aligned: bool = False) -> np.ndarray:
    """(N, 112, 112, 3) uint8 RGB aligned crops, N <= ``max_frames``, from the images and videos at ``path``.

    A folder holding videos is read video by video (:func:`~mindface_au.inference.sources.expand_inputs`),
    its images as one input; files that are neither are skipped silently. ``aligned``: the images
    already are aligned crops (no detector). Raises ValueError when no face is found.
    """
    from ..inference.face import create_detector
    from ..inference.sources import SourceError, SourceWarning, expand_inputs

    face_detector = None if aligned else create_detector(detector)
    crops: List[np.ndarray] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SourceWarning)  # the csv / json files beside the images
        for spec in expand_inputs([path]):
            try:
                crops.extend(_source_crops(spec, face_detector, max_frames))
            except SourceError:
                continue
    if not crops:
        raise ValueError(f"{path}: no face found in its images or videos" if not aligned
                         else f"{path}: holds no readable images")
    return np.stack([crops[i] for i in evenly_spaced(len(crops), max_frames)])


def path_arrays(path: str, cfg: dict, max_frames: int = 300, detector: Optional[str] = "yuface",
                aligned: bool = False) -> np.ndarray:
    """(N, 3, S, S) float32 network inputs from the images and videos at ``path`` (:func:`crops_from_path`),
    through the evaluation transform of ``cfg`` (input size, resize, normalisation)."""
    crops = crops_from_path(path, max_frames, detector, aligned)
    return eval_preprocess(crops, cfg["model"]["input_size"], cfg["data"]["resize"], cfg["data"]["norm"])
