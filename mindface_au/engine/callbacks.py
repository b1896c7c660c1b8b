"""Callbacks of the training ``Model``: progress + log, periodic state saving, epoch-end evaluation.

With the intensity head (``model.intensity``) the epoch-end evaluation also scores the predicted
intensities (ICC(3,1), PCC, MAE): :data:`~mindface_au.evaluation.intensity.INTENSITY_KEYS` join the
epoch record of ``log.jsonl``, ``best.ckpt``'s meta and ``summary.json``. Without it every record, key
and number is what it was before the head existed.
"""
from __future__ import annotations

import json
import os
import time

import numpy as np
from tqdm import tqdm

from mindspore.train import Callback

from ..config import config_au_names
from ..constants import AU_NAMES
from ..evaluation import format_f1_table, score
from ..evaluation.intensity import (INTENSITY_KEYS, format_intensity_table, intensity_from_metrics, intensity_metrics,
                                    score_labelled_intensity)
from ..plots import plot_curves, plot_f1_bars
from ..fileio import atomic_write_text, read_jsonl
from .evaluator import predict_outputs, predict_probs
from .optim import lr_schedule
from .predict import sigmoid_cell
from .state import LAST, save_best, save_training_state, selection_score, trained_on


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
        """The records in order (:func:`mindface_au.fileio.read_jsonl`: a last line cut by a kill is skipped)."""
        return read_jsonl(self.path)

    def keep_until(self, epoch: int, global_step: int) -> int:
        """Drop the records a saved state does not cover (written after its ``last.ckpt``, by a run
        killed before its next save): steps after ``global_step``, epochs after ``epoch``. The file is
        rewritten atomically; returns how many records went."""
        if not self.enabled or not os.path.isfile(self.path):
            return 0
        records = self.read()

        def covered(r):
            if r.get("type") == "epoch":
                return r.get("epoch", 0) <= epoch
            return r.get("global_step", 0) <= global_step

        kept = [r for r in records if covered(r)]
        with open(self.path, encoding="utf-8") as f:
            intact = f.read().endswith("\n") or not records
        if len(kept) < len(records) or not intact:
            atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in kept))
        return len(records) - len(kept)


# the files of a work dir that training writes atomically (and whose partial files it may remove)
WORK_FILES = ("last", "best", "summary", "f1_per_au", "curves", "config", "log")


def derive_summary(state: dict, best_meta, cfg: dict) -> dict:
    """``summary.json``: the progress of ``state`` (last.ckpt) and the evaluation of ``best_meta``
    (best.ckpt's meta; None before the first epoch end). Every key but the best ones is always there;
    ``au_names`` only for a set other than Aff-Wild2's."""
    summary = {"epochs_done": state["epoch"], "total_epochs": cfg["train"]["epochs"],
               "best_by": cfg["train"]["best_by"], "threshold": cfg["eval"]["threshold"]}
    if config_au_names(cfg) != AU_NAMES:  # no au_names: Aff-Wild2's 12, as in every file of the package
        summary["au_names"] = list(config_au_names(cfg))
    if best_meta:
        summary.update(best_by=best_meta.get("best_by", summary["best_by"]), best_epoch=best_meta["epoch"],
                       best_mean_f1=best_meta["mean_f1"], per_au_f1=best_meta["per_au_f1"],
                       thresholds=best_meta["thresholds"])
        for key in ("best_threshold_mean_f1", "best_threshold_per_au_f1", "all_positive_mean_f1", *INTENSITY_KEYS):
            if key in best_meta:
                summary[key] = best_meta[key]
        if "threshold" in best_meta:
            summary["threshold"] = best_meta["threshold"]
    return summary


def write_run_files(work_dir: str, state: dict, best_meta, cfg: dict, log_records) -> dict:
    """Rewrite the files derived from the state and best.ckpt: ``summary.json``, ``f1_per_au.png``
    (when there is a best checkpoint) and ``curves.png``, in that order. Returns the summary."""
    summary = derive_summary(state, best_meta, cfg)
    atomic_write_text(os.path.join(work_dir, "summary.json"), json.dumps(summary, indent=2))
    if best_meta:
        plot_f1_bars(summary["per_au_f1"], os.path.join(work_dir, "f1_per_au.png"), au_names=summary.get("au_names"),
                     title=f"validation F1 per AU at {summary['threshold']} (best epoch {summary['best_epoch']} "
                           f"by {summary['best_by']}, mean {100 * summary['best_mean_f1']:.2f})")
    plot_curves(log_records, os.path.join(work_dir, "curves.png"), title=work_dir)
    return summary


