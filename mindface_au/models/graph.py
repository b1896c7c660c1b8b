"""AU relationship learning (ARL): AU node features and the FGG graph layer.

feature map (B, C, h, w) -> tokens (B, h*w, C) -> global Linear(C->C) -> n per-AU
Linear(C->C) -> mean over the h*w tokens -> node features f_v (B, n, C) -> FGG -> (B, n, C).

Every step before the mean is affine, so the mean over tokens is taken first: mean_t(W x_t + b)
= W mean_t(x_t) + b. This gives the same numbers (up to float rounding; checked in the tests
against the token-wise order) at 1/(h*w) of the cost. The n per-AU linears are stored as one
Dense(C -> n*C) whose weight stacks theirs: rows [i*C, (i+1)*C) belong to AU i.

FGG (ME-GraphAU's graph layer, as simplified by the authors):
  s = similarity(stop_gradient(f_v))        (B, n, n): dots f f^T | cosine | l1 (smaller = nearer)
  adj_ij = 1 where s_ij is at least row i's k-th best (ties may give more than k edges)
  A = D^-1/2 adj D^-1/2,  D = row sums of adj
  out = ReLU(f_v + BN_nodes(A V(f_v) + U(f_v)))     BN_nodes: one BN channel per node
"""
from __future__ import annotations

import math

import mindspore.nn as nn
import mindspore.ops as ops
from mindspore.common.initializer import Normal, Uniform

from .layers import TokenDense


METRICS = ("dots", "cosine", "l1")


def _linear(cin: int, cout: int, std_out: int | None = None) -> nn.Dense:
    """Dense with weight ~ N(0, sqrt(2 / out)) and PyTorch's default bias init."""
    std = math.sqrt(2.0 / (std_out or cout))
    return TokenDense(cin, cout, weight_init=Normal(std), bias_init=Uniform(1.0 / math.sqrt(cin)))


def similarity(f, metric: str = "dots"):
    """(B, n, C) -> (B, n, n) node similarity; for ``l1`` smaller means nearer."""
    if metric == "dots":
        return ops.matmul(f, f.transpose(0, 2, 1))
    if metric == "cosine":
        norm = ops.sqrt((f * f).sum(axis=-1, keepdims=True))
        g = f / ops.maximum(norm, 1e-12)
        return ops.matmul(g, g.transpose(0, 2, 1))
    if metric == "l1":
        return ops.abs(f.expand_dims(2) - f.expand_dims(1)).sum(axis=-1)
    raise ValueError(f"unknown FGG metric {metric!r}; expected dots, cosine or l1")


def knn_adjacency(sim, k: int, largest: bool = True):
    """(B, n, n) similarity -> {0,1} adjacency: entries at least as good as each row's k-th best."""
    if largest:
        kth = ops.topk(sim, k, dim=-1, largest=True)[0][:, :, k - 1:k]
        return (sim >= kth).astype(sim.dtype)
    kth = ops.topk(sim, k, dim=-1, largest=False)[0][:, :, k - 1:k]
    return (sim <= kth).astype(sim.dtype)


def normalize_adjacency(adj):
    """A = D^-1/2 adj D^-1/2 with D the row sums (every row has at least one edge). (B, n, n)."""
    deg_inv_sqrt = ops.pow(adj.sum(axis=-1), -0.5)
    return deg_inv_sqrt.expand_dims(2) * adj * deg_inv_sqrt.expand_dims(1)


class FGG(nn.Cell):
    """Facial graph generator layer: (B, n, C) -> (B, n, C)."""

    def __init__(self, channels: int, num_nodes: int, neighbor_num: int = 4, metric: str = "dots"):
        super().__init__()
        if not 1 <= neighbor_num <= num_nodes:
            raise ValueError(f"neighbor_num must be in [1, {num_nodes}], got {neighbor_num}")
        if metric not in METRICS:
            raise ValueError(f"unknown FGG metric {metric!r}; expected one of {METRICS}")
        self.metric = metric
        self.neighbor_num = neighbor_num
        self.num_nodes = num_nodes
        self.channels = channels
        self.U = _linear(channels, channels)
        self.V = _linear(channels, channels)
        self.bn = nn.BatchNorm2d(num_nodes, eps=1e-5, momentum=0.9)  # BN over nodes, on (B, n, C, 1)
        self.relu = nn.ReLU()

    def adjacency(self, f):
        """(B, n, C) -> normalised adjacency A (B, n, n), computed without gradient."""
        sim = similarity(ops.stop_gradient(f), self.metric)
        adj = knn_adjacency(sim, self.neighbor_num, largest=self.metric != "l1")
        return normalize_adjacency(adj)

    def propagate(self, f, a):
        """Node features f (B, n, C) and normalised adjacency A (B, n, n) -> (B, n, C)."""
        aggregate = ops.matmul(a, self.V(f)) + self.U(f)
        normed = self.bn(aggregate.reshape(-1, self.num_nodes, self.channels, 1))
        return self.relu(f + normed.reshape(-1, self.num_nodes, self.channels))

    def construct(self, f):
        return self.propagate(f, self.adjacency(f))


class AURelationLearning(nn.Cell):
    """ARL: feature map (B, C, h, w) -> AU node features (B, n, C) after the FGG layer."""

    def __init__(self, channels: int, num_aus: int = 12, neighbor_num: int = 4, metric: str = "dots"):
        super().__init__()
        self.channels = channels
        self.num_aus = num_aus
        self.global_linear = _linear(channels, channels)
        self.au_linears = _linear(channels, num_aus * channels, std_out=channels)
        self.graph = FGG(channels, num_aus, neighbor_num, metric)

    def node_features(self, fmap):
        """(B, C, h, w) -> f_v (B, n, C) before the graph layer."""
        pooled = fmap.mean(axis=(2, 3))  # == mean over tokens, taken before the affine maps
        nodes = self.au_linears(self.global_linear(pooled))
        return nodes.reshape(-1, self.num_aus, self.channels)

    def construct(self, fmap):
        return self.graph(self.node_features(fmap))
