"""The assembled AU network: IResNet + LRP + ARL + backbone logits + feature fusion (+ intensity).

(B, 3, S, S) image -> (B, n) logits (inference applies sigmoid: :class:`WithSigmoid`), or with the
intensity head (B, 2n): the n logits, then n intensities in [0, 5] (:mod:`mindface_au.outputs`).

    fmap, emb = backbone(x)                          (B, C, s, s), (B, d)
    backbone_logits = Dense(d -> n)(emb)             (B, n)
    fmap' = LRP(fmap)             if lrp             (B, C, s, s)
    nodes = ARL(fmap')            if arl             (B, n, C)
    au_logits = shared Dense(C -> 1)(nodes)          (B, n)   (node_classifier='per_au': one per AU)
    logits = fusion(au_logits, backbone_logits, emb, nodes)   fixed | attention
           = au_logits            if arl and fusion == 'none'
           = backbone_logits      if not arl (the baseline)
    intensity = 5 * sigmoid(Dense(d -> n)(emb))       (B, n)   if intensity; output concat(logits, intensity)

Surface as in timm: ``forward_features(x) -> (fmap, emb)``, ``forward_head(fmap, emb) ->
logits`` (``construct`` is the two), and ``forward_intermediates(x) -> dict`` with every
intermediate above (LRP maps, AU nodes, FGG adjacency, fusion weights) and the logits, all from
the one pass that gives the logits.

The switches give every row of the paper's ablation (Table 3) as a config: baseline
(arl off), +ARL (arl on, fusion none), +LRP (lrp on), +FF (fusion attention or fixed).
"""
from __future__ import annotations

import mindspore.nn as nn
import mindspore.ops as ops
from mindspore.common.initializer import Normal, Zero

import inspect

from ..convert import convert_state_dict
from ..outputs import INTENSITY_MAX
from ..presets import AU_NET_PRESETS
from .fusion import AttentionFusion, FixedFusion, fuse
from .graph import AURelationLearning
from .layers import PerTokenDense, TokenDense
from .lrp import LocalRegionPerception
from .registry import list_models, model_entrypoint, register_model


def checkpoint_filter_fn(state_dict, model, strict: bool = True, source: str = "<state_dict>"):
    """The authors' PyTorch checkpoint (mmcls keys, ``module.`` stripped) -> this network's parameters.

    ``model`` is the AUNet to fill (or its {parameter name: shape}). Returns ``(params, report)``:
    {MindSpore name: float32 array} and the :class:`~mindface_au.convert.ConversionReport`.
    """
    return convert_state_dict(state_dict, "authors", model, strict=strict, source=source)


