"""The field's 3-fold cross-validation: train each fold of a protocol, score it on its test part, tabulate.

:func:`run_cv` trains folds 1, 2, 3 of a recipe whose ``data.format`` is ``bp4d``, ``disfa`` or
``megraphau_list`` one after the other, each a normal training run in ``<out>/fold<k>/`` with
``data.fold=k`` (its validation data is the fold's test part). A fold is:

* finished (``last.ckpt``'s state has all ``train.epochs``): not trained again; its score is read
  from ``fold<k>/cv_fold.json`` when that is newer than ``best.ckpt``, else computed again;
* started (a ``config.yaml`` is there): resumed from its saved config, as ``train --resume`` does;
* absent: trained from the recipe.

The score of a fold is ``best.ckpt`` over the fold's test part: per-AU occurrence F1 at
``eval.threshold`` (the field's 0.5), and per-AU ICC(3,1) / PCC / MAE when the index has intensity
labels and the predictions an ``intensity`` array (:func:`fold_scores`: the one place a later
intensity output plugs in). :func:`write_cv_results` writes ``cv_f1.md`` (rows = folds + mean,
columns = AUs + mean, as the papers' tables), ``cv_results.json`` and ``cv_f1.png`` to ``<out>``.
"""
from __future__ import annotations

import json
import os
from typing import Optional, Sequence

import numpy as np

from ..config import load_config
from ..evaluation import score
from ..evaluation.intensity import IntensityScore, format_intensity_table, markdown_table, score_labelled_intensity
from ..fileio import atomic_write_text
from ..plots import plot_cv_f1
from .state import BEST, read_state

CV_FORMATS = ("bp4d", "disfa", "megraphau_list")
FOLDS = (1, 2, 3)
FOLD_RESULT = "cv_fold.json"


class FoldInterrupted(RuntimeError):
    """A fold's training ended before its last epoch (a stop request): the cross-validation stops there."""


def fold_dir(out: str, fold: int) -> str:
    return os.path.join(out, f"fold{fold}")


def fold_config(config_path: Optional[str], overrides: Sequence[str], out: str, fold: int) -> dict:
    """The config of fold ``fold``: the recipe (or, once the fold started, its saved ``config.yaml``)
    with ``overrides``, ``data.fold=fold`` and ``train.work_dir=<out>/fold<fold>``."""
    work_dir = fold_dir(out, fold)
    saved = os.path.join(work_dir, "config.yaml")
    source = saved if os.path.isfile(saved) else config_path
    cfg = load_config(source, [*overrides, f"data.fold={fold}", f"train.work_dir={work_dir}"])
    if cfg["data"]["format"] not in CV_FORMATS:
        raise ValueError(f"cv needs data.format {' | '.join(CV_FORMATS)} (a protocol with 3 subject folds), "
                         f"got {cfg['data']['format']!r}")
    return cfg


def fold_finished(cfg: dict) -> bool:
    """Whether the fold's run has all its epochs (``last.ckpt``'s state) and a ``best.ckpt``."""
    work_dir = cfg["train"]["work_dir"]
    state = read_state(work_dir)
    return (state is not None and state["epoch"] >= cfg["train"]["epochs"]
            and os.path.isfile(os.path.join(work_dir, BEST)))


def train_fold(cfg: dict, progress: bool = True, callbacks=()) -> None:
    """Train (or resume) one fold; raises :class:`FoldInterrupted` when the run stopped early."""
    from .trainer import train

    work_dir = cfg["train"]["work_dir"]
    resume = os.path.isfile(os.path.join(work_dir, "config.yaml"))
    train(cfg, resume=resume, progress=progress, callbacks=callbacks)
    if not fold_finished(cfg):
        raise FoldInterrupted(f"fold {cfg['data']['fold']}: training stopped before epoch "
                              f"{cfg['train']['epochs']} ({work_dir}); run cv again to resume it")


def fold_scores(pred: dict, index, threshold: float) -> dict:
    """A fold's scores from predictions over its test part (``pred``: ``probs`` (N, C), ``labels`` (N, C)
    with -1 = not coded, optionally ``intensity`` (N, C) predicted 0-5) and its FrameIndex.

    Returns ``{'au_names', 'frames', 'f1': AUScore.as_dict()}`` plus ``'intensity':
    IntensityScore.as_dict()`` when the index has intensity labels and the predictions have intensity.
    """
    names = list(index.au_names)
    if pred["probs"].shape[1] != len(names):
        raise ValueError(f"the model predicts {pred['probs'].shape[1]} AUs, the test part has {len(names)} "
                         f"({', '.join(names)}): set the recipe's AU set to match")
    result = {"au_names": names, "frames": int(len(pred["probs"])), "threshold": float(threshold),
              "f1": score(pred["probs"], pred["labels"], threshold).as_dict()}
    scored = score_labelled_intensity(pred.get("intensity"), getattr(index, "intensity", None), names)
    if scored is not None:
        result["intensity"] = scored.as_dict()
    return result


