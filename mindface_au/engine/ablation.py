"""The paper's ablation (Table 3) as training runs: every row recipe trained with N seeds.

Per row, over its seeds, the study reports the mean ± std of

* the mean F1 at threshold 0.5 at the last epoch,
* the mean F1 at the per-AU best thresholds (searched on the same validation set) at the last epoch,
* the training loss of the last epoch (a row whose loss still falls is still learning),

and, for reference, the best epoch's F1 at 0.5. Last-epoch values are the headline: choosing
the best epoch on the validation set that is also reported flatters the noisier rows.

Runs live in ``<out_dir>/<row>/seed<s>/`` (a normal training work dir); synthetic data, which
is generated from the seed, in ``<out_dir>/data/seed<s>/``. Seeds run in the outer loop. A run whose log holds
all its epochs is read, not retrained; an interrupted one resumes from its ``last.ckpt``, so a
study can be stopped and started again. Rows with fewer finished seeds than asked are reported
with the seeds they have.
"""
from __future__ import annotations

import json
import os
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..fileio import atomic_write_text, read_jsonl
from ..plots import plot_ablation

# The paper's official-validation mean F1 (%) of the same rows (reported, Aff-Wild2, IResNet100).
PAPER_ROWS = {"1_baseline": 50.82, "2_circle": 51.78, "3_pretrain": 53.06, "4_arl": 53.56, "5_lrp": 54.19,
              "6_ff": 55.25}
ROW_TITLES = {"1_baseline": "baseline (backbone, BCE)", "2_circle": "+ circle loss",
              "3_pretrain": "+ face pretraining", "4_arl": "+ ARL", "5_lrp": "+ LRP", "6_ff": "+ FF (attention)",
              "from_scratch/3_arl": "+ ARL, from scratch", "from_scratch/4_lrp": "+ LRP, from scratch",
              "from_scratch/5_ff": "+ FF, from scratch",
              "reference/arl_au_pretrained": "+ ARL at 64 px, AU-pretrained backbone",
              "hypotheses/arl_64px": "+ ARL at 64 px, from scratch",
              "hypotheses/lrp_mad_per_sample": "+ LRP from scratch, MAD per sample",
              "hypotheses/pretrain_arcface_norm": "+ face pretraining, ArcFace normalisation",
              "hypotheses/pretrain_low_lr": "+ face pretraining, lr 0.001",
              "hypotheses/baseline_12_epochs": "baseline, 12 epochs", "hypotheses/circle_12_epochs": "+ circle loss, 12 epochs"}


def row_name(config_path: str, root: Optional[str] = None) -> str:
    """A row's name: its recipe's path below ``root`` (default: its folder), without ``.yaml``."""
    rel = os.path.relpath(config_path, root or os.path.dirname(config_path))
    return os.path.splitext(rel)[0].replace(os.sep, "/")


def row_names(config_paths: Sequence[str]) -> List[str]:
    """The rows' names below the recipes' common folder (``from_scratch/3_arl`` beside ``4_arl``)."""
    root = os.path.commonpath([os.path.dirname(os.path.abspath(p)) for p in config_paths]) if config_paths else ""
    return [row_name(os.path.abspath(p), root) for p in config_paths]


def ensure_pretrained(cfg: dict, pretrain_settings=None, progress: bool = False) -> None:
    """Make sure a row's ``model.backbone_init`` exists: when it is ``pretrain_settings``' backbone, run
    (or resume) that pretraining to its last epoch first; any other missing file is an error."""
    path = cfg["model"]["backbone_init"]
    if not path:
        return
    if pretrain_settings is not None:
        from .pretrain import BACKBONE, pretrain

        work = pretrain_settings.work_dir
        if os.path.abspath(path) == os.path.abspath(os.path.join(work, BACKBONE)):
            done = [r for r in read_jsonl(os.path.join(work, "log.jsonl")) if r.get("type") == "epoch"]
            if len(done) < pretrain_settings.epochs:
                resume = os.path.isfile(os.path.join(work, "last.ckpt"))
                print(f"=== face pretraining -> {path}{' resumed' if resume else ''}", flush=True)
                pretrain(pretrain_settings, resume=resume, progress=progress)
    if not os.path.isfile(path):
        source = getattr(cfg, "sources", {}).get("model.backbone_init", "the recipe")
        raise FileNotFoundError(f"{source}: model.backbone_init: {path} does not exist")


