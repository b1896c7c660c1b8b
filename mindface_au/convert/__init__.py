"""PyTorch weights -> MindSpore: insightface IResNet backbones and the authors' AU checkpoints.

Typical use (the CLI is ``tools/convert_weights.py``)::

    from mindface_au.convert import convert_file, save_converted, load_backbone_init

    params, report, meta = convert_file("glint360k_r100.pth", kind="insightface", arch="r100")
    print(report)                          # table of mapped / ignored / unused / missing keys
    save_converted(params, "iresnet100_glint360k.ckpt", meta)

    net = build_model(cfg)                 # cfg["model"]["backbone_init"] = that file
    print(load_backbone_init(net, cfg["model"]["backbone_init"]))

Reading never runs pickled code (:mod:`.pth_reader`); every key must be placed and every
shape must fit, else :class:`ConversionError` lists the offending keys by name
(``num_batches_tracked`` is ignored by name). The key maps are in :mod:`.mapping`.

Outputs:

* ``insightface``: the bare IResNet's parameters (``conv1.weight``, ...), loadable into
  ``create_model('iresnet100')`` or, through :func:`load_backbone_init`, into an AU net.
* ``authors``: the whole :class:`~mindface_au.models.AUNet` (``backbone.*``, ``lrp.*``,
  ``arl.*``, ``fusion.*``, ...), with the resolved config saved in the checkpoint's meta.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from typing import Dict, Iterable, Mapping, Optional, Tuple

import numpy as np

from .mapping import (AUTHORS_UNSUPPORTED, KINDS, bn_counter_keys, match_torch_key, stacked_rule_of,
                      torch_keys_for)
from .pth_reader import PthError, UnsafePickleError, read_state_dict
from .pth_writer import write_pth
from .report import BackboneInitReport, ConversionError, ConversionReport, MappedKey
from .zoo import rename_to_zoo, sha256_file, verify_zoo_file, zoo_filename

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


def _expected_shapes(target) -> "OrderedDict[str, Tuple[int, ...]]":
    if isinstance(target, Mapping):
        return OrderedDict((k, tuple(int(s) for s in v)) for k, v in target.items())
    return OrderedDict((n, tuple(int(s) for s in p.shape)) for n, p in target.parameters_and_names())


def _stack_size(ms_name: str, expected: Mapping[str, Tuple[int, ...]]) -> int:
    """Blocks in a stacked parameter: its Dense weight is (n*C, C), so n = rows / columns."""
    base = ms_name.rsplit(".", 1)[0]
    rows, cols = expected[f"{base}.weight"][:2]
    if rows % cols:
        raise ValueError(f"{base}.weight {expected[f'{base}.weight']} is not a stack of square blocks")
    return rows // cols


def convert_state_dict(state_dict: Mapping[str, np.ndarray], kind: str, target, strict: bool = True,
                       source: str = "<state_dict>") -> Tuple["OrderedDict[str, np.ndarray]", ConversionReport]:
    """Map a torch state_dict onto a MindSpore network's parameters.

    Args:
        state_dict: torch key -> array (``module.`` already stripped; see ``read_state_dict``).
        kind: ``insightface`` (bare IResNet) or ``authors`` (the full AU net).
        target: the MindSpore Cell to fill, or its {parameter name: shape}.
        strict: raise :class:`ConversionError` unless every key is placed (or ignored by name),
            every parameter is filled and every shape fits.

    Returns:
        (params, report): {MindSpore name: float32 array} in the network's order, and the report.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown source kind {kind!r}; expected one of {KINDS}")
    expected = _expected_shapes(target)
    report = ConversionReport(kind=kind, source=source)
    plain: Dict[str, np.ndarray] = {}
    stacks: Dict[str, Dict[int, Tuple[str, np.ndarray]]] = {}
    filled_by: Dict[str, str] = {}

    for key, value in state_dict.items():
        value = np.asarray(value)
        match = match_torch_key(key, kind)
        if match.reason == "ignored":
            report.ignored.append(key)
            continue
        if match.ms_name is None:
            report.unused.append((key, match.reason))
            continue
        if match.ms_name not in expected:
            report.unused.append((key, f"maps to {match.ms_name}, which this network does not have"))
            continue
        if value.dtype.kind not in "fc":
            report.unused.append((key, f"holds {value.dtype} values where a float parameter is expected"))
            continue
        if match.index is not None:
            slot = stacks.setdefault(match.ms_name, {})
            if match.index in slot:
                report.unused.append((key, f"duplicate of {slot[match.index][0]}"))
            else:
                slot[match.index] = (key, value)
            continue
        if match.ms_name in filled_by:
            report.unused.append((key, f"duplicate: {match.ms_name} already filled from {filled_by[match.ms_name]}"))
            continue
        want = expected[match.ms_name]
        if tuple(value.shape) != want:
            report.mismatched.append((key, match.ms_name, tuple(value.shape), want))
            continue
        filled_by[match.ms_name] = key
        plain[match.ms_name] = value.astype(np.float32)
        note = f"{value.dtype} -> float32" if value.dtype != np.float32 else ""
        report.mapped.append(MappedKey(key, match.ms_name, want, note))

    for ms_name, blocks in stacks.items():
        want = expected[ms_name]
        n = _stack_size(ms_name, expected)
        rows = want[0] // n
        block_shape = (rows,) + want[1:]
        keys_expected = torch_keys_for(ms_name, kind, stack_size=n)
        good = True
        for index in sorted(blocks):
            key, value = blocks[index]
            if index >= n:
                report.unused.append((key, f"block {index} of {ms_name}, which holds {n} blocks"))
                good = False
            elif tuple(value.shape) != block_shape:
                report.mismatched.append((key, f"{ms_name}[{index * rows}:{(index + 1) * rows}]",
                                          tuple(value.shape), block_shape))
                good = False
        absent = [keys_expected[i] for i in range(n) if i not in blocks]
        for k in absent:
            report.missing.append((ms_name, k))
        if not good or absent:
            continue
        plain[ms_name] = np.concatenate([blocks[i][1] for i in range(n)], axis=0).astype(np.float32)
        for i in range(n):
            key, value = blocks[i]
            note = f"rows {i * rows}:{(i + 1) * rows}" + (f", {value.dtype} -> float32"
                                                          if value.dtype != np.float32 else "")
            report.mapped.append(MappedKey(key, ms_name, block_shape, note))
        filled_by[ms_name] = blocks[0][0]

    mismatched_targets = {m[1].split("[")[0] for m in report.mismatched}
    for ms_name in expected:
        if ms_name in filled_by or ms_name in stacks or ms_name in mismatched_targets:
            continue
        try:
            rule = stacked_rule_of(ms_name, kind)
            n = _stack_size(ms_name, expected) if rule else None
            keys = torch_keys_for(ms_name, kind, stack_size=n)
        except KeyError:
            keys = [""]
        for k in keys:
            report.missing.append((ms_name, k))

    order = {k: i for i, k in enumerate(state_dict)}
    report.mapped.sort(key=lambda m: order[m.torch_key])
    report.hints = _hints(report, kind, state_dict, expected)
    if strict and not report.ok:
        raise ConversionError(report)
    params = OrderedDict((n, plain[n]) for n in expected if n in plain)
    return params, report


