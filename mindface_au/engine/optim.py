"""SGD with momentum, weight decay on weights only, and a step learning-rate schedule."""
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
    """Weight decay applies to conv / linear weights, not to BN, LayerNorm, PReLU or biases."""
    name = param.name
    return not (name.endswith(("gamma", "beta", "bias", ".w", "moving_mean", "moving_variance")) or param.ndim == 1)


def build_optimizer(cfg: dict, net: nn.Cell, steps_per_epoch: int) -> nn.Optimizer:
    """SGD(lr schedule, momentum, weight decay on weights only) over the trainable parameters."""
    t = cfg["train"]
    params = net.trainable_params()
    decay = [p for p in params if is_decayed(p)]
    no_decay = [p for p in params if not is_decayed(p)]
    groups = [{"params": decay, "weight_decay": t["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}]
    return nn.SGD(groups, learning_rate=ms.Tensor(lr_schedule(cfg, steps_per_epoch)), momentum=t["momentum"])
