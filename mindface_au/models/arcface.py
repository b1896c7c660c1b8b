"""ArcFace (additive angular margin) classification head for face-recognition pretraining.

Deng et al., *ArcFace: Additive Angular Margin Loss for Deep Face Recognition* (CVPR 2019), the
loss insightface's Glint360K / MS1MV3 IResNets were trained with::

    cos_j  = <x / |x|, W_j / |W_j|>                       (B, C)
    logit_j = s * cos(theta_y + m)   for j = y (the label), s * cos_j otherwise

Where theta_y + m would pass pi the target logit is ``cos_y - m * sin(m)`` instead (the
published code's fallback, so the logit keeps falling as theta grows).
"""
from __future__ import annotations

import math

import mindspore as ms
import mindspore.nn as nn
import mindspore.ops as ops
from mindspore.common.initializer import Normal, initializer


class ArcMarginHead(nn.Cell):
    """(embeddings (B, d), labels (B,) int32) -> logits (B, C) with the additive angular margin at the label.

    Args:
        embedding_dim: d.
        num_classes: C, the identities.
        scale: s (insightface: 64).
        margin: m in radians (insightface: 0.5).
    """

    def __init__(self, embedding_dim: int, num_classes: int, scale: float = 64.0, margin: float = 0.5):
        super().__init__()
        self.weight = ms.Parameter(initializer(Normal(0.01), (num_classes, embedding_dim), ms.float32), name="weight")
        self.num_classes = num_classes
        self.scale = scale
        self.cos_m, self.sin_m = math.cos(margin), math.sin(margin)
        self.threshold = math.cos(math.pi - margin)  # theta + m <= pi  <=>  cos(theta) >= this
        self.fallback = math.sin(math.pi - margin) * margin

    def cosines(self, embeddings):
        """(B, d) -> (B, C) cosine of each embedding with each class centre."""
        x = ops.L2Normalize(axis=1, epsilon=1e-12)(embeddings)
        w = ops.L2Normalize(axis=1, epsilon=1e-12)(self.weight)
        return ops.clip_by_value(ops.matmul(x, w.T), -1.0, 1.0)

    def construct(self, embeddings, labels):
        cos = self.cosines(embeddings)
        sin = ops.sqrt(ops.clip_by_value(1.0 - cos * cos, 1e-12, 1.0))
        with_margin = cos * self.cos_m - sin * self.sin_m  # cos(theta + m)
        with_margin = ops.select(cos > self.threshold, with_margin, cos - self.fallback)
        onehot = ops.one_hot(labels, self.num_classes, ms.Tensor(1.0, ms.float32), ms.Tensor(0.0, ms.float32))
        return self.scale * (onehot * with_margin + (1.0 - onehot) * cos)


def cross_entropy(logits, labels, num_classes: int):
    """Mean over the batch of ``logsumexp(logits) - logits[label]``: (B, C), (B,) int32 -> scalar.

    Written out because MindSpore's sparse ``SoftmaxCrossEntropyWithLogits`` returns ``inf`` in
    GRAPH_MODE on CPU once the label's probability underflows float32 (a logit gap above ~88, which
    ArcFace's scale of 64 reaches); ``logsumexp`` stays finite and has the same gradient.
    """
    onehot = ops.one_hot(labels, num_classes, ms.Tensor(1.0, ms.float32), ms.Tensor(0.0, ms.float32))
    return (ops.logsumexp(logits, 1) - (logits * onehot).sum(1)).mean()


class ArcFaceLoss(nn.Cell):
    """(images (B, 3, S, S), labels (B,)) -> mean cross-entropy of the ArcFace logits of ``backbone``'s embedding."""

    def __init__(self, backbone: nn.Cell, head: ArcMarginHead):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def construct(self, images, labels):
        _, emb = self.backbone(images)
        return cross_entropy(self.head(emb, labels), labels, self.head.num_classes)


__all__ = ["ArcMarginHead", "ArcFaceLoss", "cross_entropy"]
