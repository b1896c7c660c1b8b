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

With the intensity head (:mod:`mindface_au.outputs`) the network gives (B, 2n) and the targets are
(B, 2n): the terms above take the first n columns, and ``intensity_weight * MSE`` is added, the
mean squared error on the 0-5 scale over the coded entries of the last n columns (target -1 = not
coded). MSE on the bounded 0-5 output is the field's common choice (OpenFace's SVR, LibreFace's
regressor): it scores what ICC, PCC and MAE measure, and needs no class balancing.
"""
from __future__ import annotations

import mindspore as ms
import mindspore.nn as nn
import mindspore.ops as ops

from .config import config_au_names

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


def masked_mse(predictions, targets):
    """(B, n) predicted intensities, (B, n) targets (0-5, -1 = not coded) -> scalar mean over coded entries."""
    p = predictions.astype(ms.float32)
    t = targets.astype(ms.float32)
    mask = (t >= 0).astype(ms.float32)
    return (ops.square(p - t * mask) * mask).sum() / ops.maximum(mask.sum(), 1.0)


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
    """``construct(logits (B, n), labels (B, n)) -> scalar``: weighted BCE + circle loss.

    With ``intensity=True`` (``num_aus`` = n): ``construct(outputs (B, 2n), targets (B, 2n))``, the
    occurrence terms on the first n columns plus ``intensity_weight`` * :func:`masked_mse` on the last n.
    """

    def __init__(self, bce_weight: float = 1.0, circle_weight: float = 1.0, bce_reduction: str = "sum_aus",
                 intensity_weight: float = 1.0, num_aus: int = 12, intensity: bool = False):
        super().__init__()
        if bce_reduction not in ("sum_aus", "mean"):
            raise ValueError(f"unknown bce_reduction {bce_reduction!r}; expected 'sum_aus' or 'mean'")
        self.bce_weight = float(bce_weight)
        self.circle_weight = float(circle_weight)
        self.bce_reduction = bce_reduction
        self.intensity_weight = float(intensity_weight)
        self.num_aus = int(num_aus)
        self.intensity = bool(intensity)

    def construct(self, logits, labels):
        if self.intensity:
            n = self.num_aus
            return (self._occurrence(logits[:, :n], labels[:, :n])
                    + self.intensity_weight * masked_mse(logits[:, n:], labels[:, n:]))
        return self._occurrence(logits, labels)

    def _occurrence(self, logits, labels):
        loss = self.bce_weight * bce_with_logits(logits, labels, self.bce_reduction)
        if self.circle_weight > 0:
            loss = loss + self.circle_weight * circle_loss(logits, labels)
        return loss


def build_loss(cfg: dict) -> AULoss:
    """The loss of a loaded config (``cfg['loss']``); ``model.intensity`` adds the MSE term on the
    last n columns (n: the AUs of ``data.aus``)."""
    c = cfg["loss"]
    return AULoss(c["bce_weight"], c["circle_weight"], c["bce_reduction"], c.get("intensity_weight", 1.0),
                  len(config_au_names(cfg)), cfg["model"].get("intensity", False))
