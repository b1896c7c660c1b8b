"""The training state in a work dir: ``last.ckpt`` (resume) and ``best.ckpt`` (deploy), both atomic.

``last.ckpt``: the network's parameters (BN statistics included), the optimiser's state
(momentum buffers, global step), and meta ``{epoch, step_in_epoch, global_step, best_mean_f1, ...}``.
``best.ckpt``: the network's parameters and meta ``{thresholds, config, epoch, mean_f1, ...}``:
what :func:`mindface_au.weights.restore_model`, ``tools/eval.py`` and the predictor read.
"""
from __future__ import annotations

import os

import mindspore as ms
import mindspore.nn as nn

from ..checkpoint import load_checkpoint, save_checkpoint
from ..weights import load_into

LAST = "last.ckpt"
BEST = "best.ckpt"


def _optimizer_state(opt: nn.Optimizer, net: nn.Cell) -> list:
    """The optimiser's own parameters (SGD: ``accum.*`` momentum, ``stat.*``, ``global_step``)."""
    own = {id(p) for p in net.get_parameters()}
    return [{"name": p.name, "data": p} for p in opt.get_parameters() if id(p) not in own]


def save_training_state(work_dir: str, net: nn.Cell, opt: nn.Optimizer, meta: dict, name: str = LAST) -> str:
    params = [{"name": n, "data": p} for n, p in net.parameters_and_names()] + _optimizer_state(opt, net)
    path = os.path.join(work_dir, name)
    save_checkpoint(params, path, meta)
    return path


def load_training_state(work_dir: str, net: nn.Cell, opt: nn.Optimizer) -> dict:
    """Restore network and optimiser from ``last.ckpt``; returns its meta."""
    path = os.path.join(work_dir, LAST)
    params, meta = load_checkpoint(path)
    opt_names = {e["name"] for e in _optimizer_state(opt, net)}
    net_params = {k: v for k, v in params.items() if k not in opt_names}
    load_into(net, net_params, strict=True, source=path)
    missing = sorted(opt_names - set(params))
    if missing:
        raise ValueError(f"{path}: optimiser state incomplete, missing {missing[:5]}")
    for entry in _optimizer_state(opt, net):
        entry["data"].set_data(ms.Tensor(params[entry["name"]].asnumpy()))
    return meta


def save_best(work_dir: str, net: nn.Cell, meta: dict) -> str:
    path = os.path.join(work_dir, BEST)
    save_checkpoint(net, path, meta)
    return path
