"""Training with MindSpore ``Model``: one device or data-parallel under ``msrun``, resumable.

``train(cfg)`` builds the data (per-epoch resampling sampler, sharded by rank), the network
(optionally from converted backbone weights), BCE + circle loss (+ the intensity MSE with
``model.intensity``, on (B, 2n) targets), SGD with the step schedule
and AMP by device, then runs ``Model.train`` with :class:`~.callbacks.TrainingLoop`, which
evaluates on the validation split after every epoch and writes the work dir (only rank 0
writes): ``config.yaml``, ``log.jsonl``, ``last.ckpt``, ``best.ckpt``, ``summary.json`` and
the PNG curves.

``last.ckpt``'s state is the truth of a run's progress and is written last at every epoch end;
``summary.json`` and the plots are derived from it and from ``best.ckpt``'s meta. After a kill at
any moment, ``--resume`` removes partial files, drops the log records the state does not cover,
derives the summary again and redoes what the state does not claim.

``train`` is a composition of named steps: :func:`start_work_dir`, :func:`build_network`,
:func:`restore_state`, :func:`build_data`, :func:`build_trainer_model`, :func:`build_training_loop`,
:func:`redo_after_last_save` and :func:`run_epochs`. Extra MindSpore callbacks (``callbacks=``) run
after the loop's own; one that calls ``run_context.request_stop()`` ends the run where it asked.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Sequence

import mindspore as ms
import mindspore.nn as nn
from mindspore.train import Callback, Model

from ..config import config_au_names, dump_config, load_config
from ..losses import build_loss
from ..factory import build_model
from ..fileio import remove_partial_files
from ..runtime import default_amp_level, distributed_env, setup_for_config
from .callbacks import WORK_FILES, TrainingLoop, format_summary, write_run_files
from .optim import build_optimizer
from .state import BEST, BEST_BY, INITIAL_STATE, LAST, load_training_state, read_best_meta, read_state


def set_train_mode(net: nn.Cell, freeze_bn: bool = False) -> None:
    """Training mode; with ``freeze_bn`` the BatchNorm layers keep using (and not updating) their statistics."""
    net.set_train(True)
    if freeze_bn:
        for _, cell in net.cells_and_names():
            if isinstance(cell, (nn.BatchNorm1d, nn.BatchNorm2d)):
                cell.set_train(False)


def amp_settings(cfg: dict) -> tuple:
    """(amp_level, loss_scale_manager) for the device: O0 on CPU, O2 + dynamic loss scale on GPU/Ascend."""
    t = cfg["train"]
    level = default_amp_level(cfg["device"]) if t["amp_level"] == "auto" else t["amp_level"]
    if level == "O0" or t["loss_scale"] == "none":
        return level, None
    if t["loss_scale"] == "dynamic" and cfg["device"] != "CPU":
        return level, ms.amp.DynamicLossScaleManager()
    # fp16 on CPU: MindSpore needs a fixed scale that never drops the update there
    return level, ms.amp.FixedLossScaleManager(1024.0, drop_overflow_update=False)


def _prepare_data(cfg: dict, rank: int, wait_s: int = 3600) -> None:
    """Synthetic data, when asked for, is made by rank 0; the other ranks wait for its layout."""
    from ..data import data_root, ensure_synthetic, synthetic_ready

    if not cfg["data"]["synthetic"]:
        return
    if rank == 0:
        ensure_synthetic(cfg)
        return
    for _ in range(wait_s):
        if synthetic_ready(cfg):
            return
        time.sleep(1)
    raise TimeoutError(f"rank {rank}: rank 0 did not create the synthetic data in {data_root(cfg)} within {wait_s} s")


def train(cfg: dict, resume: bool = False, progress: bool = True, callbacks: Sequence[Callback] = ()) -> dict:
    """Train per ``cfg``; with ``resume`` continue from ``<work_dir>/last.ckpt``. Returns the summary
    (:func:`~.callbacks.derive_summary`) last derived, ``{}`` on ranks other than 0.

    Any start removes the partial files of writes that a kill interrupted. A resume drops the log
    records written after ``last.ckpt``'s state and derives ``summary.json`` and the plots again,
    so a run killed at any moment finishes as if it had not been.

    Args:
        callbacks: extra MindSpore callbacks, run after the training loop's own at every step and
            epoch; one that calls ``run_context.request_stop()`` ends the run there (what is saved
            stays resumable).
    """
    setup_for_config(cfg)  # an absent device: ConfigError naming device and its recipe
    rank, group_size = distributed_env()
    is_writer = rank == 0
    work_dir = cfg["train"]["work_dir"]
    start_work_dir(cfg, rank, group_size)
    net = build_network(cfg, verbose=is_writer)
    state, saved, best_meta = restore_state(cfg, resume, verbose=is_writer)
    data = build_data(cfg, rank, group_size, state)
    opt = build_optimizer(cfg, net, data.steps_per_epoch)
    if saved is not None:
        load_training_state(work_dir, net, opt, au_names=config_au_names(cfg))
        if is_writer:
            print(f"resumed from {os.path.join(work_dir, LAST)}: epoch {state['epoch'] + 1}, step "
                  f"{state['step_in_epoch']} of {data.steps_per_epoch}, global step {state['global_step']}")
    if is_writer:
        dump_config(cfg, os.path.join(work_dir, "config.yaml"))
    set_train_mode(net, cfg["train"]["freeze_bn"])
    model = build_trainer_model(cfg, net, opt)
    loop = build_training_loop(cfg, net, opt, data, state, best_meta, rank, progress)
    if is_writer:
        redo_after_last_save(loop, cfg, state, best_meta, resume)
    run_epochs(model, loop, cfg, data, state, rank, group_size, callbacks)
    return loop.summary


def start_work_dir(cfg: dict, rank: int, group_size: int) -> None:
    """Make the work dir and (synthetic) data; rank 0 removes the partial files of writes killed mid-way."""
    work_dir = cfg["train"]["work_dir"]
    os.makedirs(work_dir, exist_ok=True)
    _prepare_data(cfg, rank)
    if rank != 0:
        return
    removed = remove_partial_files(work_dir, stems=WORK_FILES + (*(f"last_rank{r}" for r in range(group_size)),))
    if removed:
        print(f"removed {len(removed)} partial file(s) of writes killed mid-way: "
              f"{', '.join(os.path.basename(p) for p in removed)}")


def build_network(cfg: dict, verbose: bool = True) -> nn.Cell:
    """The network of ``cfg``, its backbone loaded from ``model.backbone_init`` when one is named."""
    net = build_model(cfg)
    if cfg["model"]["backbone_init"]:
        from ..weights import load_backbone_init

        report = load_backbone_init(net, cfg["model"]["backbone_init"])
        if verbose:
            print(f"backbone_init: {report}")
    return net


def restore_state(cfg: dict, resume: bool, verbose: bool = True) -> tuple:
    """(state, saved, best_meta): the progress a run starts from (:data:`~.state.INITIAL_STATE` for a new
    one), ``last.ckpt``'s meta when resuming from one (else None) and ``best.ckpt``'s meta (or None)."""
    state, saved, best_meta = dict(INITIAL_STATE), None, None
    if not resume:
        return state, saved, best_meta
    work_dir = cfg["train"]["work_dir"]
    saved = read_state(work_dir)
    if saved is None:
        if verbose:
            print(f"no {LAST} in {work_dir} yet (stopped before its first save): the run starts from step 1")
    else:
        state.update(saved)
    best_meta = read_best_meta(work_dir)
    _adopt_best(state, best_meta, cfg, work_dir, verbose)
    return state, saved, best_meta


@dataclass
class TrainingData:
    """The data of a run: training (from the state's epoch on), validation, and the epoch's length."""

    train: object  # mindspore.dataset of (image (B, 3, H, W), labels (B, n), or (B, 2n) with intensity) batches
    val: object
    steps_per_epoch: int
    #: resumed inside an epoch: its remaining batches come from a sampler that skips the done ones
    partial: bool


def build_data(cfg: dict, rank: int, group_size: int, state: dict) -> TrainingData:
    """Training and validation data; the sampler starts at the state's epoch (the one after it when the
    state stopped inside an epoch: that epoch's rest is built by :func:`run_epochs`)."""
    from ..pipeline import build_eval_dataset, build_train_dataset

    partial = state["step_in_epoch"] > 0
    first_epoch = state["epoch"] + 1 if partial else state["epoch"]
    train_ds, sampler, _ = build_train_dataset(cfg, rank=rank, group_size=group_size, start_epoch=first_epoch)
    val_ds, _ = build_eval_dataset(cfg)
    steps_per_epoch = len(sampler) // cfg["train"]["batch_size"]
    if steps_per_epoch < 1:
        raise ValueError(f"an epoch has {len(sampler)} frames per device, fewer than train.batch_size "
                         f"({cfg['train']['batch_size']}): lower the batch size or add data")
    return TrainingData(train_ds, val_ds, steps_per_epoch, partial)


def build_trainer_model(cfg: dict, net: nn.Cell, opt) -> Model:
    """MindSpore ``Model`` over the network, the loss of ``cfg``, ``opt`` and the device's AMP settings."""
    level, scale_manager = amp_settings(cfg)
    kwargs = {"amp_level": level}
    if scale_manager is not None:
        kwargs["loss_scale_manager"] = scale_manager
    return Model(net, loss_fn=build_loss(cfg), optimizer=opt, **kwargs)


def build_training_loop(cfg: dict, net: nn.Cell, opt, data: TrainingData, state: dict, best_meta, rank: int,
                        progress: bool) -> TrainingLoop:
    """The :class:`~.callbacks.TrainingLoop` of this rank (only rank 0 writes the work dir)."""
    freeze_bn = cfg["train"]["freeze_bn"]
    return TrainingLoop(cfg, net, opt, data.val, cfg["train"]["work_dir"], data.steps_per_epoch, state,
                        set_train_mode=lambda: set_train_mode(net, freeze_bn), is_writer=rank == 0,
                        progress=progress, save_every=cfg["train"]["ckpt_interval"],
                        rank_state_name=f"last_rank{rank}.ckpt" if cfg["train"]["save_rank_states"] else None,
                        best_meta=best_meta)


def redo_after_last_save(loop: TrainingLoop, cfg: dict, state: dict, best_meta, resume: bool) -> None:
    """What a kill after ``last.ckpt``'s save left undone: log records beyond it go, and on a resume the
    summary and plots are derived again from the state and ``best.ckpt`` (a new run starts a new log)."""
    dropped = loop.log.keep_until(state["epoch"], state["global_step"])
    if dropped:
        print(f"log.jsonl: dropped {dropped} record(s) written after {LAST}'s state; they are redone")
    if resume:
        loop.summary = write_run_files(cfg["train"]["work_dir"], state, best_meta, cfg, loop.log.read())


def run_epochs(model: Model, loop: TrainingLoop, cfg: dict, data: TrainingData, state: dict, rank: int,
               group_size: int, callbacks: Sequence[Callback] = ()) -> None:
    """The rest of a partly done epoch (when resumed inside one), then the epochs up to ``train.epochs``;
    a callback's stop request ends the run where it was made."""
    # corrupt JPEGs met during an epoch are named in a warning at its end
    from ..pipeline import UnreadableImageReport, build_train_dataset

    if data.partial and state["step_in_epoch"] >= data.steps_per_epoch:  # stopped between last step and evaluation
        loop.finish_epoch()
    elif data.partial:
        rest_ds, _, _ = build_train_dataset(cfg, rank=rank, group_size=group_size, start_epoch=state["epoch"],
                                            skip_steps=state["step_in_epoch"])
        model.train(state["epoch"] + 1, rest_ds, callbacks=[loop, UnreadableImageReport(rest_ds), *callbacks],
                    dataset_sink_mode=False, initial_epoch=state["epoch"])
    if state["epoch"] < cfg["train"]["epochs"] and not loop.stopped:
        model.train(cfg["train"]["epochs"], data.train,
                    callbacks=[loop, UnreadableImageReport(data.train), *callbacks],
                    dataset_sink_mode=False, initial_epoch=state["epoch"])


def _adopt_best(state: dict, best_meta, cfg: dict, work_dir: str, verbose: bool) -> None:
    """Make the state's best epoch and score those of ``best.ckpt``, the file that is deployed.

    They differ after a kill between ``best.ckpt``'s and ``last.ckpt``'s saves (best.ckpt then holds
    the epoch in flight, which is redone and must beat it), or when best.ckpt was removed."""
    if best_meta is None:
        if state["best_epoch"] and verbose:
            print(f"{os.path.join(work_dir, BEST)} is missing (the state names epoch {state['best_epoch']}): "
                  f"the next epoch end writes a new one")
        state.update(best_epoch=0, best_score=-1.0)
        return
    key = BEST_BY[cfg["train"]["best_by"]]
    score = float(best_meta.get(key, -1.0))
    if verbose and best_meta["epoch"] != state["best_epoch"]:
        print(f"{BEST} holds epoch {best_meta['epoch']} ({key} {score:.4f}), the state of {LAST} names epoch "
              f"{state['best_epoch']}: {BEST} stays the best checkpoint until an epoch beats it")
    state.update(best_epoch=int(best_meta["epoch"]), best_score=score)


def config_for_run(config_path, overrides, resume_dir=None) -> dict:
    """The config of a new run, or of the run in ``resume_dir`` (its saved ``config.yaml``)."""
    if resume_dir:
        saved = os.path.join(resume_dir, "config.yaml")
        if not os.path.isfile(saved):
            raise FileNotFoundError(f"{resume_dir} is not a work dir (no config.yaml)")
        cfg = load_config(saved, overrides)
        cfg["train"]["work_dir"] = resume_dir
        return cfg
    return load_config(config_path, overrides)


__all__ = ["train", "config_for_run", "set_train_mode", "amp_settings", "format_summary"]
