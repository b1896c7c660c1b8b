"""BCE-with-logits + multi-label circle loss (ZLPR form), with an optional per-AU mask.

For logits s (B, n) and labels y (B, n) in {0, 1} (a label of -1 marks an unannotated AU and
is left out of both terms):

* BCE: l = max(s, 0) - s y + log(1 + exp(-|s|)) per entry.
  ``bce_reduction='sum_aus'``: sum over AUs, mean over the batch (the authors' code, which
  produced the paper's numbers; 12x Eq. 1); ``'mean'``: mean over annotated entries (Eq. 1).
* Circle: s' = (1 - 2y) s; neg = s' with positives (and unannotated) masked to -1e12,
  pos = s' with negatives (and unannotated) masked to -1e12; a 0 is appended to both;
  loss = mean over the batch of logsumexp(neg) + logsumexp(pos).

The total is ``bce_weight * BCE + circle_weight * circle``. Computed in float32 whatever the
logits' dtype, so the finite mask never overflows under fp16 training.
"""
from __future__ import annotations

import mindspore as ms
import mindspore.nn as nn
import mindspore.ops as ops

MASK_VALUE = 1e12


def _split_labels(labels):
    labels = labels.astype(ms.float32)
    mask = (labels >= 0).astype(ms.float32)
    return labels * mask, mask


def bce_with_logits(logits, labels, reduction: str = "sum_aus"):
    """(B, n) logits, (B, n) labels in {-1, 0, 1} -> scalar BCE."""
    s = logits.astype(ms.float32)
    y, mask = _split_labels(labels)
    per_entry = ops.relu(s) - s * y + ops.log1p(ops.exp(-ops.abs(s)))
    total = (per_entry * mask).sum()
    if reduction == "sum_aus":
        return total / s.shape[0]
    if reduction == "mean":
        return total / ops.maximum(mask.sum(), 1.0)
    raise ValueError(f"unknown bce_reduction {reduction!r}; expected 'sum_aus' or 'mean'")


def circle_loss(logits, labels):
    """Multi-label circle loss (ZLPR) on raw logits: (B, n), (B, n) -> scalar."""
    s = logits.astype(ms.float32)
    y, mask = _split_labels(labels)
    signed = (1.0 - 2.0 * y) * s
    ignored = (1.0 - mask) * MASK_VALUE
    neg = signed - y * MASK_VALUE - ignored
    pos = signed - (1.0 - y) * MASK_VALUE - ignored
    zeros = ops.zeros_like(s[:, :1])
    neg = ops.concat((neg, zeros), axis=-1)
    pos = ops.concat((pos, zeros), axis=-1)
    return (ops.logsumexp(neg, -1) + ops.logsumexp(pos, -1)).mean()


class AULoss(nn.Cell):
    """``construct(logits (B, n), labels (B, n)) -> scalar``: weighted BCE + circle loss."""

    def __init__(self, bce_weight: float = 1.0, circle_weight: float = 1.0, bce_reduction: str = "sum_aus"):
        super().__init__()
        if bce_reduction not in ("sum_aus", "mean"):
            raise ValueError(f"unknown bce_reduction {bce_reduction!r}; expected 'sum_aus' or 'mean'")
        self.bce_weight = float(bce_weight)
        self.circle_weight = float(circle_weight)
        self.bce_reduction = bce_reduction

    def construct(self, logits, labels):
        loss = self.bce_weight * bce_with_logits(logits, labels, self.bce_reduction)
        if self.circle_weight > 0:
            loss = loss + self.circle_weight * circle_loss(logits, labels)
        return loss


def build_loss(cfg: dict) -> AULoss:
    """The loss of a loaded config (``cfg['loss']``)."""
    c = cfg["loss"]
    return AULoss(c["bce_weight"], c["circle_weight"], c["bce_reduction"])