def _hints(report: ConversionReport, kind: str, state_dict, expected) -> list:
    keys = list(state_dict)
    hints = []
    prefixed = sum(k.startswith(("backbone.", "neck.", "head.")) for k in keys)
    if kind == "insightface" and prefixed > len(keys) // 2:
        hints.append("the keys start with backbone./neck./head.: this is an mmcls (authors') checkpoint; "
                     "use --kind authors")
    if kind == "authors" and prefixed == 0 and any(k in ("conv1.weight", "fc.weight") for k in keys):
        hints.append("the keys have no backbone./neck./head. prefix: this is a plain IResNet; use --kind insightface")
    ckpt_layers = {int(k.split("neck_transformer_layer")[1].split(".")[0]) for k in keys
                   if "neck_transformer_layer" in k}
    net_layers = {int(n.split(".")[2]) for n in expected if n.startswith("fusion.layers.")}
    if kind == "authors" and ckpt_layers != net_layers:
        if ckpt_layers and net_layers:
            hints.append(f"the checkpoint has {len(ckpt_layers)} encoder layers, the network "
                         f"{len(net_layers)}: --set model.fusion.num_layers={len(ckpt_layers)} "
                         "(the authors' training config has 4, their test config 2)")
        elif ckpt_layers:
            hints.append("the checkpoint has attention-fusion encoder layers: --set model.fusion.kind=attention")
        elif net_layers:
            hints.append("the checkpoint has no fusion encoder (the authors' fixed-weight variant): "
                         "--set model.fusion.kind=fixed")
    if any(k.startswith(tuple(AUTHORS_UNSUPPORTED)) for k in keys) and kind == "authors":
        hints.append("the checkpoint comes from a variant of the authors' model that this port does not implement")
    if any(m[1] in ("fc.weight", "backbone.fc.weight") for m in report.mismatched):
        hints.append("the embedding fc does not fit: the network's model.input_size must be 112 "
                     "(25088 = 512 x 7 x 7 inputs)")
    if any(".lanets." in n for n, _ in report.missing) and any("lanets" in k and ".body.1." in k
                                                               for k, _ in report.unused):
        hints.append("LANets with BN+ReLU (model.lrp.bn_relu) cannot take the authors' weights: set it false")
    return hints


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


