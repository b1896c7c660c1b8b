"""Files in, files out: which network a conversion fills, a ``.pth`` converted, the result saved."""
from __future__ import annotations

import os
from typing import Iterable, Mapping, Optional

import numpy as np

from .mapping import KINDS
from .pth_reader import read_state_dict
from .state_dict import convert_state_dict
from .zoo import sha256_file

#: ``--arch`` spellings -> registered backbone names.
ARCH_ALIASES = {f"r{d}": f"iresnet{d}" for d in (18, 34, 50, 100, 200)}


def resolve_arch(arch: str) -> str:
    """``'r100'`` or ``'iresnet100'`` -> ``'iresnet100'``."""
    from ..models import list_models

    name = ARCH_ALIASES.get(arch, arch)
    if name not in list_models("backbone"):
        raise ValueError(f"unknown arch {arch!r}; expected one of {sorted(ARCH_ALIASES)} "
                         f"or a registered backbone {list_models('backbone')}")
    return name


def build_target(kind: str, arch: Optional[str] = None, config: Optional[str] = None,
                 overrides: Iterable[str] = ()):
    """The MindSpore network a conversion fills, and the resolved config.

    ``insightface``: the bare backbone (``--arch``, or the config's ``model.backbone``) at the
    config's ``model.input_size``. ``authors``: the whole AU net of the config (defaults = the
    paper's model) with ``model.backbone`` set from ``arch``. A config naming another backbone
    than ``arch`` is an error.
    """
    from ..config import ConfigError, load_config
    from ..models import build_model, create_model

    cfg = load_config(config, overrides)
    if arch is not None:
        backbone = resolve_arch(arch)
        if config is not None and cfg["model"]["backbone"] != backbone:
            raise ConfigError(f"{config}: model.backbone is {cfg['model']['backbone']!r} but --arch says "
                              f"{arch!r} ({backbone}); drop one of them")
        cfg["model"]["backbone"] = backbone
    if kind == "insightface":
        net = create_model(cfg["model"]["backbone"], input_size=cfg["model"]["input_size"])
    elif kind == "authors":
        net = build_model(cfg)
    else:
        raise ValueError(f"unknown source kind {kind!r}; expected one of {KINDS}")
    return net, cfg


def convert_file(src: str, kind: str, arch: Optional[str] = None, config: Optional[str] = None,
                 overrides: Iterable[str] = (), backend: str = "auto", strict: bool = True):
    """Read ``src`` (.pth) and convert it for the network of (kind, arch, config).

    Returns ``(params, report, meta)``; ``meta`` records the source file, its sha256, the
    kind, the backbone and (for ``authors``) the resolved config, for ``save_converted``.
    """
    state_dict = read_state_dict(src, backend)
    net, cfg = build_target(kind, arch, config, overrides)
    params, report = convert_state_dict(state_dict, kind, net, strict=strict, source=src)
    meta = {"kind": kind, "converted_from": os.path.basename(src), "source_sha256": sha256_file(src),
            "backbone": cfg["model"]["backbone"], "input_size": cfg["model"]["input_size"],
            "conversion": report.counts()}
    if kind == "authors":
        meta["config"] = cfg
    return params, report, meta


def save_converted(params: Mapping[str, np.ndarray], out: str, meta: Optional[dict] = None) -> str:
    """Write converted parameters as a MindSpore checkpoint (atomic), with ``meta``; returns ``out``."""
    import mindspore as ms

    from ..checkpoint import save_checkpoint

    save_checkpoint([{"name": n, "data": ms.Tensor(np.ascontiguousarray(a))} for n, a in params.items()],
                    out, meta or {})
    return out


__all__ = ["ARCH_ALIASES", "resolve_arch", "build_target", "convert_file", "save_converted"]
