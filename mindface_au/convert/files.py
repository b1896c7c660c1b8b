"""Files: ``--arch`` spellings resolved to a backbone name, converted parameters saved as a checkpoint.

Reading a ``.pth`` is :mod:`.pth_reader`; building the network a conversion fills and converting
a file for it is :func:`mindface_au.factory.convert_file` (it builds networks: layer 4).
"""
from __future__ import annotations

from typing import Mapping, Optional

import numpy as np

from ..presets import preset_names

#: ``--arch`` spellings -> registered backbone names.
ARCH_ALIASES = {f"r{d}": f"iresnet{d}" for d in (18, 34, 50, 100, 200)}


def resolve_arch(arch: str) -> str:
    """``'r100'`` or ``'iresnet100'`` -> ``'iresnet100'``."""
    name = ARCH_ALIASES.get(arch, arch)
    backbones = preset_names("backbone")
    if name not in backbones:
        raise ValueError(f"unknown arch {arch!r}; expected one of {sorted(ARCH_ALIASES)} "
                         f"or a registered backbone {backbones}")
    return name


def save_converted(params: Mapping[str, np.ndarray], out: str, meta: Optional[dict] = None) -> str:
    """Write converted parameters as a MindSpore checkpoint (atomic), with ``meta``; returns ``out``."""
    import mindspore as ms

    from ..checkpoint import save_checkpoint

    save_checkpoint([{"name": n, "data": ms.Tensor(np.ascontiguousarray(a))} for n, a in params.items()],
                    out, meta or {})
    return out


__all__ = ["ARCH_ALIASES", "resolve_arch", "save_converted"]