def to_torch_state_dict(params: Mapping[str, np.ndarray], kind: str) -> "OrderedDict[str, np.ndarray]":
    """The reverse map: MindSpore parameters -> a torch state_dict of ``kind``.

    Stacked parameters are split back into their blocks; every BatchNorm gets a
    ``num_batches_tracked`` of 0 so that ``load_state_dict(strict=True)`` accepts the result.
    Raises ``KeyError`` naming a parameter that no rule covers.
    """
    expected = {n: tuple(np.shape(a)) for n, a in params.items()}
    out: "OrderedDict[str, np.ndarray]" = OrderedDict()
    for name, value in params.items():
        value = np.asarray(value)
        if stacked_rule_of(name, kind) is not None:
            n = _stack_size(name, expected)
            for key, block in zip(torch_keys_for(name, kind, stack_size=n), np.split(value, n, axis=0)):
                out[key] = np.ascontiguousarray(block)
        else:
            (key,) = torch_keys_for(name, kind)
            out[key] = value
    for key in bn_counter_keys(list(params), kind):
        out[key] = np.zeros((), dtype=np.int64)
    return out


def export_torch(params: Mapping[str, np.ndarray], kind: str, out: str, legacy: bool = False) -> str:
    """Write MindSpore parameters as a torch ``.pth`` of ``kind`` (no PyTorch needed); returns ``out``."""
    return write_pth(to_torch_state_dict(params, kind), out, legacy=legacy)


def _is_torch_file(path: str) -> bool:
    import zipfile

    if path.endswith((".pth", ".pt", ".bin")):
        return True
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            return any(n.endswith("/data.pkl") for n in zf.namelist())
    return False


