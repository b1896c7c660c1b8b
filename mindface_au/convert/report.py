"""The record of one conversion: mapped, ignored, unused and missing keys, as data and as a table."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from .mapping import shape_str


_PARAM_NAMES = {"weight", "bias", "running_mean", "running_var", "num_batches_tracked", "gamma", "beta",
                "moving_mean", "moving_variance", "w", "in_proj_weight", "in_proj_bias"}


@dataclass
class MappedKey:
    torch_key: str
    ms_name: str
    shape: Tuple[int, ...]
    note: str = ""  # e.g. "rows 512:1024" for a stacked parameter, "float16 -> float32"


@dataclass
class ConversionReport:
    """What happened to every key.

    mapped: torch key -> MindSpore parameter; ignored: ``num_batches_tracked``; unused: torch
    keys that could not be placed (with the reason); missing: MindSpore parameters that no
    key filled; mismatched: keys whose shape does not fit their parameter.
    """

    kind: str
    source: str = "<state_dict>"
    mapped: List[MappedKey] = field(default_factory=list)
    ignored: List[str] = field(default_factory=list)
    unused: List[Tuple[str, str]] = field(default_factory=list)
    missing: List[Tuple[str, str]] = field(default_factory=list)  # (ms name, torch key it expects)
    mismatched: List[Tuple[str, str, Tuple[int, ...], Tuple[int, ...]]] = field(default_factory=list)
    hints: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.unused or self.missing or self.mismatched)

    @property
    def num_torch_keys(self) -> int:
        return len({m.torch_key for m in self.mapped}) + len(self.ignored) + len(self.unused) + len(
            {m[0] for m in self.mismatched})

    def counts(self) -> dict:
        return {"torch_keys": self.num_torch_keys, "mapped": len(self.mapped), "ignored": len(self.ignored),
                "unused": len(self.unused), "missing": len(self.missing), "mismatched": len(self.mismatched)}

    def group_table(self) -> str:
        """One row per module group (``layer3``, ``neck.gnn``, ...): how many keys were mapped/ignored/unused/missing."""
        groups: "OrderedDict[str, List[int]]" = OrderedDict()

        def bump(name: str, col: int):
            parts = name.split(".")
            if parts[-1] in _PARAM_NAMES:
                parts = parts[:-1]
            key = ".".join(parts[:2]) if parts[0] in ("backbone", "neck", "head") else parts[0]
            groups.setdefault(key, [0, 0, 0, 0, 0])[col] += 1

        for m in self.mapped:
            bump(m.torch_key, 0)
        for k in self.ignored:
            bump(k, 1)
        for k, _ in self.unused:
            bump(k, 2)
        for name, expected in self.missing:
            bump(expected or name, 3)
        for k, *_ in self.mismatched:
            bump(k, 4)
        head = ("group", "mapped", "ignored", "unused", "missing", "mis-shaped")
        rows = [head] + [(g, *map(str, c)) for g, c in groups.items()]
        totals = [sum(c[i] for c in groups.values()) for i in range(5)]
        rows.append(("TOTAL", *map(str, totals)))
        width = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = []
        for i, r in enumerate(rows):
            lines.append("  ".join(c.ljust(width[j]) if j == 0 else c.rjust(width[j]) for j, c in enumerate(r)))
            if i == 0 or i == len(rows) - 2:
                lines.append("  ".join("-" * w for w in width))
        return "\n".join(lines)

    def format(self, verbose: bool = False, limit: Optional[int] = 50) -> str:
        """The table, then every problem by name (and every mapping with ``verbose``)."""
        out = [f"conversion of {self.source} ({self.kind})", self.group_table()]
        if verbose:
            out.append("mapped keys:")
            out += [f"  {m.torch_key} -> {m.ms_name} {shape_str(m.shape)}{'  ' + m.note if m.note else ''}"
                    for m in self.mapped]

        def section(title, items):
            if not items:
                return
            out.append(f"{title} ({len(items)}):")
            shown = items if limit is None else items[:limit]
            out.extend(f"  {line}" for line in shown)
            if len(shown) < len(items):
                out.append(f"  ... and {len(items) - len(shown)} more")

        section("UNUSED torch keys", [f"{k}: {why}" for k, why in self.unused])
        section("MISSING MindSpore parameters",
                [f"{n} (expects torch key {k})" if k else n for n, k in self.missing])
        section("MIS-SHAPED", [f"{k} -> {n}: checkpoint {shape_str(a)} vs network {shape_str(b)}"
                               for k, n, a, b in self.mismatched])
        for h in self.hints:
            out.append(f"hint: {h}")
        out.append("OK: every key placed, every parameter filled" if self.ok else "FAILED")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.format()


class ConversionError(ValueError):
    """A state_dict that does not convert cleanly; ``.report`` holds the details."""

    def __init__(self, report: ConversionReport):
        self.report = report
        super().__init__(report.format(limit=20))


__all__ = ["MappedKey", "ConversionReport", "ConversionError"]
