"""IResNet backbones (insightface ``arcface_torch`` layout) returning a feature map and an embedding.

Input (B, 3, S, S) -> feature map (B, C, s, s) after the last stage and ``bn2``, with
s = ceil(S / 16) (7 at S = 112), and embedding (B, D): flatten -> dropout -> ``fc`` ->
``features`` (BatchNorm1d whose gamma is fixed at 1 and not trained).

Stem: conv3x3 3->w0 (stride 1, no bias) -> BN -> PReLU. Stages of widths ``widths``, each
starting with a stride-2 block; block = BN -> conv3x3 -> BN -> PReLU -> conv3x3(stride) -> BN,
plus a shortcut conv1x1(stride, no bias) -> BN where the shape changes. BN eps 1e-5.

Parameter names map one-to-one to an ``arcface_torch`` state_dict (see ``convert``):

=====================================  ======================================
PyTorch key                            MindSpore parameter
=====================================  ======================================
``conv1.weight``                       ``conv1.weight``
``bn1.weight`` / ``bn1.bias``           ``bn1.gamma`` / ``bn1.beta``
``bn1.running_mean`` / ``running_var`` ``bn1.moving_mean`` / ``moving_variance``
``prelu.weight``                       ``prelu.w``
``layerN.i.{bn1,conv1,bn2,prelu,``     same names, BN/PReLU renamed as above
``conv2,bn3}.*``
``layerN.0.downsample.0.weight``       ``layerN.0.downsample.0.weight``
``layerN.0.downsample.1.*``            ``layerN.0.downsample.1.*`` (BN)
``bn2.*``                              ``bn2.*`` (BN)
``fc.weight`` / ``fc.bias``            ``fc.weight`` / ``fc.bias`` (same (out, in) layout)
``features.*``                         ``features.*`` (BN1d, gamma frozen)
``*.num_batches_tracked``              (ignored)
=====================================  ======================================
"""
from __future__ import annotations

import math
from typing import Sequence

import mindspore.nn as nn
from mindspore.common.initializer import HeNormal

from ..convert import convert_state_dict
from .registry import register_model

BN_EPS = 1e-5
BN_MOMENTUM = 0.9  # MindSpore's momentum = 1 - PyTorch's (0.1)

ARCHS = {
    "iresnet18": (2, 2, 2, 2),
    "iresnet34": (3, 4, 6, 3),
    "iresnet50": (3, 4, 14, 3),
    "iresnet100": (3, 13, 30, 3),
    "iresnet200": (6, 26, 60, 6),
}


def _bn2d(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=BN_EPS, momentum=BN_MOMENTUM)


def _conv_init():
    """Kaiming normal (fan_out, ReLU), as the authors' mmcls config initialises the convs."""
    return HeNormal(mode="fan_out", nonlinearity="relu")


def _conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, pad_mode="pad", padding=1, has_bias=False,
                     weight_init=_conv_init())


class IBasicBlock(nn.Cell):
    """BN -> conv3x3 -> BN -> PReLU -> conv3x3(stride) -> BN, plus identity or downsample. (B,Cin,H,W) -> (B,C,H/s,W/s)."""

    def __init__(self, in_channels: int, channels: int, stride: int = 1):
        super().__init__()
        self.bn1 = _bn2d(in_channels)
        self.conv1 = _conv3x3(in_channels, channels)
        self.bn2 = _bn2d(channels)
        self.prelu = nn.PReLU(channels, w=0.25)
        self.conv2 = _conv3x3(channels, channels, stride)
        self.bn3 = _bn2d(channels)
        self.has_downsample = stride != 1 or in_channels != channels
        if self.has_downsample:
            self.downsample = nn.SequentialCell(
                nn.Conv2d(in_channels, channels, 1, stride=stride, has_bias=False, weight_init=_conv_init()),
                _bn2d(channels))

    def construct(self, x):
        out = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
        identity = self.downsample(x) if self.has_downsample else x
        return out + identity


def feature_map_size(input_size: int, num_stages: int = 4) -> int:
    """Side of the last feature map: each stride-2 conv3x3 (padding 1) maps s to ceil(s / 2)."""
    s = input_size
    for _ in range(num_stages):
        s = (s + 2 - 3) // 2 + 1
    return s


