"""Weights into networks: our checkpoints, PyTorch ``.pth`` files, backbone inits, downloads.

One module, one mismatch report. Every load compares the file's parameters with the network's
(:func:`fit_report`) and refuses, naming them, any that are missing, unexpected or mis-shaped
(:class:`CheckpointMismatch`). A ``.pth`` is first mapped onto the network by the network's own
``checkpoint_filter_fn`` (timm's style: the authors' layout beside ``AUNet``, insightface's
beside ``IResNet``), whose :class:`~mindface_au.convert.ConversionError` names the torch keys it
could not place.

* :func:`load_weights`: a ``.ckpt`` (ours, or ``mindface-au convert``'s) or a ``.pth`` into a
  whole network (``create_model(..., checkpoint_path=...)``);
* :func:`load_into`: a parameter dict into a network (the training state uses it);
* :func:`load_backbone_init`: ``model.backbone_init``, only the backbone;
* :func:`download_weights`: a published file, fetched once into the cache.

Building networks (``create_model``, ``restore_model``, ...) is :mod:`mindface_au.factory`.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import List, Mapping, Optional, Tuple

import numpy as np

from .checkpoint import load_checkpoint
from .convert import read_state_dict, sha256_file
from .fileio import atomic_path, cache_dir


class CheckpointMismatch(ValueError):
    """A checkpoint whose parameters do not fit the network."""


@dataclass
class FitReport:
    """How a file's parameters fit a network's: names missing from the file, unexpected in it, mis-shaped."""

    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[Tuple[str, tuple, tuple]] = field(default_factory=list)  # (name, file shape, net shape)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def message(self, source: str, target: str = "the network", limit: Optional[int] = None) -> str:
        """``source does not fit target:`` and one line per kind naming every parameter (or ``limit`` of them)."""
        lines = [f"{source} does not fit {target}:"]
        mism = [f"{n}: checkpoint {a} vs network {b}" for n, a, b in self.mismatched]
        for title, items in (("missing", self.missing), ("unexpected", self.unexpected), ("mismatched", mism)):
            if items:
                shown = items if limit is None else items[:limit]
                lines.append(f"  {title} ({len(items)}): " + ", ".join(shown)
                             + (" ..." if len(shown) < len(items) else ""))
        if any(n.split(".")[-2:] == ["fc", "weight"] for n, _, _ in self.mismatched):
            lines.append("  hint: the embedding fc fits one input size only (insightface weights: model.input_size 112)")
        return "\n".join(lines)


def _shape(value) -> tuple:
    return tuple(int(s) for s in value.shape)


def fit_report(own: Mapping[str, tuple], given: Mapping[str, tuple]) -> FitReport:
    """Compare parameter shapes by name: ``own`` (the network's) against ``given`` (the file's)."""
    return FitReport(missing=sorted(n for n in own if n not in given),
                     unexpected=sorted(n for n in given if n not in own),
                     mismatched=sorted((n, tuple(given[n]), tuple(own[n])) for n in own
                                       if n in given and tuple(given[n]) != tuple(own[n])))


def _as_parameter(name: str, value):
    import mindspore as ms

    if isinstance(value, ms.Parameter):
        return value
    return ms.Parameter(value if isinstance(value, ms.Tensor) else ms.Tensor(np.asarray(value)), name=name)


def load_into(net, param_dict: dict, strict: bool = True, source: str = "checkpoint") -> dict:
    """Load ``param_dict`` (name -> Parameter/Tensor/array) into ``net``; with ``strict`` refuse any misfit.

    Returns ``{'loaded': [...], 'missing': [...], 'unexpected': [...], 'mismatched': [...]}``.
    """
    import mindspore as ms

    own = {name: p for name, p in net.parameters_and_names()}
    fit = fit_report({n: _shape(p) for n, p in own.items()}, {n: _shape(v) for n, v in param_dict.items()})
    if strict and not fit.ok:
        raise CheckpointMismatch(fit.message(source))
    bad = {n for n, _, _ in fit.mismatched}
    fitting = {n: _as_parameter(n, v) for n, v in param_dict.items() if n in own and n not in bad}
    ms.load_param_into_net(net, fitting, strict_load=False)
    return {"loaded": sorted(fitting), "missing": fit.missing, "unexpected": fit.unexpected,
            "mismatched": [f"{n}: checkpoint {a} vs network {b}" for n, a, b in fit.mismatched]}


def is_torch_file(path: str) -> bool:
    """A PyTorch checkpoint (by extension, or a zip with ``data.pkl``)?"""
    import zipfile

    if path.endswith((".pth", ".pt", ".bin")):
        return True
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            return any(n.endswith("/data.pkl") for n in zf.namelist())
    return False


def _torch_filter(net):
    """The ``checkpoint_filter_fn`` of ``net``'s class: how a PyTorch state_dict maps onto it."""
    filter_fn = getattr(type(net), "checkpoint_filter_fn", None)
    if filter_fn is None:
        raise TypeError(f"{type(net).__name__} has no checkpoint_filter_fn: no PyTorch layout is known for it; "
                        "convert the file with `mindface-au convert` first")
    return filter_fn


