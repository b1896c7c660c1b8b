"""Training with MindSpore ``Model``: one device or data-parallel under ``msrun``, resumable.

``train(cfg)`` builds the data (per-epoch resampling sampler, sharded by rank), the network
(optionally from converted backbone weights), BCE + circle loss, SGD with the step schedule
and AMP by device, then runs ``Model.train`` with :class:`~.callbacks.TrainingLoop`, which
evaluates on the validation split after every epoch and writes the work dir (only rank 0
writes): ``config.yaml``, ``log.jsonl``, ``last.ckpt``, ``best.ckpt``, ``summary.json`` and
the PNG curves.

``last.ckpt``'s state is the truth of a run's progress and is written last at every epoch end;
``summary.json`` and the plots are derived from it and from ``best.ckpt``'s meta. After a kill at
any moment, ``--resume`` removes partial files, drops the log records the state does not cover,
derives the summary again and redoes what the state does not claim.
"""
from __future__ import annotations

import os
import time

import mindspore as ms
import mindspore.nn as nn
from mindspore.train import Model

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
    from ..data import data_root, ensure_synthetic, is_abaw_root

    if not cfg["data"]["synthetic"]:
        return
    if rank == 0:
        ensure_synthetic(cfg)
        return
    root = data_root(cfg)
    splits = (cfg["data"]["train_split"], cfg["data"]["val_split"])
    for _ in range(wait_s):
        if is_abaw_root(root, splits):
            return
        time.sleep(1)
    raise TimeoutError(f"rank {rank}: rank 0 did not create the synthetic data in {root} within {wait_s} s")


def train(cfg: dict, resume: bool = False, progress: bool = True, stop_after_steps=None) -> dict:
    """Train per ``cfg``; with ``resume`` continue from ``<work_dir>/last.ckpt``. Returns the summary
    (:func:`~.callbacks.derive_summary`) last derived, ``{}`` on ranks other than 0.

    Any start removes the partial files of writes that a kill interrupted. A resume drops the log
    records written after ``last.ckpt``'s state and derives ``summary.json`` and the plots again,
    so a run killed at any moment finishes as if it had not been.
    ``stop_after_steps`` ends the run early after that many steps (tests of interruption).
    """
    from ..pipeline import build_eval_dataset, build_train_dataset

    setup_for_config(cfg)  # an absent device: ConfigError naming device and its recipe
    rank, group_size = distributed_env()
    work_dir = cfg["train"]["work_dir"]
    is_writer = rank == 0
    os.makedirs(work_dir, exist_ok=True)
    _prepare_data(cfg, rank)

    if is_writer:
        removed = remove_partial_files(work_dir, stems=WORK_FILES + (*(f"last_rank{r}" for r in range(group_size)),))
        if removed:
            print(f"removed {len(removed)} partial file(s) of writes killed mid-way: "
                  f"{', '.join(os.path.basename(p) for p in removed)}")
    net = build_model(cfg)
    if cfg["model"]["backbone_init"]:
        from ..weights import load_backbone_init

        report = load_backbone_init(net, cfg["model"]["backbone_init"])
        if is_writer:
            print(f"backbone_init: {report}")
    state = dict(INITIAL_STATE)
    best_meta = None
    # the sampler must know where a resumed run starts: read the state's meta before building the data
    if resume:
        saved = read_state(work_dir)
        if saved is None:
            if is_writer:
                print(f"no {LAST} in {work_dir} yet (stopped before its first save): the run starts from step 1")
        else:
            state.update(saved)
        best_meta = read_best_meta(work_dir)
        _adopt_best(state, best_meta, cfg, work_dir, is_writer)
    # resumed inside an epoch: that epoch's remaining batches come from a sampler that skips the done ones
    partial = state["step_in_epoch"] > 0
    first_epoch = state["epoch"] + 1 if partial else state["epoch"]
    train_ds, sampler, _ = build_train_dataset(cfg, rank=rank, group_size=group_size, start_epoch=first_epoch)
    val_ds, _ = build_eval_dataset(cfg)
    steps_per_epoch = len(sampler) // cfg["train"]["batch_size"]
    if steps_per_epoch < 1:
        raise ValueError(f"an epoch has {len(sampler)} frames per device, fewer than train.batch_size "
                         f"({cfg['train']['batch_size']}): lower the batch size or add data")
    opt = build_optimizer(cfg, net, steps_per_epoch)
    if resume and saved is not None:
        load_training_state(work_dir, net, opt, au_names=config_au_names(cfg))
        if is_writer:
            print(f"resumed from {os.path.join(work_dir, LAST)}: epoch {state['epoch'] + 1}, step "
                  f"{state['step_in_epoch']} of {steps_per_epoch}, global step {state['global_step']}")
    if is_writer:
        dump_config(cfg, os.path.join(work_dir, "config.yaml"))

    freeze_bn = cfg["train"]["freeze_bn"]
    set_train_mode(net, freeze_bn)
    level, scale_manager = amp_settings(cfg)
    kwargs = {"amp_level": level}
    if scale_manager is not None:
        kwargs["loss_scale_manager"] = scale_manager
    model = Model(net, loss_fn=build_loss(cfg), optimizer=opt, **kwargs)
    loop = TrainingLoop(cfg, net, opt, val_ds, work_dir, steps_per_epoch, state,
                        set_train_mode=lambda: set_train_mode(net, freeze_bn), is_writer=is_writer,
                        progress=progress, save_every=cfg["train"]["ckpt_interval"],
                        stop_after_steps=stop_after_steps,
                        rank_state_name=f"last_rank{rank}.ckpt" if cfg["train"]["save_rank_states"] else None,
                        best_meta=best_meta)
    if is_writer:
        # what a kill after last.ckpt's save left undone: log records beyond it go, summary and plots
        # are derived again from the state and best.ckpt (a new run starts a new log)
        dropped = loop.log.keep_until(state["epoch"], state["global_step"])
        if dropped:
            print(f"log.jsonl: dropped {dropped} record(s) written after {LAST}'s state; they are redone")
        if resume:
            loop.summary = write_run_files(work_dir, state, best_meta, cfg, loop.log.read())
    # corrupt JPEGs met during an epoch are named in a warning at its end
    from ..pipeline import UnreadableImageReport

    if partial and state["step_in_epoch"] >= steps_per_epoch:  # stopped between the last step and the evaluation
        loop.finish_epoch()
    elif partial:
        rest_ds, _, _ = build_train_dataset(cfg, rank=rank, group_size=group_size, start_epoch=state["epoch"],
                                            skip_steps=state["step_in_epoch"])
        model.train(state["epoch"] + 1, rest_ds, callbacks=[loop, UnreadableImageReport(rest_ds)],
                    dataset_sink_mode=False, initial_epoch=state["epoch"])
    if state["epoch"] < cfg["train"]["epochs"] and not loop.stopped:
        model.train(cfg["train"]["epochs"], train_ds, callbacks=[loop, UnreadableImageReport(train_ds)],
                    dataset_sink_mode=False, initial_epoch=state["epoch"])
    return loop.summary


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