def read_epochs(work_dir: str) -> List[dict]:
    """The epoch records of ``<work_dir>/log.jsonl``, one per epoch (a resumed epoch: its last record)."""
    by_epoch: Dict[int, dict] = {int(r["epoch"]): r for r in read_jsonl(os.path.join(work_dir, "log.jsonl"))
                                 if r.get("type") == "epoch"}
    return [by_epoch[e] for e in sorted(by_epoch)]


def run_summary(work_dir: str, seed: int) -> Optional[dict]:
    """One run's numbers from its log (None if no epoch finished)."""
    epochs = read_epochs(work_dir)
    if not epochs:
        return None
    last = epochs[-1]
    return {"seed": seed, "work_dir": work_dir, "epochs_done": int(last["epoch"]),
            "f1_at_0.5": float(last["mean_f1"]), "f1_best_thresholds": float(last["best_threshold_mean_f1"]),
            "last_loss": None if last.get("loss") is None else float(last["loss"]),
            "best_epoch_f1_at_0.5": float(max(r["mean_f1"] for r in epochs)),
            "all_positive_f1": float(last["all_positive_mean_f1"]),
            "loss_per_epoch": [None if r.get("loss") is None else float(r["loss"]) for r in epochs],
            "f1_per_epoch": [float(r["mean_f1"]) for r in epochs]}


def _mean_std(values: Sequence[float]) -> tuple:
    """Mean and sample std (ddof 1) of the values that exist; the std is None below two values."""
    v = np.asarray([x for x in values if x is not None], dtype=np.float64)
    if v.size == 0:
        return float("nan"), None
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else None


def row_summary(name: str, runs: Sequence[dict]) -> dict:
    """Mean and std over a row's finished runs."""
    out = {"row": name, "title": ROW_TITLES.get(name, name), "seeds": [r["seed"] for r in runs],
           "epochs_done": [r["epochs_done"] for r in runs], "runs": list(runs)}
    for key in ("f1_at_0.5", "f1_best_thresholds", "last_loss", "best_epoch_f1_at_0.5", "all_positive_f1"):
        out[key], out[key + "_std"] = _mean_std([r[key] for r in runs])
    return out


def seed_work_dir(out_dir: str, name: str, seed: int) -> str:
    return os.path.join(out_dir, name, f"seed{seed}")


def run_ablation(config_paths: Sequence[str], overrides: Sequence[str] = (), seeds: int = 1,
                 out_dir: str = "work_dirs/ablation", progress: bool = False, train_missing: bool = True,
                 pretrain_settings=None, names: Optional[Sequence[str]] = None) -> List[dict]:
    """Train (or read) every row recipe with seeds 0..``seeds``-1; returns one :func:`row_summary` per row.

    ``names``: the rows' names, which are their work dirs below ``out_dir`` (default :func:`row_names` of
    ``config_paths``). A selection of a study's rows passes the names the whole study gives them, so that
    ``from_scratch/5_ff`` run alone is still ``<out_dir>/from_scratch/5_ff``, not ``<out_dir>/5_ff``.

    ``overrides`` apply to every row (``--set`` syntax); each run also gets ``seed=<s>`` and its
    work dir. ``train_missing=False`` only reads what is there (a report of a study in progress).
    ``pretrain_settings`` (:class:`~mindface_au.engine.pretrain.PretrainSettings`): the face
    pretraining that makes the backbone the pretrained rows start from, run first when missing.
    """
    from ..config import load_config
    from .trainer import train

    names = list(names) if names is not None else row_names(config_paths)
    if len(names) != len(config_paths):
        raise ValueError(f"{len(names)} row names for {len(config_paths)} recipes")
    runs: Dict[str, List[dict]] = {name: [] for name in names}
    for seed in range(seeds):  # seed-major: a study stopped early has every row at the same count
        for path, name in zip(config_paths, names):
            work = seed_work_dir(out_dir, name, seed)
            sets = list(overrides) + [f"seed={seed}", f"train.work_dir={work}"]
            cfg = load_config(path, sets)
            if cfg["data"]["synthetic"]:  # synthetic data is made from the seed: one folder per seed
                cfg = load_config(path, sets + [f"data.root={os.path.join(out_dir, 'data', f'seed{seed}')}"])
            done = read_epochs(work)
            if train_missing and (not done or done[-1]["epoch"] < cfg["train"]["epochs"]):
                ensure_pretrained(cfg, pretrain_settings, progress)
                resume = os.path.isfile(os.path.join(work, "last.ckpt")) and bool(done)
                print(f"=== {name} seed {seed} ({path}){' resumed' if resume else ''}", flush=True)
                train(cfg, resume=resume, progress=progress)
            summary = run_summary(work, seed)
            if summary is not None:
                runs[name].append(summary)
    bases = base_rows(config_paths, names)
    return [{**row_summary(name, runs[name]), "base": bases[name]} for name in names]


