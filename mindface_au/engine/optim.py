"""SGD with momentum, weight decay (mmcv's: on every parameter, or on weights only) and a step schedule.

Parameter groups (``optim.decay_norm_and_bias``):

* ``true`` (the authors' mmcv optimiser, which has no ``paramwise_cfg``): one group, weight decay
  on every trainable parameter: conv / linear weights, biases, BN gamma/beta, PReLU slopes,
  LayerNorm, the fusion weight token.
* ``false``: weight decay on conv / linear weights only; BN, LayerNorm, PReLU and biases are
  exempt (the common modern practice).

Both are built as explicit groups: MindSpore's optimisers silently exempt parameters named
``gamma``/``beta`` when ``weight_decay`` is a single number, so only a per-group value gives mmcv's
behaviour (``opt.decay_flags`` is True for every parameter of a group whose weight decay is > 0).
"""
from __future__ import annotations

import numpy as np

import mindspore as ms
import mindspore.nn as nn


def lr_per_step(base_lr: float, steps_per_epoch: int, epochs: int, lr_steps, gamma: float = 0.1) -> np.ndarray:
    """Learning rate of every global step: base_lr * gamma^(number of lr_steps epochs reached).

    ``lr_steps`` are epoch numbers (1-based boundaries as in mmcv: [4, 6, 8] means epochs 1-4 at
    base_lr, 5-6 at 0.1x, 7-8 at 0.01x, 9+ at 0.001x), i.e. the decay applies from the step
    that starts epoch index ``e`` (0-based) = each value in ``lr_steps``.
    """
    epoch_of_step = np.arange(steps_per_epoch * epochs) // steps_per_epoch
    decays = np.searchsorted(np.asarray(sorted(lr_steps)), epoch_of_step, side="right")
    return (base_lr * gamma ** decays).astype(np.float32)


def lr_schedule(cfg: dict, steps_per_epoch: int) -> np.ndarray:
    """The config's learning rate for every global step of the run."""
    t = cfg["train"]
    return lr_per_step(t["lr"], steps_per_epoch, t["epochs"], t["lr_steps"], t["lr_gamma"])


def is_decayed(param: ms.Parameter) -> bool:
    """Whether weight decay applies when norms and biases are exempt: conv / linear weights only
    (not BN, LayerNorm, PReLU, biases or any other 1-D parameter)."""
    name = param.name
    return not (name.endswith(("gamma", "beta", "bias", ".w", "moving_mean", "moving_variance")) or param.ndim == 1)


def param_groups(params, weight_decay: float, decay_norm_and_bias: bool) -> list:
    """MindSpore optimiser groups: ``[{'params': [...], 'weight_decay': wd}, ...]`` (empty groups left out).

    ``decay_norm_and_bias=True``: one group, every parameter decayed (mmcv). ``False``: decayed
    weights, and a group of the exempt parameters with weight decay 0.
    """
    params = list(params)
    if decay_norm_and_bias:
        return [{"params": params, "weight_decay": float(weight_decay)}]
    decay = [p for p in params if is_decayed(p)]
    no_decay = [p for p in params if not is_decayed(p)]
    groups = [{"params": decay, "weight_decay": float(weight_decay)}, {"params": no_decay, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


def build_optimizer(cfg: dict, net: nn.Cell, steps_per_epoch: int) -> nn.Optimizer:
    """SGD(lr schedule, momentum, weight decay per ``optim.decay_norm_and_bias``) over the trainable parameters."""
    t = cfg["train"]
    groups = param_groups(net.trainable_params(), t["weight_decay"], cfg["optim"]["decay_norm_and_bias"])
    return nn.SGD(groups, learning_rate=ms.Tensor(lr_schedule(cfg, steps_per_epoch)), momentum=t["momentum"])
