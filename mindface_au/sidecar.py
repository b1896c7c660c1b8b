"""The export sidecar: ``<model file>.json`` beside an exported model, the settings it needs at inference.

Exported files (MindIR, ONNX, OpenVINO IR) carry no settings, so export writes them beside the
file: ``input_size``, ``resize``, ``norm``, ``au_names``, ``thresholds`` (per AU, None = 0.5),
``backbone``, ``trained_on`` and extras such as ``precision``. This module is their one writer
and reader (the predictor, the detector and the backends read through :func:`read_sidecar`).

The AU names also go into the exported file itself where the format has room for text (ONNX
``metadata_props``, OpenVINO ``rt_info``), under :data:`AU_NAMES_KEY` as ``"AU1,AU2,..."``
(:func:`encode_au_names` / :func:`decode_au_names`). A file and a sidecar without them mean
Aff-Wild2's 12 AUs (every export made before they were written).
"""
from __future__ import annotations

import json
import os
from typing import Optional

from .config import config_au_names
from .constants import AU_NAMES, au_set
from .fileio import atomic_write_text

#: the key of the AU names in an exported file's metadata (ONNX metadata_props, OpenVINO rt_info)
AU_NAMES_KEY = "mindface_au.au_names"


def encode_au_names(au_names) -> str:
    """``('AU1', 'AU2')`` -> ``'AU1,AU2'`` (the metadata value)."""
    return ",".join(au_set(list(au_names)))


def decode_au_names(text: Optional[str]) -> Optional[tuple]:
    """``'AU1,AU2'`` -> ``('AU1', 'AU2')``; None for None or an empty value."""
    return au_set(text.split(",")) if text else None


def exported_au_names(info: Optional[dict], stored: Optional[tuple], where: str) -> tuple:
    """The AU names of an exported model: those ``stored`` in the file, those of its sidecar ``info``
    (they must agree when both are there: ValueError naming ``where``), else Aff-Wild2's 12."""
    side = au_set(info["au_names"]) if info and info.get("au_names") else None
    if stored and side and tuple(stored) != side:
        raise ValueError(f"{where}: the file names the AUs {', '.join(stored)} but its sidecar "
                         f"{os.path.basename(sidecar_path(where))} names {', '.join(side)}")
    return tuple(stored or side or AU_NAMES)


def sidecar_path(model_path: str) -> str:
    """``<model_path>.json``."""
    return os.fspath(model_path) + ".json"


def write_sidecar(model_path: str, cfg: dict, thresholds=None, **extra) -> str:
    """Write the settings of ``cfg`` (and ``extra`` where not None, e.g. precision) beside ``model_path``.

    ``thresholds``: n per-AU floats or None. Returns the sidecar's path.
    """
    info = {"input_size": cfg["model"]["input_size"], "resize": cfg["data"]["resize"], "norm": cfg["data"]["norm"],
            "au_names": list(config_au_names(cfg)),
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
