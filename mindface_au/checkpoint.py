"""Checkpoints: MindSpore ``.ckpt`` files written atomically, with metadata beside the weights.

``ms.save_checkpoint`` deletes an existing file before writing the new one, so a crash in
between loses both. :func:`save_checkpoint` writes to a temporary file beside it, fsyncs and
``os.replace``s (:func:`mindface_au.fileio.atomic_path`), so a reader only ever sees the old
file or the new one, whole.

Metadata (per-AU thresholds, the resolved config, epoch, ...) is stored as one JSON string
under the key ``__meta__`` of the checkpoint.
"""
from __future__ import annotations

import json
import os
from typing import Any, Optional

import mindspore as ms

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


def _jsonable(obj: Any):
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


class CheckpointMismatch(ValueError):
    """A checkpoint whose parameters do not fit the network."""


def load_into(net, param_dict: dict, strict: bool = True, source: str = "checkpoint") -> dict:
    """Load ``param_dict`` into ``net``; with ``strict`` refuse missing, unexpected or mis-shaped names.

    Returns ``{'loaded': [...], 'missing': [...], 'unexpected': [...], 'mismatched': [...]}``.
    """
    own = {name: p for name, p in net.parameters_and_names()}
    missing = sorted(n for n in own if n not in param_dict)
    unexpected = sorted(n for n in param_dict if n not in own)
    mismatched = sorted(
        f"{n}: checkpoint {tuple(param_dict[n].shape)} vs network {tuple(own[n].shape)}"
        for n in own if n in param_dict and tuple(param_dict[n].shape) != tuple(own[n].shape))
    report = {"missing": missing, "unexpected": unexpected, "mismatched": mismatched}
    if strict and (missing or unexpected or mismatched):
        lines = [f"{source} does not fit the network:"]
        for key in ("missing", "unexpected", "mismatched"):
            if report[key]:
                lines.append(f"  {key} ({len(report[key])}): " + ", ".join(report[key]))
        raise CheckpointMismatch("\n".join(lines))
    fitting = {n: v for n, v in param_dict.items() if n in own and tuple(v.shape) == tuple(own[n].shape)}
    ms.load_param_into_net(net, fitting, strict_load=False)
    report["loaded"] = sorted(fitting)
    return report


def restore_model(cfg: dict, ckpt_path: Optional[str] = None):
    """``(net, meta)``: the config's network with the checkpoint's weights (strict), in eval mode.

    Without ``ckpt_path`` the weights stay random and a warning says so.
    """
    import warnings

    from .models import build_model

    net = build_model(cfg)
    meta: dict = {}
    if ckpt_path:
        params, meta = load_checkpoint(ckpt_path)
        load_into(net, params, strict=True, source=ckpt_path)
    else:
        warnings.warn("no checkpoint given: the network has RANDOM weights", stacklevel=2)
    net.set_train(False)
    return net, meta


def config_from_checkpoint(ckpt_path: Optional[str], config_path: Optional[str], overrides=()) -> dict:
    """The config to rebuild a checkpoint's network: ``--config`` if given, else the one saved in it."""
    from .config import load_config

    if config_path or not ckpt_path:
        return load_config(config_path, overrides)
    meta = load_checkpoint_meta(ckpt_path)
    if "config" not in meta:
        raise ValueError(f"{ckpt_path} holds no config: pass --config")
    return load_config(None, overrides, initial=meta["config"], initial_source=f"{ckpt_path} (saved config)")
