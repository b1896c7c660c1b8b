"""Key maps between PyTorch state_dicts and this package's MindSpore parameter names.

Two kinds of source:

* ``insightface``: an ``arcface_torch`` IResNet ``backbone.pth`` (plain state_dict:
  ``conv1.weight``, ``layer3.7.bn2.running_var``, ``fc.weight``, ``features.weight``, ...)
  <-> the bare IResNet of :mod:`mindface_au.models.iresnet` (``conv1.weight``,
  ``layer3.7.bn2.moving_variance``, ...).
* ``authors``: a checkpoint of the authors' mmcls model (``backbone.*``, ``neck.*``,
  ``head.*``) <-> :class:`mindface_au.models.AUNet` (``backbone.*``, ``lrp.*``, ``arl.*``,
  ``au_classifier.*``, ``backbone_head.*``, ``fusion.*``).

Each :class:`Rule` pairs a PyTorch module path with a MindSpore cell path (``{i}`` stands
for a number, the same on both sides) and maps the module's parameter names (BatchNorm
``weight/bias/running_mean/running_var`` -> ``gamma/beta/moving_mean/moving_variance``,
PReLU ``weight`` -> ``w``, LayerNorm ``weight/bias`` -> ``gamma/beta``, MultiheadAttention
``in_proj_weight`` -> ``in_proj.weight``). ``num_batches_tracked`` is ignored by name.

The authors keep 12 per-AU ``Linear(C, C)`` layers (``neck.class_linears.{au}.fc``); this
port stacks them in one Dense ``arl.au_linears`` of weight (12*C, C): rows [au*C, (au+1)*C)
are AU ``au`` (a *stacked* rule).

Shapes are never reshaped: every tensor must have exactly the MindSpore parameter's shape
(both frameworks store Linear as (out, in) and Conv as (out, in, kh, kw)).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

KINDS = ("insightface", "authors")

IGNORE = None  # a parameter mapped to IGNORE is dropped by name (``num_batches_tracked``)

BN = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean", "running_var": "moving_variance",
      "num_batches_tracked": IGNORE}
LINEAR = {"weight": "weight", "bias": "bias"}
CONV = {"weight": "weight"}
CONV_BIAS = {"weight": "weight", "bias": "bias"}
PRELU = {"weight": "w"}
LAYERNORM = {"weight": "gamma", "bias": "beta"}
TENSOR = {"": ""}  # a bare parameter (the module path is the full key)


@dataclass(frozen=True)
class Rule:
    """``torch_path.<tp>`` <-> ``ms_path.<params[tp]>`` for each parameter ``tp``.

    ``{name}`` placeholders match a non-negative integer and carry over. With ``stack`` set
    to a placeholder name, every value of it maps into one MindSpore parameter, stacked
    along axis 0 in increasing order (block ``k`` = rows [k*r, (k+1)*r)).
    """

    torch_path: str
    ms_path: str
    params: Dict[str, Optional[str]]
    stack: Optional[str] = None
    what: str = ""

    def _regex(self, template: str, suffixes) -> "re.Pattern":
        body = re.escape(template)
        body = re.sub(r"\\\{(\w+)\\\}", lambda m: f"(?P<{m.group(1)}>\\d+)", body)
        alts = "|".join(re.escape(s) for s in suffixes if s is not None)
        if "" in suffixes:
            return re.compile(f"^{body}$")
        return re.compile(f"^{body}\\.(?P<_param>{alts})$")

    def match_torch(self, key: str):
        """``key`` -> (ms name or IGNORE, stack index or None), or None when this rule does not apply."""
        m = self._regex(self.torch_path, list(self.params)).match(key)
        if m is None:
            return None
        groups = {k: v for k, v in m.groupdict().items() if k != "_param"}
        tp = m.groupdict().get("_param", "")
        mp = self.params[tp]
        if mp is IGNORE:
            return IGNORE, None
        index = None
        if self.stack:
            index = int(groups.pop(self.stack))
        base = self.ms_path.format(**groups)
        return (f"{base}.{mp}" if mp else base), index

    def match_ms(self, name: str):
        """MindSpore ``name`` -> torch key template (``{stack}`` left open when stacked), or None."""
        inverse = {v: k for k, v in self.params.items() if v is not None}
        m = self._regex(self.ms_path, list(inverse)).match(name)
        if m is None:
            return None
        groups = {k: v for k, v in m.groupdict().items() if k != "_param"}
        mp = m.groupdict().get("_param", "")
        if self.stack:
            groups[self.stack] = "{" + self.stack + "}"
        base = self.torch_path.format(**groups)
        tp = inverse[mp]
        return f"{base}.{tp}" if tp else base


def _backbone_rules(torch_prefix: str = "", ms_prefix: str = "") -> List[Rule]:
    t, s = torch_prefix, ms_prefix
    block = "layer{stage}.{block}"
    return [
        Rule(f"{t}conv1", f"{s}conv1", CONV, what="stem conv"),
        Rule(f"{t}bn1", f"{s}bn1", BN, what="stem BN"),
        Rule(f"{t}prelu", f"{s}prelu", PRELU, what="stem PReLU"),
        Rule(f"{t}{block}.bn{{j}}", f"{s}{block}.bn{{j}}", BN, what="block BN"),
        Rule(f"{t}{block}.conv{{j}}", f"{s}{block}.conv{{j}}", CONV, what="block conv"),
        Rule(f"{t}{block}.prelu", f"{s}{block}.prelu", PRELU, what="block PReLU"),
        Rule(f"{t}{block}.downsample.0", f"{s}{block}.downsample.0", CONV, what="shortcut conv"),
        Rule(f"{t}{block}.downsample.1", f"{s}{block}.downsample.1", BN, what="shortcut BN"),
        Rule(f"{t}bn2", f"{s}bn2", BN, what="feature-map BN"),
        Rule(f"{t}fc", f"{s}fc", LINEAR, what="embedding fc"),
        Rule(f"{t}features", f"{s}features", BN, what="embedding BN (gamma frozen)"),
    ]


_ENC = "neck.encoder_layers.neck_transformer_layer{layer}"
_MS_ENC = "fusion.layers.{layer}"

AUTHORS_HEAD_RULES = [
    Rule("neck.lanets.neck_lanets{map}.{conv}", "lrp.lanets.{map}.body.{conv}", CONV_BIAS, what="LANet 1x1 conv"),
    Rule("neck.global_linear.fc", "arl.global_linear", LINEAR, what="ARL global linear"),
    Rule("neck.class_linears.{au}.fc", "arl.au_linears", LINEAR, stack="au", what="ARL per-AU linear (stacked)"),
    Rule("neck.gnn.U", "arl.graph.U", LINEAR, what="FGG U"),
    Rule("neck.gnn.V", "arl.graph.V", LINEAR, what="FGG V"),
    Rule("neck.gnn.bnv", "arl.graph.bn", BN, what="FGG node BN"),
    Rule("neck.fusion_weight_token", "fusion.weight_token", TENSOR, what="fusion weight token"),
    Rule(f"{_ENC}.self_attn", f"{_MS_ENC}.attn.in_proj", {"in_proj_weight": "weight", "in_proj_bias": "bias"},
         what="attention in_proj (q, k, v)"),
    Rule(f"{_ENC}.self_attn.out_proj", f"{_MS_ENC}.attn.out_proj", LINEAR, what="attention out_proj"),
    Rule(f"{_ENC}.linear1", f"{_MS_ENC}.linear1", LINEAR, what="encoder FFN 1"),
    Rule(f"{_ENC}.linear2", f"{_MS_ENC}.linear2", LINEAR, what="encoder FFN 2"),
    Rule(f"{_ENC}.norm1", f"{_MS_ENC}.norm1", LAYERNORM, what="encoder LayerNorm 1"),
    Rule(f"{_ENC}.norm2", f"{_MS_ENC}.norm2", LAYERNORM, what="encoder LayerNorm 2"),
    Rule("head.fc", "au_classifier", LINEAR, what="shared AU classifier"),
    Rule("head.fc_backbone_out", "backbone_head", LINEAR, what="backbone logits"),
    Rule("head.fc_fusion_weight", "fusion.weight_head", LINEAR, what="fusion weight head"),
]

#: Parts of the authors' code base that this port does not implement: key prefix -> what it is.
AUTHORS_UNSUPPORTED = {
    "neck.residual_attention.": "the CSRA residual-attention variant (use_csra=True)",
    "head.fcs.": "the per-class heads of the transformer-neck variant (use_transformer_neck=True)",
    "neck.edge_extractor.": "ME-GraphAU's edge extractor (GEM), commented out in the authors' final model",
    "neck.sc": "ME-GraphAU's similarity classifier, commented out in the authors' final model",
}


def rules_for(kind: str) -> List[Rule]:
    """The rules of one source kind."""
    if kind == "insightface":
        return _backbone_rules()
    if kind == "authors":
        return _backbone_rules("backbone.", "backbone.") + AUTHORS_HEAD_RULES
    raise ValueError(f"unknown source kind {kind!r}; expected one of {KINDS}")


def is_ignored(key: str) -> bool:
    """Keys dropped by name whatever the rule: BatchNorm's ``num_batches_tracked`` counters."""
    return key.endswith(".num_batches_tracked") or key == "num_batches_tracked"