class TrainingLoop(Callback):
    """Progress bar with loss and speed, ``log.jsonl`` records, ``last.ckpt`` every ``save_every`` steps
    and at each epoch end, and at each epoch end an evaluation that keeps ``best.ckpt``.

    The epoch end writes, in this order: the epoch record of ``log.jsonl``, ``best.ckpt`` (when the
    ``train.best_by`` metric improved), ``summary.json``, ``f1_per_au.png``, ``curves.png``, and last
    ``last.ckpt``, whose state claims only what is already on disk. A run killed anywhere in it resumes
    from the previous ``last.ckpt``: the trainer drops the log records that state does not cover and
    derives the summary and plots again (:func:`write_run_files`).

    Args:
        state: a dict shared with the trainer, :data:`~.state.INITIAL_STATE`'s keys; it is what
            ``last.ckpt`` stores as meta (with ``trained_on``).
        set_train_mode: called after evaluation to put the network back into training mode.
        best_meta: ``best.ckpt``'s meta when resuming (None: no best checkpoint yet).
        rank_state_name: also save this rank's state under this file name at each epoch end.
    """

    def __init__(self, cfg, net, opt, val_dataset, work_dir, steps_per_epoch, state, set_train_mode,
                 is_writer=True, progress=True, save_every=0, rank_state_name=None,
                 best_meta=None):
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
        self.rank_state_name = rank_state_name
        self.best_meta = best_meta
        self.summary = {}
        self.log = JsonlLog(os.path.join(work_dir, "log.jsonl"), enabled=is_writer)
        self.lr = lr_schedule(cfg, steps_per_epoch)
        self.bar = None
        self._t0 = time.time()
        self._epoch_images = 0
        self.stopped = False
        self.val_cell = None  # WithSigmoid(net) for validation, built at the first evaluation

    def _lr_at(self, global_step: int) -> float:
        return float(self.lr[min(global_step, len(self.lr) - 1)])

    def save_state(self, state: dict, name: str = LAST) -> str:
        """``last.ckpt`` (or ``name``): network, optimiser and ``state`` with what it was trained on."""
        meta = dict(state, trained_on=trained_on(self.cfg, state["epoch"]), au_names=list(config_au_names(self.cfg)))
        return save_training_state(self.work_dir, self.net, self.opt, meta, name=name)

    def on_train_begin(self, run_context):
        self.set_train_mode()  # Model has set everything to training mode; frozen BN goes back to eval

    def on_train_epoch_begin(self, run_context):
        epoch = self.state["epoch"]
        remaining = self.steps_per_epoch - self.state["step_in_epoch"]
        self.bar = tqdm(total=remaining, desc=f"epoch {epoch + 1}/{self.cfg['train']['epochs']}",
                        disable=not (self.progress and self.is_writer), leave=False)
        self._t0 = time.time()
        self._epoch_images = 0

    def on_train_step_end(self, run_context):
        cb = run_context.original_args()
        loss = _loss_value(cb.net_outputs)
        lr = self._lr_at(self.state["global_step"])
        if not np.isfinite(loss):
            raise FloatingPointError(f"loss is {loss} at epoch {self.state['epoch'] + 1} step "
                                     f"{self.state['step_in_epoch'] + 1}; lower train.lr or check the data")
        self.state["global_step"] += 1
        self.state["step_in_epoch"] += 1
        self.state["loss_sum"] += loss
        self.state["loss_count"] += 1
        batch = self.cfg["train"]["batch_size"]
        self._epoch_images += batch
        speed = self._epoch_images / max(time.time() - self._t0, 1e-9)
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.2g}", img_s=f"{speed:.0f}")
        if self.state["global_step"] % self.cfg["train"]["log_interval"] == 0:
            self.log.write({"type": "step", "epoch": self.state["epoch"] + 1, "step": self.state["step_in_epoch"],
                            "global_step": self.state["global_step"], "loss": loss, "lr": lr,
                            "images_per_s": speed})
        if self.save_every and self.state["global_step"] % self.save_every == 0 and self.is_writer:
            self.save_state(self.state)

    def on_train_epoch_end(self, run_context):
        if self.bar is not None:
            self.bar.close()
        if self.state["step_in_epoch"] < self.steps_per_epoch:
            return  # a callback requested a stop inside the epoch: it is not complete
        self.finish_epoch()

    def on_train_end(self, run_context):
        self.stopped = self.stopped or run_context.get_stop_requested()  # a callback ended the run early

    def evaluate(self, epoch: int) -> dict:
        """The validation scores after ``epoch``: :meth:`AUScore.as_dict
        <mindface_au.evaluation.AUScore.as_dict>` at ``eval.threshold`` on the occurrence, plus with the
        intensity head :func:`~mindface_au.evaluation.intensity.intensity_metrics` (when the split has
        intensity labels)."""
        show = self.progress and self.is_writer
        threshold = self.cfg["eval"]["threshold"]
        if self.val_cell is None:  # one wrapper for the run: GRAPH_MODE compiles it once, not each epoch
            self.val_cell = sigmoid_cell(self.net)
        if not getattr(self.net, "use_intensity", False):
            probs, labels = predict_probs(self.val_cell, self.val_dataset, desc=f"eval {epoch}", progress=show)
            return score(probs, labels, threshold).as_dict()
        pred = predict_outputs(self.val_cell, self.val_dataset, desc=f"eval {epoch}", progress=show)
        result = score(pred["probs"], pred["labels"], threshold).as_dict()
        scored = score_labelled_intensity(pred["intensity"], pred["intensity_labels"], config_au_names(self.cfg))
        return dict(result, **intensity_metrics(scored))

    def finish_epoch(self):
        """Evaluate, log and save at the end of the epoch whose steps are all done."""
        epoch = self.state["epoch"] + 1
        threshold = self.cfg["eval"]["threshold"]
        result = self.evaluate(epoch)
        self.set_train_mode()
        best_by = self.cfg["train"]["best_by"]
        value = selection_score(result, best_by)
        improved = value > self.state["best_score"]
        count = self.state["loss_count"]
        done = dict(self.state, epoch=epoch, step_in_epoch=0, loss_sum=0.0, loss_count=0)
        if improved:
            done.update(best_epoch=epoch, best_score=value)
        record = {"type": "epoch", "epoch": epoch, "global_step": self.state["global_step"],
                  "loss": self.state["loss_sum"] / count if count else None, "loss_steps": count,
                  "lr": self._lr_at(self.state["global_step"] - 1), **result, "best_by": best_by,
                  "best_score": done["best_score"], "seconds": time.time() - self._t0}
        self.log.write(record)
        if self.is_writer:
            if improved:
                meta = {"epoch": epoch, "best_by": best_by, "score": value, "threshold": threshold, **result,
                        "config": self.cfg, "trained_on": trained_on(self.cfg, epoch),
                        "au_names": list(config_au_names(self.cfg))}
                save_best(self.work_dir, self.net, meta)
                self.best_meta = meta
            self.summary = write_run_files(self.work_dir, done, self.best_meta, self.cfg, self.log.read())
            self.save_state(done)  # last: it claims the epoch, and everything above is on disk
        self.state.update(done)
        if self.rank_state_name:
            self.save_state(self.state, name=self.rank_state_name)
        if self.is_writer:
            if record["loss"] is None:
                loss_text = "n/a"
            else:
                loss_text = f"{record['loss']:.4f}"
                if count < self.steps_per_epoch:  # a last.ckpt of an older version kept no loss sums
                    loss_text += f" (mean of the {count} steps run since the resume)"
            print(f"\nepoch {epoch}: loss {loss_text}  val mean F1 {100 * result['mean_f1']:.2f} "
                  f"(best thresholds {100 * result['best_threshold_mean_f1']:.2f}, all-positive "
                  f"{100 * result['all_positive_mean_f1']:.2f}){_intensity_text(result)}"
                  f"{'  *best*' if improved else ''}", flush=True)


def _intensity_text(result: dict) -> str:
    """``; intensity ICC 0.610 PCC 0.660 MAE 0.520`` of an evaluation with intensity scores, else ``''``."""
    if "mean_icc" not in result:
        return ""
    return "; intensity " + " ".join(f"{name} {'n/a' if result[key] is None else f'{result[key]:.3f}'}"
                                     for name, key in (("ICC", "mean_icc"), ("PCC", "mean_pcc"), ("MAE", "mean_mae")))


def format_summary(summary: dict) -> str:
    """The per-AU F1 table of a ``summary.json``; with intensity scores the ICC / PCC / MAE table after it."""
    text = format_f1_table(summary["per_au_f1"], summary["best_mean_f1"],
                           extra_columns={"best thr": summary["thresholds"]}, au_names=summary.get("au_names"))
    intensity = intensity_from_metrics(summary, summary.get("au_names") or AU_NAMES)
    if intensity is None:
        return text
    return f"{text}\n\nintensity of the best epoch (ICC(3,1), Pearson r, MAE on 0-5)\n{format_intensity_table(intensity)}"