def load_weights(net, path: str, strict: bool = True, backend: str = "auto") -> dict:
    """A ``.ckpt`` or a ``.pth`` into the whole of ``net``; returns :func:`load_into`'s report (+ ``meta``).

    A ``.pth`` is converted on the fly by the network's ``checkpoint_filter_fn`` (the authors'
    layout for an ``AUNet``, insightface's for an ``IResNet``).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"weights not found: {path}")
    if is_torch_file(path):
        arrays, conversion = _torch_filter(net)(read_state_dict(path, backend), net, strict=strict, source=path)
        report = load_into(net, dict(arrays), strict=strict, source=path)
        report["meta"] = {"converted_from": os.path.basename(path), "kind": conversion.kind}
        return report
    params, meta = load_checkpoint(path)
    report = load_into(net, params, strict=strict, source=path)
    report["meta"] = meta
    return report


def download_weights(url: str) -> str:
    """The local copy of ``url`` in ``cache_dir('weights')`` (fetched once, written atomically)."""
    import shutil
    import urllib.parse
    import urllib.request

    name = os.path.basename(urllib.parse.urlparse(url).path) or "weights.ckpt"
    dest = os.path.join(cache_dir("weights"), name)
    if not os.path.isfile(dest):
        with atomic_path(dest) as tmp, urllib.request.urlopen(url) as src, open(tmp, "wb") as out:
            shutil.copyfileobj(src, out)
    return dest


@dataclass
class BackboneInitReport:
    """What ``model.backbone_init`` loaded into the network's backbone."""

    path: str
    source_format: str  # "mindspore checkpoint" | "pytorch insightface backbone" | "pytorch authors checkpoint, ..."
    loaded: List[str] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)  # entries of the file outside the backbone
    conversion: Optional[object] = None  # the ConversionReport of a .pth
    meta: dict = field(default_factory=dict)

    def format(self) -> str:
        parts = [f"loaded {len(self.loaded)} backbone parameters from {self.path} "
                 f"({self.source_format})"]
        if self.skipped:
            parts.append(f"  skipped {len(self.skipped)} entries outside the backbone "
                         f"(e.g. {', '.join(self.skipped[:3])})")
        src = self.meta.get("converted_from")
        if src:
            parts.append(f"  converted from {src} (sha256 {str(self.meta.get('source_sha256', '?'))[:12]}, "
                         f"kind {self.meta.get('kind', '?')})")
        if self.conversion is not None:
            parts.append("  " + self.conversion.group_table().replace("\n", "\n  "))
        parts.append("  the rest of the network keeps its initialisation")
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.format()


def _backbone_part(names, prefix: str = "backbone.") -> Tuple[bool, list]:
    """Is this a whole network's file (most names start with ``prefix``)? And the names outside it."""
    names = list(names)
    whole = sum(k.startswith(prefix) for k in names) > len(names) // 2 if names else False
    return whole, sorted(k for k in names if not k.startswith(prefix)) if whole else []


def load_backbone_init(net, path: str, backend: str = "auto") -> BackboneInitReport:
    """Load backbone weights into ``net`` (an AUNet, or a bare IResNet); the rest stays as initialised.

    ``path`` is a converted MindSpore checkpoint (bare IResNet names from ``--kind
    insightface``, or a whole AU net whose ``backbone.*`` entries are taken) or, converted
    on the fly, a PyTorch ``.pth`` (insightface ``backbone.pth``, or an authors' checkpoint
    whose ``backbone.*`` keys are taken). Every backbone parameter must be filled with the
    right shape, else :class:`CheckpointMismatch` / :class:`~mindface_au.convert.ConversionError`
    names the parameters.
    """
    import mindspore as ms

    if not os.path.isfile(path):
        raise FileNotFoundError(f"model.backbone_init: file not found: {path}")
    backbone = getattr(net, "backbone", net)  # an AU net's backbone Cell, or the bare backbone itself
    prefix = "" if backbone is net else "backbone."
    own = OrderedDict((n, p) for n, p in net.parameters_and_names() if n.startswith(prefix))
    bare_shapes = OrderedDict((n[len(prefix):], _shape(p)) for n, p in own.items())
    conversion = None
    if is_torch_file(path):
        sd = read_state_dict(path, backend)
        whole, skipped = _backbone_part(sd)
        if whole:
            sd = OrderedDict((k[len("backbone."):], v) for k, v in sd.items() if k.startswith("backbone."))
        fmt = "pytorch authors checkpoint, backbone part" if whole else "pytorch insightface backbone"
        arrays, conversion = _torch_filter(backbone)(sd, bare_shapes, strict=True, source=path)
        meta = {"converted_from": os.path.basename(path), "source_sha256": sha256_file(path),
                "kind": "insightface (on the fly)"}
    else:
        params, meta = load_checkpoint(path)
        fmt = "mindspore checkpoint"
        whole = any(k.startswith("backbone.") for k in params)
        skipped = sorted(k for k in params if not k.startswith("backbone.")) if whole else []
        if whole:
            params = {k[len("backbone."):]: v for k, v in params.items() if k.startswith("backbone.")}
            fmt += " (backbone part of a whole network)"
        fit = fit_report(bare_shapes, {n: _shape(v) for n, v in params.items()})
        if not fit.ok:
            target = f"the backbone ({net.__class__.__name__}{'.backbone' if prefix else ''})"
            raise CheckpointMismatch(fit.message(f"model.backbone_init: {path}", target))
        arrays = OrderedDict((n, params[n].asnumpy()) for n in bare_shapes)
    for name, value in arrays.items():  # names and shapes were checked above
        param = own[prefix + name]
        param.set_data(ms.Tensor(np.asarray(value, dtype=np.float32), dtype=param.dtype))
    return BackboneInitReport(path=path, source_format=fmt, loaded=[prefix + n for n in arrays], skipped=skipped,
                              conversion=conversion, meta=meta)


__all__ = ["CheckpointMismatch", "FitReport", "fit_report", "load_into", "load_weights", "load_backbone_init",
           "BackboneInitReport", "download_weights", "is_torch_file"]