def load_backbone_init(net, path: str, backend: str = "auto") -> BackboneInitReport:
    """Load backbone weights into ``net`` (an AUNet, or a bare IResNet); the rest stays as initialised.

    ``path`` is a converted MindSpore checkpoint (bare IResNet names from ``--kind
    insightface``, or a whole AU net whose ``backbone.*`` entries are taken) or, converted
    on the fly, a PyTorch ``.pth`` (insightface ``backbone.pth``, or an authors' checkpoint
    whose ``backbone.*`` keys are taken). Every backbone parameter must be filled with the
    right shape, else :class:`~mindface_au.checkpoint.CheckpointMismatch` /
    :class:`ConversionError` names the parameters. Returns a :class:`BackboneInitReport`.
    """
    import mindspore as ms

    from ..checkpoint import CheckpointMismatch, load_checkpoint

    if not os.path.isfile(path):
        raise FileNotFoundError(f"model.backbone_init: file not found: {path}")
    prefix = "backbone." if hasattr(net, "backbone") else ""
    own = OrderedDict((n, p) for n, p in net.parameters_and_names() if n.startswith(prefix))
    bare_shapes = OrderedDict((n[len(prefix):], tuple(p.shape)) for n, p in own.items())
    meta: dict = {}
    conversion = None
    if _is_torch_file(path):
        sd = read_state_dict(path, backend)
        skipped = []
        if sum(k.startswith("backbone.") for k in sd) > len(sd) // 2:
            skipped = [k for k in sd if not k.startswith("backbone.")]
            sd = OrderedDict((k[len("backbone."):], v) for k, v in sd.items() if k.startswith("backbone."))
            fmt = "pytorch authors checkpoint, backbone part"
        else:
            fmt = "pytorch insightface backbone"
        arrays, conversion = convert_state_dict(sd, "insightface", bare_shapes, strict=True, source=path)
        meta = {"converted_from": os.path.basename(path), "source_sha256": sha256_file(path),
                "kind": "insightface (on the fly)"}
    else:
        params, meta = load_checkpoint(path)
        fmt = "mindspore checkpoint"
        if any(k.startswith("backbone.") for k in params):
            skipped = sorted(k for k in params if not k.startswith("backbone."))
            params = {k[len("backbone."):]: v for k, v in params.items() if k.startswith("backbone.")}
            fmt += " (backbone part of a whole network)"
        else:
            skipped = []
        missing = sorted(n for n in bare_shapes if n not in params)
        unexpected = sorted(n for n in params if n not in bare_shapes)
        mismatched = sorted(f"{n}: checkpoint {tuple(params[n].shape)} vs network {bare_shapes[n]}"
                            for n in bare_shapes if n in params and tuple(params[n].shape) != bare_shapes[n])
        if missing or unexpected or mismatched:
            lines = [f"model.backbone_init: {path} does not fit the backbone ({net.__class__.__name__}"
                     f"{'.backbone' if prefix else ''}):"]
            for title, items in (("missing", missing), ("unexpected", unexpected), ("mismatched", mismatched)):
                if items:
                    lines.append(f"  {title} ({len(items)}): " + ", ".join(items[:20])
                                 + (" ..." if len(items) > 20 else ""))
            if mismatched and any(m.startswith("fc.weight") for m in mismatched):
                lines.append("  hint: the embedding fc fits only model.input_size 112 for insightface weights")
            raise CheckpointMismatch("\n".join(lines))
        arrays = OrderedDict((n, params[n].asnumpy()) for n in bare_shapes)
    for name, value in arrays.items():  # names and shapes were checked above
        param = own[prefix + name]
        param.set_data(ms.Tensor(np.asarray(value, dtype=np.float32), dtype=param.dtype))
    return BackboneInitReport(path=path, source_format=fmt, loaded=[prefix + n for n in arrays], skipped=skipped,
                              conversion=conversion, meta=meta)


__all__ = ["convert_state_dict", "convert_file", "build_target", "save_converted", "load_backbone_init",
           "to_torch_state_dict", "export_torch", "read_state_dict", "write_pth", "resolve_arch",
           "zoo_filename", "rename_to_zoo", "verify_zoo_file", "sha256_file", "ConversionReport",
           "ConversionError", "BackboneInitReport", "PthError", "UnsafePickleError", "KINDS", "ARCH_ALIASES"]