class AUNet(nn.Cell):
    """AU detector. ``construct(x (B,3,S,S)) -> logits (B, num_aus)``.

    Args:
        backbone: a Cell returning (feature map (B, C, s, s), embedding (B, d)) with attributes
            ``out_channels`` (C) and ``embedding_dim`` (d).
        lrp, arl: LocalRegionPerception / AURelationLearning or None.
        fusion: FixedFusion / AttentionFusion or None.
        node_classifier: ``shared`` (one Dense(C -> 1) for every AU node, the authors' code) or
            ``per_au`` (a weight vector and bias per AU).
        intensity: add the intensity head, a Dense(d -> n) on the embedding squashed to [0, 5]
            (5 * sigmoid); the output is then (B, 2n), logits then intensities.
    """

    #: the PyTorch layout of this network's foreign weights (``weights.load_weights`` of a ``.pth``)
    checkpoint_filter_fn = staticmethod(checkpoint_filter_fn)

    def __init__(self, backbone: nn.Cell, num_aus: int = 12, lrp=None, arl=None, fusion=None,
                 node_classifier: str = "shared", intensity: bool = False):
        super().__init__()
        if fusion is not None and arl is None:
            raise ValueError("feature fusion needs the AU relationship branch (arl)")
        if lrp is not None and arl is None:
            raise ValueError("LRP feeds only the AU relationship branch (arl)")
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
            if node_classifier not in ("shared", "per_au"):
                raise ValueError(f"node_classifier must be 'shared' or 'per_au', got {node_classifier!r}")
            if node_classifier == "per_au":
                self.au_classifier = PerTokenDense(num_aus, arl.channels)
            else:
                self.au_classifier = TokenDense(arl.channels, 1, weight_init=Normal(0.01), bias_init=Zero())
        if self.use_fusion:
            self.fusion = fusion
        self.use_intensity = bool(intensity)
        if self.use_intensity:
            self.intensity_head = nn.Dense(backbone.embedding_dim, num_aus, weight_init=Normal(0.01),
                                           bias_init=Zero())

    def forward_features(self, x):
        """(B, 3, S, S) -> (feature map (B, C, s, s), embedding (B, d)): the backbone."""
        return self.backbone(x)

    def forward_head(self, fmap, emb):
        """(feature map (B, C, s, s), embedding (B, d)) -> logits (B, n): LRP, ARL, heads, fusion;
        with the intensity head (B, 2n): the logits, then the intensities in [0, 5]."""
        return self._with_intensity(self._head(fmap, emb, None), emb, None)

    def construct(self, x):
        fmap, emb = self.forward_features(x)
        return self.forward_head(fmap, emb)

    def forward_intermediates(self, x) -> dict:
        """(B, 3, S, S) -> dict of every intermediate, from one pass (PyNative; not for ``ms.jit``).

        Keys: ``feature_map`` (B, C, s, s), ``embedding`` (B, d), ``backbone_logits`` (B, n),
        ``logits`` (B, n); with LRP ``attention_maps`` (B, n_maps, s, s, sigmoid, before MAD) and
        ``weighted_feature_map`` (B, C, s, s); with ARL ``node_features`` (B, n, C, before the graph),
        ``adjacency`` (B, n, n, normalised), ``nodes`` (B, n, C) and ``au_logits`` (B, n); with
        fusion ``fusion_weights`` (B, n, the backbone logits' weight); with the intensity head ``intensity``
        (B, n, in [0, 5]). ``logits`` is what
        ``construct`` returns (in training mode too: MAD draws once).
        """
        fmap, emb = self.forward_features(x)
        out = {"feature_map": fmap, "embedding": emb}
        out["logits"] = self._with_intensity(self._head(fmap, emb, out), emb, out)
        return out

    def _with_intensity(self, logits, emb, out):
        """``logits`` (B, n), or with the intensity head concat(logits, 5 * sigmoid(Dense(emb))) (B, 2n);
        fills ``out['intensity']`` (B, n) unless ``out`` is None."""
        if not self.use_intensity:
            return logits
        intensity = INTENSITY_MAX * ops.sigmoid(self.intensity_head(emb))
        if out is not None:
            out["intensity"] = intensity
        return ops.concat((logits, intensity.astype(logits.dtype)), axis=-1)

    def _head(self, fmap, emb, out):
        """The one implementation of the head; fills ``out`` (a dict) with the intermediates unless None."""
        backbone_logits = self.backbone_head(emb)
        if out is not None:
            out["backbone_logits"] = backbone_logits
        if not self.use_arl:
            return backbone_logits
        if self.use_lrp:
            maps = self.lrp.attention_maps(fmap)
            fmap = self.lrp.weigh(fmap, maps)
            if out is not None:
                out["attention_maps"] = maps
                out["weighted_feature_map"] = fmap
        node_features = self.arl.node_features(fmap)
        adjacency = self.arl.graph.adjacency(node_features)
        nodes = self.arl.graph.propagate(node_features, adjacency)
        au_logits = self.au_classifier(nodes).squeeze(-1)
        if out is not None:
            out["node_features"] = node_features
            out["adjacency"] = adjacency
            out["nodes"] = nodes
            out["au_logits"] = au_logits
        if not self.use_fusion:
            return au_logits
        w = self.fusion.weights(emb, nodes)
        if out is not None:
            out["fusion_weights"] = ops.ones_like(au_logits) * w
        return fuse(au_logits, backbone_logits, w)


class WithSigmoid(nn.Cell):
    """(B, 3, S, S) -> (B, n) probabilities: the network followed by sigmoid (export / inference).

    With the intensity head (``net.use_intensity``): (B, 2n), the n probabilities then the n
    intensities as the network gives them (already in [0, 5]).
    """

    def __init__(self, net: nn.Cell):
        super().__init__(auto_prefix=False)  # keep the wrapped network's parameter names
        self.net = net
        self.num_aus = int(getattr(net, "num_aus", 0))
        self.use_intensity = bool(getattr(net, "use_intensity", False))

    def construct(self, x):
        out = self.net(x)
        if not self.use_intensity:
            return ops.sigmoid(out)
        return ops.concat((ops.sigmoid(out[:, :self.num_aus]), out[:, self.num_aus:]), axis=-1)


