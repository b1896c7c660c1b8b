"""The export sidecar: ``<model file>.json`` beside an exported model, the settings it needs at inference.

Exported files (MindIR, ONNX, OpenVINO IR) carry no settings, so export writes them beside the
file: ``input_size``, ``resize``, ``norm``, ``au_names``, ``thresholds`` (per AU, None = 0.5),
``backbone``, ``trained_on`` and extras such as ``precision``. This module is their one writer
and reader (the predictor, the detector and the backends read through :func:`read_sidecar`).
"""
from __future__ import annotations

import json
import os
from typing import Optional

from .constants import AU_NAMES
from .fileio import atomic_write_text


def sidecar_path(model_path: str) -> str:
    """``<model_path>.json``."""
    return os.fspath(model_path) + ".json"


def write_sidecar(model_path: str, cfg: dict, thresholds=None, **extra) -> str:
    """Write the settings of ``cfg`` (and ``extra`` where not None, e.g. precision) beside ``model_path``.

    ``thresholds``: n per-AU floats or None. Returns the sidecar's path.
    """
    info = {"input_size": cfg["model"]["input_size"], "resize": cfg["data"]["resize"], "norm": cfg["data"]["norm"],
            "au_names": list(AU_NAMES[:cfg["model"]["num_aus"]]),
            "thresholds": None if thresholds is None else [float(t) for t in thresholds],
            "backbone": cfg["model"]["backbone"], "trained_on": {"synthetic": bool(cfg["data"]["synthetic"])},
            **{k: v for k, v in extra.items() if v is not None}}
    atomic_write_text(sidecar_path(model_path), json.dumps(info, indent=2))
    return sidecar_path(model_path)


def read_sidecar(model_path: str) -> Optional[dict]:
    """The settings written beside ``model_path``, or None when it has no sidecar."""
    path = sidecar_path(model_path)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)
