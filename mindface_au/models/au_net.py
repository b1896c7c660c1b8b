"""The assembled AU network: IResNet + LRP + ARL + backbone logits + feature fusion.

(B, 3, S, S) image -> (B, n) logits (inference applies sigmoid: :class:`WithSigmoid`).

    fmap, emb = backbone(x)                          (B, C, s, s), (B, d)
    backbone_logits = Dense(d -> n)(emb)             (B, n)
    fmap' = LRP(fmap)             if lrp             (B, C, s, s)
    nodes = ARL(fmap')            if arl             (B, n, C)
    au_logits = shared Dense(C -> 1)(nodes)          (B, n)
    logits = fusion(au_logits, backbone_logits, emb, nodes)   fixed | attention
           = au_logits            if arl and fusion == 'none'
           = backbone_logits      if not arl (the baseline)

The switches give every row of the paper's ablation (Table 3) as a config: baseline
(arl off), +ARL (arl on, fusion none), +LRP (lrp on), +FF (fusion attention or fixed).
"""
from __future__ import annotations

import mindspore.nn as nn
import mindspore.ops as ops
from mindspore.common.initializer import Normal, Zero

from .fusion import AttentionFusion, FixedFusion
from .graph import AURelationLearning
from .layers import TokenDense
from .lrp import LocalRegionPerception
from .registry import create_model, list_models, register_model


class AUNet(nn.Cell):
    """AU detector. ``construct(x (B,3,S,S)) -> logits (B, num_aus)``.

    Args:
        backbone: a Cell returning (feature map (B, C, s, s), embedding (B, d)) with attributes
            ``out_channels`` (C) and ``embedding_dim`` (d).
        lrp, arl: LocalRegionPerception / AURelationLearning or None.
        fusion: FixedFusion / AttentionFusion or None.
    """

    def __init__(self, backbone: nn.Cell, num_aus: int = 12, lrp=None, arl=None, fusion=None):
        super().__init__()
        if fusion is not None and arl is None:
            raise ValueError("feature fusion needs the AU relationship branch (arl)")
        self.backbone = backbone
        self.num_aus = num_aus
        self.backbone_head = nn.Dense(backbone.embedding_dim, num_aus, weight_init=Normal(0.01), bias_init=Zero())
        self.use_lrp = lrp is not None
        self.use_arl = arl is not None
        self.use_fusion = fusion is not None
        if self.use_lrp:
            self.lrp = lrp
        if self.use_arl:
            self.arl = arl
            self.au_classifier = TokenDense(arl.channels, 1, weight_init=Normal(0.01), bias_init=Zero())
        if self.use_fusion:
            self.fusion = fusion

    def stages(self, x):
        """All intermediates (for tests and analysis): dict name -> Tensor."""
        out = {}
        fmap, emb = self.backbone(x)
        out["feature_map"], out["embedding"] = fmap, emb
        out["backbone_logits"] = self.backbone_head(emb)
        if self.use_lrp:
            out["attention_maps"] = self.lrp.attention_maps(fmap)
            fmap = self.lrp(fmap)
            out["weighted_feature_map"] = fmap
        if self.use_arl:
            out["node_features"] = self.arl.node_features(fmap)
            nodes = self.arl.graph(out["node_features"])
            out["nodes"] = nodes
            out["au_logits"] = self.au_classifier(nodes).squeeze(-1)
        if self.use_fusion and isinstance(self.fusion, AttentionFusion):
            out["fusion_weights"] = self.fusion.weights(emb, out["nodes"])
        out["logits"] = self.construct(x)
        return out

    def construct(self, x):
        fmap, emb = self.backbone(x)
        backbone_logits = self.backbone_head(emb)
        if not self.use_arl:
            return backbone_logits
        if self.use_lrp:
            fmap = self.lrp(fmap)
        nodes = self.arl(fmap)
        au_logits = self.au_classifier(nodes).squeeze(-1)
        if not self.use_fusion:
            return au_logits
        return self.fusion(au_logits, backbone_logits, emb, nodes)


