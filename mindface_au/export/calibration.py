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


#: Frames read per crop asked for: frames without a face (or with a face too small to align) leave
#: no crop, so twice as many frames are read and the crops then thinned to ``max_frames``.
READS_PER_CROP = 2


def frames_per_input(lengths, budget: int) -> List[int]:
    """Frames to read from each input, about ``budget`` in all, in proportion to ``lengths`` (the inputs'
    frame counts), at least one from each and at most its length: ``[10, 30], 8 -> [2, 6]``."""
    lengths = np.maximum(np.asarray(lengths, dtype=np.int64), 1)
    share = np.floor(budget * lengths / lengths.sum()).astype(np.int64)
    return [int(v) for v in np.clip(share, 1, lengths)]


def _source_crops(spec: str, expected: int, detector, reads: int) -> List[np.ndarray]:
    """Aligned RGB crops of at most ``reads`` evenly spaced frames of one input of ``expected`` frames."""
    from ..inference.sources import open_source
    from ..inference.stream import iter_faces

    source = open_source(spec, skip_frames=max(0, expected // reads - 1), max_frames=reads)
    return [record.crop for record in iter_faces(source, detector) if record.success]


def crops_from_path(path: str, max_frames: int = 300, detector: Optional[str] = "yuface",
                    aligned: bool = False) -> np.ndarray:
    """(N, 112, 112, 3) uint8 RGB aligned crops, N <= ``max_frames``, from the images and videos at ``path``.

    A folder holding videos is read video by video (:func:`~mindface_au.inference.sources.expand_inputs`),
    its images as one input; files that are neither are skipped silently. About
    ``READS_PER_CROP * max_frames`` frames are read in all, shared among the inputs in proportion to
    their lengths and evenly spaced inside each (:func:`frames_per_input`), so a folder of many long
    videos costs what one does. ``aligned``: the images already are aligned crops (no detector).
    Raises ValueError when no face is found.
    """
    from ..inference.face import create_detector
    from ..inference.sources import SourceError, SourceWarning, expand_inputs, open_source

    face_detector = None if aligned else create_detector(detector)
    crops: List[np.ndarray] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SourceWarning)  # the csv / json files beside the images
        lengths = {}  # input -> its frame count
        for spec in expand_inputs([path]):
            try:
                lengths[spec] = open_source(spec).expected_frames or 1
            except SourceError:
                continue
        reads = frames_per_input(list(lengths.values()), READS_PER_CROP * max_frames) if lengths else []
        for (spec, expected), n in zip(lengths.items(), reads):
            try:
                crops.extend(_source_crops(spec, expected, face_detector, n))
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
