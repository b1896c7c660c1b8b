"""Checkpoints: MindSpore ``.ckpt`` files written atomically, with metadata beside the weights.

``ms.save_checkpoint`` deletes an existing file before writing the new one, so a crash in
between loses both. :func:`save_checkpoint` writes to a temporary file beside it, fsyncs and
``os.replace``s (:func:`mindface_au.fileio.atomic_path`), so a reader only ever sees the old
file or the new one, whole.

Metadata (per-AU thresholds, the resolved config, the AU names of the outputs, epoch, ...) is
stored as one JSON string under the key ``__meta__`` of the checkpoint. A checkpoint without AU
names (every one written before they were saved) has Aff-Wild2's (:func:`checkpoint_au_names`).
Loading weights into a network (and the mismatch report) is :mod:`mindface_au.weights`.
"""
from __future__ import annotations

import json
import os
from typing import Any, Optional

import mindspore as ms

from .constants import AU_NAMES, au_set
from .fileio import atomic_path

META_KEY = "__meta__"


def save_checkpoint(params, path: str, meta: Optional[dict] = None) -> None:
    """Write ``params`` (a Cell, or a list of ``{'name', 'data'}`` / Parameters) and ``meta`` to ``path``."""
    # the temporary name keeps the ".ckpt" suffix: MindSpore appends one to names that lack it
    with atomic_path(path) as tmp:
        ms.save_checkpoint(params, tmp, append_dict={META_KEY: json.dumps(meta or {}, default=_jsonable)})


def _is_meta(name: str) -> bool:
    return name == META_KEY


def load_checkpoint_meta(path: str) -> dict:
    """Only the metadata of a checkpoint (the weights are not read)."""
    return load_checkpoint(path, meta_only=True)[1]


def load_checkpoint(path: str, meta_only: bool = False) -> tuple:
    """``(param_dict, meta)``: the Parameters by name, and the metadata dict ({} if none)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    params = ms.load_checkpoint(path, choice_func=_is_meta) if meta_only else ms.load_checkpoint(path)
    meta = {}
    if META_KEY in params:
        raw = params.pop(META_KEY)
        meta = json.loads(str(raw) if not hasattr(raw, "asnumpy") else raw.asnumpy().item())
    return params, meta


def checkpoint_au_names(meta: dict) -> tuple:
    """The AU names of a checkpoint's outputs: its meta ``au_names``, else its saved config's ``data.aus``,
    else Aff-Wild2's (the first ``model.num_aus`` of them when its saved config says fewer)."""
    if meta.get("au_names"):
        return au_set(meta["au_names"])
    cfg = meta.get("config") or {}
    if (cfg.get("data") or {}).get("aus") is not None:
        return au_set(cfg["data"]["aus"])
    return AU_NAMES[:(cfg.get("model") or {}).get("num_aus", len(AU_NAMES))]


def check_au_names(ckpt_names, cfg_names, source: str) -> None:
    """ValueError naming both sets when a checkpoint's AUs (``ckpt_names``) are not the config's."""
    if tuple(ckpt_names) != tuple(cfg_names):
        raise ValueError(f"{source} predicts {len(ckpt_names)} AUs ({', '.join(ckpt_names)}) but the config's "
                         f"data.aus names {len(cfg_names)} ({', '.join(cfg_names)}): use its own config, or set "
                         "data.aus to its AUs (only model.backbone_init transfers between AU sets)")


def _jsonable(obj: Any):
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")