class PooledFeatures(nn.Cell):
    """A backbone's features for probing: (B, 3, S, S) -> (feature map averaged over its positions
    (B, C), embedding (B, d))."""

    def __init__(self, backbone: nn.Cell):
        super().__init__(auto_prefix=False)  # keep the backbone's parameter names
        self.backbone = backbone

    def construct(self, x):
        fmap, emb = self.backbone(x)
        return fmap.mean(axis=(2, 3)), emb


FUSIONS = {"fixed": FixedFusion, "attention": AttentionFusion}


def _keywords(cls) -> set:
    return {n for n, p in inspect.signature(cls.__init__).parameters.items()
            if n != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _fusion_cell(settings: dict, d_model: int, num_aus: int, embedding_dim: int):
    """The fusion Cell of a ``fusion`` section: ``kind`` picks the class, its keys go to it.

    Keys that only the other kind takes (``lam`` with attention) belong to the section and are
    left out; a key that no kind takes is a ``TypeError``.
    """
    settings = dict(settings)
    kind = settings.pop("kind", "attention")
    if kind == "none":
        return None
    if kind not in FUSIONS:
        raise ValueError(f"unknown fusion kind {kind!r}; expected one of {sorted(FUSIONS)} or 'none'")
    known = set().union(*(_keywords(c) for c in FUSIONS.values()))
    unknown = sorted(set(settings) - known)
    if unknown:
        raise TypeError(f"au_net: fusion got unexpected keyword(s) {unknown}")
    cls = FUSIONS[kind]
    mine = {k: v for k, v in settings.items() if k in _keywords(cls)}
    if cls is FixedFusion:
        return FixedFusion(**mine)
    if embedding_dim != d_model:
        raise ValueError(f"attention fusion needs embedding_dim == feature channels, got {embedding_dim} "
                         f"and {d_model}")
    return AttentionFusion(d_model, num_aus, **mine)


@register_model("au_net")
def au_net(backbone: str = "iresnet100", input_size: int = 112, num_aus: int = 12, dropout: float = 0.0,
           lrp: dict | None = None, arl: dict | None = None, fusion: dict | None = None,
           node_classifier: str = "shared", intensity: bool = False) -> AUNet:
    """AUNet from plain settings (the ``model`` section of a config; absent keys = the cells' defaults).

    ``lrp`` / ``arl`` take ``enabled`` and every keyword of LocalRegionPerception /
    AURelationLearning; ``fusion`` takes ``kind`` in {attention, fixed, none} and the keywords
    of FixedFusion / AttentionFusion; ``intensity`` adds the 0-5 intensity head. An unknown key is a
    ``TypeError``.
    """
    lrp, arl = dict(lrp or {}), dict(arl or {})
    if backbone not in list_models("backbone"):
        raise KeyError(f"unknown backbone {backbone!r}; registered: {list_models('backbone')}")
    bb = model_entrypoint(backbone)(input_size=input_size, dropout=dropout)
    channels = bb.out_channels
    lrp_cell = arl_cell = None
    if lrp.pop("enabled", True):
        lrp_cell = LocalRegionPerception(channels, **lrp)
    if arl.pop("enabled", True):
        arl_cell = AURelationLearning(channels, num_aus, **arl)
    fusion_cell = _fusion_cell(fusion or {}, channels, num_aus, bb.embedding_dim)
    return AUNet(bb, num_aus, lrp_cell, arl_cell, fusion_cell, node_classifier, intensity)


def _register_preset(name: str, backbone: str, fusion_kind: str) -> None:
    """Register ``name`` as ``au_net`` (its defaults: :data:`mindface_au.presets.AU_NET_PRESETS`)."""
    def factory(**kwargs):
        return au_net(**kwargs)

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = f"{name}: AUNet with {backbone}, LRP, ARL (k=4, dots) and {fusion_kind} fusion."
    register_model(name)(factory)


for _name, (_backbone, _kind) in AU_NET_PRESETS.items():
    _register_preset(_name, _backbone, _kind)
