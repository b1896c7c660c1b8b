"""Local Region Perception (LRP): LANet attention maps, map dropping (MAD), max, multiply.

feature map x (B, C, h, w)
  -> n_maps LANets, each Conv1x1(C -> C/r, bias) -> Conv1x1(C/r -> 1, bias)   (B, 1, h, w) each
  -> concat (B, n_maps, h, w) -> sigmoid
  -> training only: MAD, with probability p per sample zero one random map of that sample
  -> max over maps (B, 1, h, w) -> x * max  (B, C, h, w)

The authors' code puts nothing between the two 1x1 convs; ``bn_relu=True`` gives the LANet
paper's BN + ReLU variant. The authors' MAD loop only ever drops a map of the last sample of
the batch (its mask is rebuilt each iteration); this is the intended per-sample version.
"""
from __future__ import annotations

import mindspore as ms
import mindspore.nn as nn
import mindspore.ops as ops


class LANet(nn.Cell):
    """One local attention map: (B, C, h, w) -> (B, 1, h, w) logits."""

    def __init__(self, in_channels: int, reduction: int = 2, bn_relu: bool = False):
        super().__init__()
        mid = in_channels // reduction
        cells = [nn.Conv2d(in_channels, mid, 1, has_bias=True)]
        if bn_relu:
            cells += [nn.BatchNorm2d(mid, eps=1e-5, momentum=0.9), nn.ReLU()]
        cells.append(nn.Conv2d(mid, 1, 1, has_bias=True))
        self.body = nn.SequentialCell(cells)

    def construct(self, x):
        return self.body(x)


class MapDropout(nn.Cell):
    """MAD: per sample, with probability ``p``, zero one uniformly chosen map. (B, n, h, w) -> same.

    Identity when not training or p == 0. Vectorised: one uniform draw decides the hit,
    the argmax of n more uniform draws picks the map.
    """

    def __init__(self, n_maps: int, p: float = 1.0):
        super().__init__()
        self.n_maps = n_maps
        self.p = float(p)
        self.one_hot = ops.OneHot()
        self.on = ms.Tensor(1.0, ms.float32)
        self.off = ms.Tensor(0.0, ms.float32)

    def keep_mask(self, batch_size):
        """(B, n_maps) float mask: 0 at the dropped map of each hit sample, 1 elsewhere."""
        draw = ops.rand(batch_size, self.n_maps + 1)
        hit = (draw[:, 0] < self.p).astype(ms.float32)
        index = ops.argmax(draw[:, 1:], dim=1)
        drop = self.one_hot(index, self.n_maps, self.on, self.off) * hit.reshape(-1, 1)
        return 1.0 - drop

    def construct(self, maps):
        if not self.training or self.p <= 0.0:
            return maps
        mask = self.keep_mask(maps.shape[0])
        return maps * mask.reshape(mask.shape[0], mask.shape[1], 1, 1).astype(maps.dtype)


class LocalRegionPerception(nn.Cell):
    """LRP: (B, C, h, w) -> (B, C, h, w), the feature map weighted by the max of n sigmoid maps."""

    def __init__(self, in_channels: int, n_maps: int = 12, reduction: int = 2, mad_p: float = 1.0,
                 bn_relu: bool = False):
        super().__init__()
        self.lanets = nn.CellList([LANet(in_channels, reduction, bn_relu) for _ in range(n_maps)])
        self.mad = MapDropout(n_maps, mad_p)
        self.concat = ops.Concat(axis=1)

    def attention_maps(self, x):
        """(B, C, h, w) -> (B, n_maps, h, w) sigmoid maps (before MAD)."""
        outs = ()
        for lanet in self.lanets:
            outs = outs + (lanet(x),)
        return ops.sigmoid(self.concat(outs))

    def weigh(self, x, maps):
        """(B, C, h, w) features, (B, n_maps, h, w) sigmoid maps -> x * max over the (MAD-dropped) maps."""
        weight = self.mad(maps).max(axis=1, keepdims=True)
        return x * weight

    def construct(self, x):
        return self.weigh(x, self.attention_maps(x))