def base_rows(config_paths: Sequence[str], names: Sequence[str]) -> Dict[str, Optional[str]]:
    """Row name -> the row its recipe builds on (its ``_base_``), when that recipe is a row too."""
    import yaml

    by_path = {os.path.abspath(p): n for p, n in zip(config_paths, names)}
    out = {}
    for path, name in zip(config_paths, names):
        with open(path, encoding="utf-8") as f:
            base = (yaml.safe_load(f) or {}).get("_base_")
        out[name] = by_path.get(os.path.abspath(os.path.join(os.path.dirname(path), base))) if base else None
    return out


def _pm(mean: float, std: Optional[float], scale: float = 100.0, digits: int = 2) -> str:
    """``mean ± std`` scaled; the mean alone when there is no std (one run)."""
    if not np.isfinite(mean):
        return "n/a"
    return f"{scale * mean:.{digits}f}" + ("" if std is None else f" ± {scale * std:.{digits}f}")


def ablation_table(rows: Sequence[dict]) -> str:
    """Markdown: per row, seeds and epochs run, mean ± std of F1 at 0.5 / at best thresholds (last
    epoch), its change from the row it builds on (its recipe's ``_base_``), the last-epoch training
    loss, and the paper's value. Rows of a sub-folder (``from_scratch/...``) follow a block title."""
    lines = ["| row | seeds | epochs | mean F1 @0.5 (%) | change | mean F1 @best thr. (%) | last-epoch train loss "
             "| best-epoch F1 @0.5 (%) | all-positive F1 (%) | paper, Aff-Wild2 val (reported) |",
             "|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    by_name = {r["row"]: r for r in rows}
    block = ""
    for r in rows:
        if "/" in r["row"] and r["row"].split("/")[0] != block:
            block = r["row"].split("/")[0]
            lines.append(f"| *{block.replace('_', ' ')}* |" + " |" * 9)
        f1 = r["f1_at_0.5"]
        base = by_name.get(r.get("base"), {}).get("f1_at_0.5", float("nan"))
        change = f"{100 * (f1 - base):+.2f}" if np.isfinite(f1) and np.isfinite(base) else ""
        epochs = sorted(set(r["epochs_done"]))
        lines.append(f"| {r['title']} | {len(r['seeds'])} | {'/'.join(map(str, epochs)) or 0} | "
                     f"{_pm(f1, r['f1_at_0.5_std'])} | {change} | "
                     f"{_pm(r['f1_best_thresholds'], r['f1_best_thresholds_std'])} | "
                     f"{_pm(r['last_loss'], r['last_loss_std'], 1.0, 3)} | "
                     f"{_pm(r['best_epoch_f1_at_0.5'], r['best_epoch_f1_at_0.5_std'])} | "
                     f"{100 * r['all_positive_f1']:.2f} | {PAPER_ROWS.get(r['row'], '')} |")
    return "\n".join(lines)


def write_ablation(rows: Sequence[dict], out_md: str, title: str = "ablation (paper Table 3 rows)") -> None:
    """``out_md`` (table), ``.json`` (all numbers, per run) and ``.png`` (plot, ``title`` above its bars)
    side by side."""
    stem = os.path.splitext(out_md)[0]
    atomic_write_text(out_md, ablation_table(rows) + "\n")
    atomic_write_text(stem + ".json", json.dumps(list(rows), indent=2))
    plot_ablation(rows, stem + ".png", title=title, paper_rows=PAPER_ROWS)
