"""The key mapping engine: a torch state_dict onto a MindSpore network's parameters, and back.

:func:`convert_state_dict` places every torch key by the rules of :mod:`.mapping`, checks every
shape and records all of it in a :class:`~.report.ConversionReport`;
:func:`to_torch_state_dict` / :func:`export_torch` are the reverse map.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Dict, Mapping, Tuple

import numpy as np

from .mapping import AUTHORS_UNSUPPORTED, KINDS, bn_counter_keys, match_torch_key, stacked_rule_of, torch_keys_for
from .pth_writer import write_pth
from .report import ConversionError, ConversionReport, MappedKey


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


def _place_keys(state_dict, kind: str, expected: dict, report: ConversionReport):
    """Step 1: each torch key to its MindSpore parameter. Returns ``(plain, stacks, filled_by)``: whole
    parameters {ms name: array}, the blocks of stacked ones {ms name: {index: (key, array)}}, and which
    key filled each whole parameter; everything else goes into ``report`` (ignored, unused, mismatched)."""
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
    return plain, stacks, filled_by


def _assemble_stacks(stacks: dict, kind: str, expected: dict, report: ConversionReport, plain: dict,
                     filled_by: dict) -> None:
    """Step 2: a stacked parameter (e.g. the per-AU linears) from its blocks, when every block is there
    with the right shape; into ``plain`` and ``filled_by``, the rest into ``report``."""
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


def _report_missing(kind: str, expected: dict, report: ConversionReport, stacks: dict, filled_by: dict) -> None:
    """Step 3: every network parameter nothing filled (nor mis-shaped), with the torch keys it wants."""
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
    plain, stacks, filled_by = _place_keys(state_dict, kind, expected, report)
    _assemble_stacks(stacks, kind, expected, report, plain, filled_by)
    _report_missing(kind, expected, report, stacks, filled_by)
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


__all__ = ["convert_state_dict", "to_torch_state_dict", "export_torch"]
