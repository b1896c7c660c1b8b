"""The export sidecar: ``<model file>.json`` beside an exported model, the settings it needs at inference.

Exported files (MindIR, ONNX, OpenVINO IR) carry no settings, so export writes them beside the
file: ``input_size``, ``resize``, ``norm``, ``au_names``, ``intensity`` (only for a model with the
intensity head: ``true``), ``thresholds`` (per AU, None = 0.5), ``backbone``, ``trained_on`` and
extras such as ``precision``. This module is their one writer
and reader (the predictor, the detector and the backends read through :func:`read_sidecar`).

The AU names also go into the exported file itself where the format has room for text (ONNX
``metadata_props``, OpenVINO ``rt_info``), under :data:`AU_NAMES_KEY` as ``"AU1,AU2,..."``
(:func:`encode_au_names` / :func:`decode_au_names`). A file and a sidecar without them mean
Aff-Wild2's 12 AUs (every export made before they were written). A model with the intensity head
(output (B, 2n): n probabilities, then n intensities, :mod:`mindface_au.outputs`) also stores
:data:`INTENSITY_KEY` = ``"true"`` there (:func:`exported_metadata`); without it a file's output is
(B, n). Files of models without the head hold exactly the keys they held before intensity existed.
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
#: the key that marks a model with the intensity head in that metadata (value ``"true"``; absent = none)
INTENSITY_KEY = "mindface_au.intensity"


def encode_au_names(au_names) -> str:
    """``('AU1', 'AU2')`` -> ``'AU1,AU2'`` (the metadata value)."""
    return ",".join(au_set(list(au_names)))


def decode_au_names(text: Optional[str]) -> Optional[tuple]:
    """``'AU1,AU2'`` -> ``('AU1', 'AU2')``; None for None or an empty value."""
    return au_set(text.split(",")) if text else None


def exported_metadata(au_names, intensity: bool = False) -> dict:
    """The text entries an exported file stores: the AU names, and :data:`INTENSITY_KEY` only with intensity."""
    return {AU_NAMES_KEY: encode_au_names(au_names), **({INTENSITY_KEY: "true"} if intensity else {})}


def decode_intensity(text: Optional[str]) -> bool:
    """A stored :data:`INTENSITY_KEY` value -> whether the model has the intensity head (None: it has not)."""
    if text is None:
        return False
    if text.strip().lower() not in ("true", "false"):
        raise ValueError(f"{INTENSITY_KEY} must be 'true' or 'false', got {text!r}")
    return text.strip().lower() == "true"


def exported_intensity(info: Optional[dict], stored: Optional[bool], where: str) -> bool:
    """Whether an exported model has the intensity head: what the file ``stored`` (None for a MindIR
    file, which has no room for it) and its sidecar ``info`` (its ``intensity`` key; a sidecar without
    it says nothing) say; they must agree when both say it (ValueError naming ``where``). Neither
    saying so means no intensity (every older export)."""
    side = bool(info["intensity"]) if info and info.get("intensity") is not None else None
    if stored is not None and side is not None and stored != side:
        raise ValueError(f"{where}: the file says the model {'has' if stored else 'has no'} intensity output but "
                         f"its sidecar {os.path.basename(sidecar_path(where))} says it {'has' if side else 'has none'}")
    return bool(stored if stored is not None else side)


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

    ``thresholds``: n per-AU floats or None. ``intensity: true`` is written only for a model with the
    intensity head (``model.intensity``), so other models' sidecars stay as they were. Returns the path.
    """
    info = {"input_size": cfg["model"]["input_size"], "resize": cfg["data"]["resize"], "norm": cfg["data"]["norm"],
            "au_names": list(config_au_names(cfg)),
            **({"intensity": True} if cfg["model"].get("intensity") else {}),
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