def evaluate_fold(cfg: dict, progress: bool = True) -> dict:
    """:func:`fold_scores` of the fold's ``best.ckpt`` over its test part, saved as ``fold<k>/cv_fold.json``."""
    from ..data import read_index
    from .evaluator import predict_checkpoints

    work_dir = cfg["train"]["work_dir"]
    ckpt = os.path.join(work_dir, BEST)
    index = read_index(cfg, "val")
    pred = predict_checkpoints(cfg, [ckpt], index=index, progress=progress)
    result = {"fold": int(cfg["data"]["fold"]), "checkpoint": ckpt,
              **fold_scores(pred, index, cfg["eval"]["threshold"])}
    atomic_write_text(os.path.join(work_dir, FOLD_RESULT), json.dumps(result, indent=2) + "\n")
    return result


def read_fold_result(work_dir: str) -> Optional[dict]:
    """``cv_fold.json`` when it is there and newer than ``best.ckpt``, else None."""
    path, ckpt = os.path.join(work_dir, FOLD_RESULT), os.path.join(work_dir, BEST)
    if not os.path.isfile(path) or os.path.getmtime(path) < os.path.getmtime(ckpt):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def run_fold(config_path: Optional[str], overrides: Sequence[str], out: str, fold: int, progress: bool = True,
             callbacks=()) -> dict:
    """One fold: trained or resumed unless finished, then scored (or its saved score read)."""
    from ..runtime import setup_for_config

    cfg = fold_config(config_path, overrides, out, fold)
    if fold_finished(cfg):
        saved = read_fold_result(cfg["train"]["work_dir"])
        if saved is not None:
            print(f"fold {fold}: finished, its score read from {os.path.join(fold_dir(out, fold), FOLD_RESULT)}")
            return saved
        print(f"fold {fold}: finished; scoring its {BEST}")
    else:
        print(f"fold {fold}: training in {cfg['train']['work_dir']}")
        train_fold(cfg, progress, callbacks)
    setup_for_config(cfg, fallback=True)  # a fold trained on another device is scored on this one
    return evaluate_fold(cfg, progress)


def run_cv(config_path: Optional[str], overrides: Sequence[str], out: str, folds: Sequence[int] = FOLDS,
           progress: bool = True, callbacks=()) -> dict:
    """Train and score ``folds`` one after the other in ``<out>/fold<k>/``, then write the tables.

    ``callbacks``: extra MindSpore callbacks of every fold's training (one that requests a stop
    ends the cross-validation with :class:`FoldInterrupted`; a later call resumes). Returns
    :func:`summarise_folds`'s dict.
    """
    folds = sorted(set(int(k) for k in folds))
    if not folds or any(k not in FOLDS for k in folds):
        raise ValueError(f"folds must be among {FOLDS}, got {folds}")
    os.makedirs(out, exist_ok=True)
    results = [run_fold(config_path, overrides, out, k, progress, callbacks) for k in folds]
    summary = summarise_folds(results)
    write_cv_results(summary, out)
    return summary


def _mean_intensity(folds: Sequence[dict]) -> Optional[dict]:
    """Per-AU ICC / PCC / MAE averaged over the folds that have them, as an ``IntensityScore.as_dict()``
    (frames summed); None when no fold has intensity scores."""
    scored = [IntensityScore.from_dict(r["intensity"]) for r in folds if "intensity" in r]
    if not scored:
        return None

    def mean_of(key):
        v = np.stack([getattr(s, key) for s in scored])
        return np.array([c[np.isfinite(c)].mean() if np.isfinite(c).any() else np.nan for c in v.T])

    return IntensityScore(au_names=scored[0].au_names, icc=mean_of("icc"), pcc=mean_of("pcc"), mae=mean_of("mae"),
                          frames=np.sum([s.frames for s in scored], axis=0)).as_dict()


