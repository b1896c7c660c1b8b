"""Callbacks of the training ``Model``: progress + log, periodic state saving, epoch-end evaluation."""
from __future__ import annotations

import json
import os
import time

import numpy as np
from tqdm import tqdm

from mindspore.train import Callback

from ..evaluation import format_f1_table, plot_curves, plot_f1_bars
from ..fileio import atomic_write_text
from .evaluator import predict_probs, score
from .optim import lr_schedule
from .state import save_best, save_training_state


def _loss_value(outputs) -> float:
    """The loss of a step's outputs (a Tensor, or (loss, overflow, scale) with loss scaling)."""
    if isinstance(outputs, (tuple, list)):
        outputs = outputs[0]
    return float(outputs.asnumpy())


class JsonlLog:
    """Append-only ``log.jsonl``: one JSON record per line, flushed at once."""

    def __init__(self, path: str, enabled: bool = True):
        self.path = path
        self.enabled = enabled

    def write(self, record: dict) -> None:
        if not self.enabled:
            return
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()

    def read(self) -> list:
        if not os.path.isfile(self.path):
            return []
        with open(self.path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]


class TrainingLoop(Callback):
    """Progress bar with loss and speed, ``log.jsonl`` records, ``last.ckpt`` every ``save_every`` steps
    and at each epoch end, and at each epoch end an evaluation that keeps ``best.ckpt``.

    Args:
        state: a dict shared with the trainer: ``{'epoch', 'step_in_epoch', 'global_step', 'best_mean_f1',
            'best_epoch'}``; it is what ``last.ckpt`` stores as meta.
        set_train_mode: called after evaluation to put the network back into training mode.
        rank_state_name: also save this rank's state under this file name at each epoch end.
    """

    def __init__(self, cfg, net, opt, val_dataset, work_dir, steps_per_epoch, state, set_train_mode,
                 is_writer=True, progress=True, save_every=0, stop_after_steps=None, rank_state_name=None):
        super().__init__()
        self.cfg = cfg
        self.net = net
        self.opt = opt
        self.val_dataset = val_dataset
        self.work_dir = work_dir
        self.steps_per_epoch = steps_per_epoch
        self.state = state
        self.set_train_mode = set_train_mode
        self.is_writer = is_writer
        self.progress = progress
        self.save_every = save_every
        self.stop_after_steps = stop_after_steps
        self.rank_state_name = rank_state_name
        self.log = JsonlLog(os.path.join(work_dir, "log.jsonl"), enabled=is_writer)
        self.lr = lr_schedule(cfg, steps_per_epoch)
        self.bar = None
        self._losses = []
        self._t0 = time.time()
        self._steps_run = 0
        self.stopped = False

    def _lr_at(self, global_step: int) -> float:
        return float(self.lr[min(global_step, len(self.lr) - 1)])

    def on_train_begin(self, run_context):
        self.set_train_mode()  # Model has set everything to training mode; frozen BN goes back to eval

    def on_train_epoch_begin(self, run_context):
        epoch = self.state["epoch"]
        remaining = self.steps_per_epoch - self.state["step_in_epoch"]
        self.bar = tqdm(total=remaining, desc=f"epoch {epoch + 1}/{self.cfg['train']['epochs']}",
                        disable=not (self.progress and self.is_writer), leave=False)
        self._losses = []
        self._t0 = time.time()
        self._epoch_images = 0

    def on_train_step_end(self, run_context):
        cb = run_context.original_args()
        loss = _loss_value(cb.net_outputs)
        lr = self._lr_at(self.state["global_step"])
        self.state["global_step"] += 1
        self.state["step_in_epoch"] += 1
        self._steps_run += 1
        self._losses.append(loss)
        batch = self.cfg["train"]["batch_size"]
        self._epoch_images += batch
        speed = self._epoch_images / max(time.time() - self._t0, 1e-9)
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.2g}", img_s=f"{speed:.0f}")
        if not np.isfinite(loss):
            raise FloatingPointError(f"loss is {loss} at epoch {self.state['epoch'] + 1} step "
                                     f"{self.state['step_in_epoch']}; lower train.lr or check the data")
        if self.state["global_step"] % self.cfg["train"]["log_interval"] == 0:
            self.log.write({"type": "step", "epoch": self.state["epoch"] + 1, "step": self.state["step_in_epoch"],
                            "global_step": self.state["global_step"], "loss": loss, "lr": lr,
                            "images_per_s": speed})
        if self.save_every and self.state["global_step"] % self.save_every == 0 and self.is_writer:
            save_training_state(self.work_dir, self.net, self.opt, dict(self.state))
        if self.stop_after_steps is not None and self._steps_run >= self.stop_after_steps:
            self.stopped = True
            run_context.request_stop()

    def on_train_epoch_end(self, run_context):
        if self.bar is not None:
            self.bar.close()
        if self.state["step_in_epoch"] < self.steps_per_epoch:
            return  # stopped early (stop_after_steps): the epoch is not complete
        self.finish_epoch()

    def finish_epoch(self):
        """Evaluate, log and save at the end of the epoch whose steps are all done."""
        epoch = self.state["epoch"] + 1
        probs, labels = predict_probs(self.net, self.val_dataset, desc=f"eval {epoch}", progress=self.progress
                                      and self.is_writer)
        result = score(probs, labels, self.cfg["eval"]["threshold"])
        self.set_train_mode()
        improved = result["mean_f1"] > self.state["best_mean_f1"]
        self.state.update(epoch=epoch, step_in_epoch=0)
        if improved:
            self.state.update(best_mean_f1=result["mean_f1"], best_epoch=epoch)
        record = {"type": "epoch", "epoch": epoch, "global_step": self.state["global_step"],
                  "loss": float(np.mean(self._losses)) if self._losses else None,
                  "lr": self._lr_at(self.state["global_step"] - 1), **result,
                  "seconds": time.time() - self._t0}
        self.log.write(record)
        if self.is_writer:
            if improved:
                save_best(self.work_dir, self.net, {"thresholds": result["thresholds"], "config": self.cfg,
                                                     "epoch": epoch, "mean_f1": result["mean_f1"],
                                                     "per_au_f1": result["per_au_f1"]})
            save_training_state(self.work_dir, self.net, self.opt, dict(self.state))
            self._write_summary(result if improved else None)
            loss_text = "n/a" if record["loss"] is None else f"{record['loss']:.4f}"
            print(f"\nepoch {epoch}: loss {loss_text}  val mean F1 {100 * result['mean_f1']:.2f} "
                  f"(best thresholds {100 * result['best_threshold_mean_f1']:.2f}, all-positive "
                  f"{100 * result['all_positive_mean_f1']:.2f}){'  *best*' if improved else ''}", flush=True)
        if self.rank_state_name:
            save_training_state(self.work_dir, self.net, self.opt, dict(self.state), name=self.rank_state_name)

    def _write_summary(self, best_result):
        summary_path = os.path.join(self.work_dir, "summary.json")
        summary = {}
        if os.path.isfile(summary_path):
            with open(summary_path, encoding="utf-8") as f:
                summary = json.load(f)
        if best_result is not None:
            summary = {"best_epoch": self.state["best_epoch"], "best_mean_f1": best_result["mean_f1"],
                       "per_au_f1": best_result["per_au_f1"], "thresholds": best_result["thresholds"],
                       "best_threshold_mean_f1": best_result["best_threshold_mean_f1"],
                       "all_positive_mean_f1": best_result["all_positive_mean_f1"]}
            plot_f1_bars(best_result["per_au_f1"], os.path.join(self.work_dir, "f1_per_au.png"),
                         title=f"validation F1 per AU (epoch {self.state['best_epoch']}, "
                               f"mean {100 * best_result['mean_f1']:.2f})")
        summary["epochs_done"] = self.state["epoch"]
        atomic_write_text(summary_path, json.dumps(summary, indent=2))
        plot_curves(self.log.read(), os.path.join(self.work_dir, "curves.png"), title=self.work_dir)


def format_summary(summary: dict) -> str:
    """The per-AU F1 table of a ``summary.json``."""
    return format_f1_table(summary["per_au_f1"], summary["best_mean_f1"],
                           extra_columns={"best thr": summary["thresholds"]})
