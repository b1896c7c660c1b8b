"""Decision thresholds: one per AU, from a number, an array, the model's saved ones or a JSON file.

Every place that takes thresholds goes through here: the command line's ``--threshold
0.5|NUMBER|ckpt|FILE``, :class:`mindface_au.inference.AUDetector`, the predictor, and the scoring
functions (:func:`as_thresholds`). A prediction is positive when ``prob >= threshold``.
"""
from __future__ import annotations

import json
import os
from numbers import Number
from typing import Optional, Sequence, Union

import numpy as np

from ..constants import AU_NAMES

ThresholdLike = Union[float, Sequence[float], np.ndarray]


def as_thresholds(thresholds: ThresholdLike, n_aus: int) -> np.ndarray:
    """A scalar or (n_aus,) threshold -> float64 array (n_aus,) (finite; any range, for scoring)."""
    t = np.asarray(thresholds, dtype=np.float64)
    if t.ndim == 0:
        t = np.full(n_aus, float(t))
    if t.shape != (n_aus,):
        raise ValueError(f"thresholds must be a scalar or have shape ({n_aus},), got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError(f"thresholds must be finite, got {t.tolist()}")
    return t


def _number(spec: str) -> Optional[float]:
    try:
        return float(spec)
    except ValueError:
        return None


def read_threshold_file(path: str, au_names: Sequence[str]):
    """The thresholds a JSON file holds: a list, a mapping AU name -> value, or a dict with ``thresholds``
    (``summary.json``, ``eval_result.json``, an export sidecar). Returns them unchecked (a list)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--threshold {path}: not a number, 'ckpt' or an existing JSON file")
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
    if isinstance(data, dict) and "thresholds" in data:
        data = data["thresholds"]
        if data is None:
            raise ValueError(f"{path}: holds no per-AU thresholds; use 0.5 or another FILE")
    if isinstance(data, dict):
        missing = [au for au in au_names if au not in data]
        if missing:
            raise ValueError(f"{path}: no threshold for {missing}")
        data = [data[au] for au in au_names]
    return data


def _checked(values, n: int, where: str) -> np.ndarray:
    values = np.asarray(values, np.float32)
    if values.shape != (n,):
        raise ValueError(f"{where}: expected {n} thresholds, got shape {values.shape}")
    if not np.all((values >= 0) & (values <= 1)):
        raise ValueError(f"{where}: thresholds must lie in [0, 1], got {values.tolist()}")
    return values


def resolve_thresholds(spec, saved=None, au_names: Optional[Sequence[str]] = None,
                       saved_source: str = "the checkpoint") -> np.ndarray:
    """The per-AU decision thresholds that ``spec`` names: a (n,) float32 array in [0, 1].

    Args:
        spec: ``'0.5'`` or any number in [0, 1] (string or number: the same value for every AU);
            ``'ckpt'`` (``saved``, the per-AU thresholds stored with the model; an error when there are
            none); a JSON file (:func:`read_threshold_file`); or a sequence / array of n values.
        saved: the model's stored per-AU thresholds (sequence of n floats) or None.
        au_names: the AU names of the model (default: the 12 Aff-Wild2 AUs): n, and the keys of FILE mappings.
        saved_source: how errors about ``saved`` name it (the checkpoint's or export's path).
    """
    au_names = list(au_names or AU_NAMES)
    n = len(au_names)
    if isinstance(spec, np.ndarray) and spec.ndim == 0:
        spec = spec.item()
    if not isinstance(spec, (str, Number, os.PathLike)):
        return _checked(spec, n, "thresholds")
    spec = os.fspath(spec) if isinstance(spec, os.PathLike) else str(spec)
    if spec == "ckpt":
        if saved is None:
            raise ValueError(f"--threshold ckpt: {saved_source} holds no per-AU thresholds; use 0.5 or a FILE")
        return _checked(saved, n, saved_source)
    value = _number(spec)
    if value is not None:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"--threshold {spec}: must be in [0, 1]")
        return np.full(n, value, np.float32)
    return _checked(read_threshold_file(spec, au_names), n, spec)
