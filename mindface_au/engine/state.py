"""The training state in a work dir: ``last.ckpt`` (resume) and ``best.ckpt`` (deploy), both atomic.

``last.ckpt``: the network's parameters (BN statistics included), the optimiser's state
(momentum buffers, global step), and meta :data:`INITIAL_STATE`'s keys plus ``trained_on``.
It is the single source of truth of a run's progress, written last at every epoch end.
``best.ckpt``: the network's parameters and meta ``{thresholds, config, epoch, mean_f1, per_au_f1,
best_by, score, trained_on, ...}``: what :func:`mindface_au.weights.restore_model`,
``eval``, ``infer`` and the predictor read, and what ``summary.json`` is derived from.
"""
from __future__ import annotations

import os
from typing import Optional

import mindspore as ms
import mindspore.nn as nn

from ..checkpoint import check_au_names, checkpoint_au_names, load_checkpoint, load_checkpoint_meta, save_checkpoint
from ..weights import load_into

LAST = "last.ckpt"
BEST = "best.ckpt"

# What last.ckpt's meta holds about the run's progress. ``loss_sum`` / ``loss_count``: the running
# sum and count of the step losses of the epoch in flight, so that a resumed epoch's loss averages
# all its steps. ``best_score``: the ``train.best_by`` metric of ``best_epoch``.
INITIAL_STATE = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "loss_sum": 0.0, "loss_count": 0,
                 "best_epoch": 0, "best_score": -1.0}

# train.best_by -> the key of an evaluation result (evaluation.AUScore.as_dict) it compares
BEST_BY = {"f1_at_0.5": "mean_f1", "f1_best_thresholds": "best_threshold_mean_f1"}


def selection_score(result: dict, best_by: str) -> float:
    """The number ``best.ckpt`` is chosen by: mean F1 at ``eval.threshold`` (``f1_at_0.5``) or at the
    per-AU best thresholds (``f1_best_thresholds``, the authors' choice) of an evaluation ``result``."""
    if best_by not in BEST_BY:
        raise ValueError(f"train.best_by: must be one of {sorted(BEST_BY)}, got {best_by!r}")
    return float(result[BEST_BY[best_by]])


def trained_on(cfg: dict, epoch: int) -> dict:
    """What a checkpoint saved after ``epoch`` completed epochs was trained on (its meta ``trained_on``)."""
    d = cfg["data"]
    return {"synthetic": bool(d["synthetic"]), "format": d["format"], "root": d["root"],
            "train": d["train_list"] if d["format"] == "list" else d["train_split"],
            "epochs": int(epoch), "total_epochs": int(cfg["train"]["epochs"])}


def _optimizer_state(opt: nn.Optimizer, net: nn.Cell) -> list:
    """The optimiser's own parameters (SGD: ``accum.*`` momentum, ``stat.*``, ``global_step``)."""
    own = {id(p) for p in net.get_parameters()}
    return [{"name": p.name, "data": p} for p in opt.get_parameters() if id(p) not in own]


def save_training_state(work_dir: str, net: nn.Cell, opt: nn.Optimizer, meta: dict, name: str = LAST) -> str:
    params = [{"name": n, "data": p} for n, p in net.parameters_and_names()] + _optimizer_state(opt, net)
    path = os.path.join(work_dir, name)
    save_checkpoint(params, path, meta)
    return path


def load_training_state(work_dir: str, net: nn.Cell, opt: nn.Optimizer, au_names=None) -> dict:
    """Restore network and optimiser from ``last.ckpt``; returns its meta. With ``au_names`` (the
    config's), a ``last.ckpt`` of another AU set is refused (ValueError naming both)."""
    path = os.path.join(work_dir, LAST)
    params, meta = load_checkpoint(path)
    if au_names is not None:
        check_au_names(checkpoint_au_names(meta), au_names, path)
    opt_names = {e["name"] for e in _optimizer_state(opt, net)}
    net_params = {k: v for k, v in params.items() if k not in opt_names}
    load_into(net, net_params, strict=True, source=path)
    missing = sorted(opt_names - set(params))
    if missing:
        raise ValueError(f"{path}: optimiser state incomplete, missing {missing[:5]}")
    for entry in _optimizer_state(opt, net):
        entry["data"].set_data(ms.Tensor(params[entry["name"]].asnumpy()))
    return meta


def read_state(work_dir: str) -> Optional[dict]:
    """The progress state in ``last.ckpt``'s meta (:data:`INITIAL_STATE`'s keys), or None without one.

    A ``last.ckpt`` of an older version (``best_mean_f1``, no loss sums) reads with the missing keys
    at their initial values."""
    path = os.path.join(work_dir, LAST)
    if not os.path.isfile(path):
        return None
    meta = load_checkpoint_meta(path)
    state = dict(INITIAL_STATE)
    state.update({k: meta[k] for k in INITIAL_STATE if k in meta})
    if "best_score" not in meta and "best_mean_f1" in meta:
        state["best_score"] = meta["best_mean_f1"]
    return state


def save_best(work_dir: str, net: nn.Cell, meta: dict) -> str:
    path = os.path.join(work_dir, BEST)
    save_checkpoint(net, path, meta)
    return path


def read_best_meta(work_dir: str) -> Optional[dict]:
    """``best.ckpt``'s meta (its weights are not read), or None when there is no best.ckpt yet."""
    path = os.path.join(work_dir, BEST)
    return load_checkpoint_meta(path) if os.path.isfile(path) else None