@dataclass
class KeyMatch:
    """Where one torch key goes: ``ms_name`` (None if ignored), ``index`` into a stacked parameter."""

    key: str
    ms_name: Optional[str]
    index: Optional[int] = None
    rule: Optional[Rule] = None
    reason: str = ""  # why a key could not be placed (unknown / unsupported)


def match_torch_key(key: str, kind: str) -> KeyMatch:
    """Place one torch key (after ``module.`` stripping). ``ms_name`` None + ``reason`` = cannot place."""
    if is_ignored(key):
        return KeyMatch(key, None, reason="ignored")
    for rule in rules_for(kind):
        hit = rule.match_torch(key)
        if hit is not None:
            ms_name, index = hit
            if ms_name is IGNORE:
                return KeyMatch(key, None, reason="ignored")
            return KeyMatch(key, ms_name, index, rule)
    if kind == "authors":
        for prefix, what in AUTHORS_UNSUPPORTED.items():
            if key.startswith(prefix):
                return KeyMatch(key, None, reason=f"belongs to {what}, which this port does not implement")
    return KeyMatch(key, None, reason=f"unknown {kind} key (no mapping rule)")


def torch_keys_for(ms_name: str, kind: str, stack_size: Optional[int] = None) -> List[str]:
    """The torch key(s) of one MindSpore parameter (several for a stacked one: ``stack_size`` of them).

    Raises ``KeyError`` for a name that no rule covers.
    """
    for rule in rules_for(kind):
        key = rule.match_ms(ms_name)
        if key is not None:
            if rule.stack:
                if stack_size is None:
                    raise ValueError(f"{ms_name}: a stacked parameter needs stack_size")
                return [key.format(**{rule.stack: k}) for k in range(stack_size)]
            return [key]
    raise KeyError(f"no {kind} torch key for MindSpore parameter {ms_name!r}")


def stacked_rule_of(ms_name: str, kind: str) -> Optional[Rule]:
    """The stacked rule that produces ``ms_name``, if any."""
    for rule in rules_for(kind):
        if rule.stack and rule.match_ms(ms_name) is not None:
            return rule
    return None


def bn_counter_keys(ms_names, kind: str) -> List[str]:
    """``num_batches_tracked`` keys that a torch state_dict has for the BNs among ``ms_names``."""
    out = []
    for name in ms_names:
        if name.endswith(".moving_mean"):
            key = torch_keys_for(name, kind)[0]
            out.append(key[: -len("running_mean")] + "num_batches_tracked")
    return out


def shape_str(shape: Tuple[int, ...]) -> str:
    return "(" + ", ".join(str(int(s)) for s in shape) + ")"


__all__ = ["KINDS", "Rule", "KeyMatch", "rules_for", "match_torch_key", "torch_keys_for", "stacked_rule_of",
           "bn_counter_keys", "is_ignored", "AUTHORS_UNSUPPORTED", "shape_str"]