def summarise_folds(results: Sequence[dict]) -> dict:
    """Per-fold and mean-over-folds per-AU F1: ``{'au_names', 'folds': [{fold, per_au_f1, mean_f1, frames,
    all_positive_mean_f1}], 'mean': {per_au_f1, mean_f1}, 'intensity': per fold and mean, or absent}``."""
    names = results[0]["au_names"]
    if any(r["au_names"] != names for r in results):
        raise ValueError("the folds were scored on different AU sets")
    rows = [{"fold": r["fold"], "per_au_f1": r["f1"]["per_au_f1"], "mean_f1": r["f1"]["mean_f1"],
             "all_positive_mean_f1": r["f1"]["all_positive_mean_f1"], "frames": r["frames"]} for r in results]
    per_au = np.mean([r["per_au_f1"] for r in rows], axis=0)
    summary = {"au_names": list(names), "threshold": results[0]["threshold"], "folds": rows,
               "mean": {"per_au_f1": per_au.tolist(), "mean_f1": float(per_au.mean())}}
    mean_intensity = _mean_intensity(results)
    if mean_intensity is not None:
        summary["intensity"] = {"folds": {r["fold"]: r["intensity"] for r in results if "intensity" in r},
                                "mean": mean_intensity}
    return summary


def _folds_table(au_names: Sequence[str], rows: Sequence[tuple], fmt) -> str:
    """Markdown: one row per ``(label, (C,) values, mean)`` of ``rows``, one column per AU and a mean
    column; ``fmt`` prints a value (None / NaN: ``n/a``)."""
    def cell(v):
        return "n/a" if v is None or not np.isfinite(v) else fmt(v)

    return markdown_table(["fold", *au_names, "mean"],
                          [[label, *(cell(v) for v in values), cell(mean)] for label, values, mean in rows])


def format_cv_table(summary: dict) -> str:
    """Markdown F1 (%) table as the papers print it: one row per fold and a mean row, one column per AU
    and a mean column."""
    rows = [(f"fold {r['fold']}", r["per_au_f1"], r["mean_f1"]) for r in summary["folds"]]
    rows.append(("mean", summary["mean"]["per_au_f1"], summary["mean"]["mean_f1"]))
    return _folds_table(summary["au_names"], rows, lambda v: f"{100 * v:.2f}")


CV_INTENSITY_METRICS = (("icc", "ICC(3,1)"), ("pcc", "Pearson r"), ("mae", "MAE (0-5)"))


def format_cv_intensity_folds(summary: dict) -> Optional[str]:
    """Per-fold intensity tables in the layout of :func:`format_cv_table` (rows = folds + mean over folds,
    columns = AUs + mean), one for each of ICC(3,1), Pearson r and MAE; None without intensity."""
    if "intensity" not in summary:
        return None
    folds = {int(k): IntensityScore.from_dict(v) for k, v in summary["intensity"]["folds"].items()}
    mean = IntensityScore.from_dict(summary["intensity"]["mean"])
    tables = []
    for key, title in CV_INTENSITY_METRICS:
        rows = [(f"fold {k}", getattr(s, key), getattr(s, f"mean_{key}")) for k, s in sorted(folds.items())]
        rows.append(("mean", getattr(mean, key), getattr(mean, f"mean_{key}")))
        tables.append(f"{title} per fold\n\n" + _folds_table(summary["au_names"], rows, lambda v: f"{v:.2f}"))
    return "\n\n".join(tables)


def format_cv_intensity_table(summary: dict) -> Optional[str]:
    """The intensity table (rows = AUs, ICC / PCC / MAE) of the mean over folds, or None without intensity."""
    if "intensity" not in summary:
        return None
    return format_intensity_table(IntensityScore.from_dict(summary["intensity"]["mean"]))


def write_cv_results(summary: dict, out: str) -> dict:
    """``cv_f1.md`` (the F1 table; with intensity the per-fold ICC / PCC / MAE tables and the mean-over-folds
    intensity table), ``cv_results.json`` and ``cv_f1.png`` in ``out``; returns their paths."""
    paths = {"table": os.path.join(out, "cv_f1.md"), "json": os.path.join(out, "cv_results.json"),
             "plot": os.path.join(out, "cv_f1.png")}
    text = (f"Occurrence F1 (%) of each fold's best.ckpt on its test part, threshold {summary['threshold']:g}"
            "\n\n")
    text += format_cv_table(summary) + "\n"
    intensity = format_cv_intensity_table(summary)
    if intensity is not None:
        text += "\n" + format_cv_intensity_folds(summary) + "\n"
        text += "\nIntensity (mean over folds)\n\n" + intensity + "\n"
    atomic_write_text(paths["table"], text)
    atomic_write_text(paths["json"], json.dumps(summary, indent=2) + "\n")
    plot_cv_f1({f"fold {r['fold']}": r["per_au_f1"] for r in summary["folds"]}, summary["au_names"], paths["plot"])
    return paths


__all__ = ["run_cv", "run_fold", "fold_config", "fold_finished", "fold_scores", "summarise_folds", "format_cv_table",
           "format_cv_intensity_folds",
           "write_cv_results", "FoldInterrupted", "CV_FORMATS"]
