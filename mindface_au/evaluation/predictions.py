"""Saved per-frame predictions (``--save-probs``), so results can be re-scored, smoothed or
ensembled without running the network again.

One ``.npz`` file (no pickled objects) holding::

    probs      (N, C) float32   sigmoid outputs
    labels     (N, C) int8      optional; -1 = not annotated
    video_ids  (N,)   str       optional; each frame's video
    frames     (N,)   int64     optional; 1-based frame numbers
    intensity  (N, C) float32   optional; predicted 0-5 intensities (a model with the intensity head)
    intensity_labels (N, C) float32  optional; label intensities, NaN = not coded
    meta       ()     str       JSON: checkpoint, config name, thresholds, ...
"""
from __future__ import annotations

import json
from typing import Optional

import numpy as np

from ..constants import AU_NAMES, au_set
from ..fileio import atomic_path

_OPTIONAL = ("labels", "video_ids", "frames", "intensity", "intensity_labels")


def save_predictions(path: str, probs, labels=None, video_ids=None, frames=None, meta: Optional[dict] = None,
                     intensity=None, intensity_labels=None) -> str:
    """Write predictions to ``path`` (.npz, atomically); returns ``path``."""
    p = np.asarray(probs, dtype=np.float32)
    if p.ndim != 2:
        raise ValueError(f"probs must be (N, n_aus), got shape {p.shape}")
    arrays = {"probs": p}
    for name, value, dtype in (("labels", labels, np.int8), ("video_ids", video_ids, str), ("frames", frames, np.int64),
                               ("intensity", intensity, np.float32), ("intensity_labels", intensity_labels, np.float32)):
        if value is None:
            continue
        a = np.asarray(value).astype(dtype)
        expected = p.shape if name in ("labels", "intensity", "intensity_labels") else (p.shape[0],)
        if a.shape != expected:
            raise ValueError(f"{name} must have shape {expected} to match probs, got {a.shape}")
        arrays[name] = a
    arrays["meta"] = np.array(json.dumps(meta or {}, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    return path


def load_predictions(path: str) -> dict:
    """Read a file of :func:`save_predictions` -> dict with ``probs``, ``meta`` and the optional
    arrays that were saved (missing ones are None)."""
    with np.load(path, allow_pickle=False) as data:
        if "probs" not in data:
            raise ValueError(f"{path}: not a predictions file (no 'probs' array)")
        out = {"probs": data["probs"], "meta": json.loads(str(data["meta"])) if "meta" in data else {}}
        for name in _OPTIONAL:
            out[name] = data[name] if name in data else None
    return out


def predictions_au_names(pred: dict) -> tuple:
    """The AU names of loaded predictions: their meta ``au_names``, else (files written before the
    names were saved) the first n of Aff-Wild2's, n = the number of probability columns."""
    names = (pred.get("meta") or {}).get("au_names")
    return au_set(names) if names else AU_NAMES[:np.shape(pred["probs"])[1]]