def checkpoint_filter_fn(state_dict, model, strict: bool = True, source: str = "<state_dict>"):
    """An insightface ``arcface_torch`` state_dict (the table above) -> this IResNet's parameters.

    ``model`` is the IResNet to fill (or its {parameter name: shape}). Returns ``(params, report)``:
    {MindSpore name: float32 array} and the :class:`~mindface_au.convert.ConversionReport`.
    """
    return convert_state_dict(state_dict, "insightface", model, strict=strict, source=source)


class IResNet(nn.Cell):
    """IResNet: (B, 3, S, S) -> (feature map (B, widths[-1], s, s), embedding (B, embedding_dim)).

    Args:
        layers: blocks per stage, e.g. (3, 13, 30, 3) for IResNet100.
        widths: channels per stage (insightface: 64, 128, 256, 512).
        embedding_dim: size of the embedding (512).
        input_size: input side S; sets the fc's input size widths[-1] * s * s.
        dropout: dropout probability before ``fc`` (0 in the paper).
    """

    #: the PyTorch layout of this network's foreign weights (``weights.load_weights`` of a ``.pth``)
    checkpoint_filter_fn = staticmethod(checkpoint_filter_fn)

    def __init__(self, layers: Sequence[int], widths: Sequence[int] = (64, 128, 256, 512),
                 embedding_dim: int = 512, input_size: int = 112, dropout: float = 0.0):
        super().__init__()
        if len(layers) != 4 or len(widths) != 4:
            raise ValueError(f"IResNet needs 4 stages, got layers={layers} widths={widths}")
        self.out_channels = widths[-1]
        self.embedding_dim = embedding_dim
        self.feature_size = feature_map_size(input_size)
        self.conv1 = _conv3x3(3, widths[0])
        self.bn1 = _bn2d(widths[0])
        self.prelu = nn.PReLU(widths[0], w=0.25)
        cin = widths[0]
        for i, (n, w) in enumerate(zip(layers, widths)):
            blocks = [IBasicBlock(cin, w, stride=2)] + [IBasicBlock(w, w) for _ in range(n - 1)]
            setattr(self, f"layer{i + 1}", nn.SequentialCell(blocks))
            cin = w
        self.bn2 = _bn2d(widths[-1])
        self.dropout = nn.Dropout(p=dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Dense(widths[-1] * self.feature_size ** 2, embedding_dim)
        self.features = nn.BatchNorm1d(embedding_dim, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.features.gamma.requires_grad = False  # fixed at 1, as in arcface_torch
        self.flatten = nn.Flatten()

    def construct(self, x):
        x = self.prelu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        fmap = self.bn2(x)
        emb = self.features(self.fc(self.dropout(self.flatten(fmap))))
        return fmap, emb


def _make(arch: str):
    def factory(input_size: int = 112, embedding_dim: int = 512, dropout: float = 0.0):
        return IResNet(ARCHS[arch], input_size=input_size, embedding_dim=embedding_dim, dropout=dropout)

    factory.__name__ = factory.__qualname__ = arch
    factory.__doc__ = f"{arch}: IResNet with blocks {ARCHS[arch]}, widths 64/128/256/512."
    return factory


for _arch in ARCHS:
    register_model(_arch, kind="backbone")(_make(_arch))


@register_model("iresnet_mini", kind="backbone")
def iresnet_mini(input_size: int = 112, embedding_dim: int = 128, dropout: float = 0.0):
    """A small IResNet (one block per stage, widths 16/32/64/128) for CPU demos and tests."""
    return IResNet((1, 1, 1, 1), widths=(16, 32, 64, 128), embedding_dim=embedding_dim,
                   input_size=input_size, dropout=dropout)


def count_params(cell: nn.Cell, trainable_only: bool = False) -> int:
    """Number of weights, as PyTorch counts them: BN running statistics (buffers there) excluded."""
    params = cell.trainable_params() if trainable_only else cell.get_parameters()
    return int(sum(math.prod(p.shape) for p in params
                   if not p.name.endswith(("moving_mean", "moving_variance"))))


__all__ = ["IResNet", "IBasicBlock", "ARCHS", "feature_map_size", "count_params", "checkpoint_filter_fn"]