class WithSigmoid(nn.Cell):
    """(B, 3, S, S) -> (B, n) probabilities: the network followed by sigmoid (export / inference)."""

    def __init__(self, net: nn.Cell):
        super().__init__(auto_prefix=False)  # keep the wrapped network's parameter names
        self.net = net

    def construct(self, x):
        return ops.sigmoid(self.net(x))


@register_model("au_net")
def au_net(backbone: str = "iresnet100", input_size: int = 112, num_aus: int = 12, dropout: float = 0.0,
           lrp: dict | None = None, arl: dict | None = None, fusion: dict | None = None, **_) -> AUNet:
    """AUNet from plain settings (the ``model`` section of a config; absent sections = defaults).

    ``lrp``/``arl`` take ``enabled``; ``fusion`` takes ``kind`` in {attention, fixed, none}.
    """
    lrp = {"enabled": True, "n_maps": 12, "reduction": 2, "mad_p": 1.0, "bn_relu": False, **(lrp or {})}
    arl = {"enabled": True, "neighbor_num": 4, "metric": "dots", **(arl or {})}
    fusion = {"kind": "attention", "lam": 0.7, "num_layers": 2, "num_heads": 1, "ffn_dim": 3072, "dropout": 0.1,
              **(fusion or {})}
    if backbone not in list_models("backbone"):
        raise KeyError(f"unknown backbone {backbone!r}; registered: {list_models('backbone')}")
    bb = create_model(backbone, input_size=input_size, dropout=dropout)
    channels = bb.out_channels
    lrp_cell = arl_cell = fusion_cell = None
    if lrp["enabled"]:
        lrp_cell = LocalRegionPerception(channels, lrp["n_maps"], lrp["reduction"], lrp["mad_p"], lrp["bn_relu"],
                                         mad=lrp.get("mad", "per_sample"))
    if arl["enabled"]:
        arl_cell = AURelationLearning(channels, num_aus, arl["neighbor_num"], arl["metric"],
                                      node_bn_relu=arl.get("node_bn_relu", False))
    if fusion["kind"] == "fixed":
        fusion_cell = FixedFusion(fusion["lam"])
    elif fusion["kind"] == "attention":
        if bb.embedding_dim != channels:
            raise ValueError(f"attention fusion needs embedding_dim == feature channels, got {bb.embedding_dim} "
                             f"and {channels}")
        fusion_cell = AttentionFusion(channels, num_aus, fusion["num_layers"], fusion["num_heads"],
                                      fusion["ffn_dim"], fusion["dropout"])
    return AUNet(bb, num_aus, lrp_cell, arl_cell, fusion_cell)


def _preset(name: str, backbone: str, fusion_kind: str, num_layers: int = 2):
    def factory(**kwargs):
        kwargs.setdefault("backbone", backbone)
        kwargs.setdefault("fusion", {"kind": fusion_kind, "num_layers": num_layers})
        return au_net(**kwargs)

    factory.__doc__ = f"{name}: AUNet with {backbone}, LRP, ARL (k=4, dots) and {fusion_kind} fusion."
    register_model(name)(factory)


_preset("au_net_r100_attention", "iresnet100", "attention")
_preset("au_net_r100_fixed", "iresnet100", "fixed")
_preset("au_net_r50_attention", "iresnet50", "attention")
_preset("au_net_r18_attention", "iresnet18", "attention")


def build_model(cfg: dict) -> AUNet:
    """The network of a loaded config (``cfg['model']``)."""
    m = cfg["model"]
    return create_model(m["name"], backbone=m["backbone"], input_size=m["input_size"], num_aus=m["num_aus"],
                        dropout=m["dropout"], lrp=m["lrp"], arl=m["arl"], fusion=m["fusion"])
