"""Every matplotlib figure of the package: F1 bars, training curves, smoothing sweep, AU timeline,
positive rates, fold balance, image grids and the ablation study.

Each function takes plain numbers (numpy arrays, lists, dicts) and an output path and returns the
path. Figures use matplotlib's object API (``matplotlib.figure.Figure``: no pyplot state, the
backend is never switched, no display needed) and are written atomically through
:func:`mindface_au.fileio.atomic_savefig`; the file type follows the extension (.png, .pdf, .svg).
matplotlib is imported inside the functions, so ``import mindface_au`` stays light.
"""
from __future__ import annotations

import contextlib
from typing import Iterable, Iterator, List, Mapping, Optional, Sequence

import numpy as np

from .constants import AU_NAMES
from .fileio import atomic_savefig


def au_labels(n: int, au_names: Optional[Sequence[str]] = None) -> List[str]:
    """Axis labels of ``n`` AUs: ``au_names`` (the model's, n of them) when given; else the Aff-Wild2
    names when ``n`` matches them (figures of files that name no AUs), else ``AU_0 ...``."""
    if au_names is not None:
        if len(au_names) != n:
            raise ValueError(f"{len(au_names)} AU names ({', '.join(au_names)}) for {n} values")
        return list(au_names)
    return list(AU_NAMES) if n == len(AU_NAMES) else [f"AU_{j}" for j in range(n)]


# Margins in inches (left, right, bottom, top) and the gap between panels (a fraction of a panel's
# width) of the two figures a training run redraws at each epoch end: a fixed layout draws them in
# about half the time of the constrained one, which measures every label first.
CURVES_MARGINS = (0.7, 0.2, 0.55, 0.75, 0.25)  # panels under a title
BARS_MARGINS = (0.7, 0.2, 0.45, 0.4, 0.2)


@contextlib.contextmanager
def saved_figure(path: str, width: float, height: float, margins: Optional[Sequence[float]] = None) -> Iterator:
    """Yield a new ``Figure`` of ``width`` x ``height`` inches (100 dpi); once the block ends without an
    error it is written atomically to ``path``. Laid out by matplotlib's constrained layout, or with
    ``margins`` ((left, right, bottom, top) inches, gap between panels) set by hand."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout=None if margins else "constrained")
    yield fig
    if margins:
        left, right, bottom, top, gap = margins
        fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height,
                            top=1 - top / height, wspace=gap)
    atomic_savefig(fig, path)


def _finish(ax, title: Optional[str] = None, xlabel: Optional[str] = None, ylabel: Optional[str] = None,
            legend: Optional[dict] = None, grid: bool = False) -> None:
    """Title, axis labels, a legend (``legend``: its keyword arguments; only when something is
    labelled) and a light grid on ``ax``."""
    if title is not None:
        ax.set_title(title)
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    if legend is not None and ax.get_legend_handles_labels()[0]:
        ax.legend(**legend)
    if grid:
        ax.grid(alpha=0.3)


def _grouped_bars(ax, groups: Mapping[str, Sequence[float]], width: float = 0.8) -> np.ndarray:
    """Side-by-side bars, one member per entry of ``groups`` ({label: (n,) heights}); returns the x
    positions of the n group centres."""
    n = len(next(iter(groups.values())))
    x = np.arange(n)
    bar = width / len(groups)
    for i, (label, values) in enumerate(groups.items()):
        ax.bar(x + (i + 0.5) * bar - width / 2, values, bar, label=label)
    return x


# --------------------------------------------------------------------------- evaluation
def plot_f1_bars(per_au_f1, path: str, title: str = "F1 per AU", reference=None,
                 reference_label: str = "reference", au_names: Optional[Sequence[str]] = None) -> str:
    """Bar chart of per-AU F1 (x100) with the mean as a dashed line.

    Args:
        per_au_f1: (C,) F1 per AU in [0, 1].
        path: output image.
        reference: optional (C,) values drawn as dots (e.g. the all-positive baseline or the paper's).
        au_names: the C AU names (the model's); see :func:`au_labels`.
    """
    f1 = 100 * np.asarray(per_au_f1, dtype=np.float64).reshape(-1)
    ref = None if reference is None else 100 * np.asarray(reference, dtype=np.float64).reshape(-1)
    if ref is not None and ref.size != f1.size:
        raise ValueError(f"reference has {ref.size} values, expected {f1.size}")
    with saved_figure(path, 8, 3.6, BARS_MARGINS) as fig:
        ax = fig.subplots()
        x = np.arange(f1.size)
        ax.bar_label(ax.bar(x, f1, color="tab:blue", label="F1"), fmt="%.1f", fontsize=7)
        ax.axhline(f1.mean(), ls="--", color="tab:red", label=f"mean {f1.mean():.2f}")
        if ref is not None:
            ax.plot(x, ref, "o", color="tab:orange", label=f"{reference_label} (mean {ref.mean():.2f})")
        ax.set_xticks(x, au_labels(f1.size, au_names))
        ax.set_ylim(0, 105)
        _finish(ax, title, ylabel="F1 (%)", legend={"fontsize": 8, "loc": "upper left"})
    return path


def plot_intensity_bars(icc, pcc, path: str, title: str = "intensity per AU",
                        au_names: Optional[Sequence[str]] = None) -> str:
    """Grouped bars of per-AU ICC(3,1) and Pearson r (NaN: undefined, no bar), their means over the AUs
    where defined as dashed lines; returns ``path``.

    Args:
        icc, pcc: (C,) per-AU values in [-1, 1].
        au_names: the C AU names (the model's); see :func:`au_labels`.
    """
    icc, pcc = (np.asarray(v, dtype=np.float64).reshape(-1) for v in (icc, pcc))
    if icc.size != pcc.size:
        raise ValueError(f"icc has {icc.size} values, pcc {pcc.size}")
    with saved_figure(path, max(6.0, 0.7 * icc.size + 2), 3.6) as fig:
        ax = fig.subplots()
        x = _grouped_bars(ax, {"ICC(3,1)": icc, "PCC": pcc})
        for values, name, color in ((icc, "ICC", "tab:blue"), (pcc, "PCC", "tab:orange")):
            if np.isfinite(values).any():
                mean = float(np.nanmean(values))
                ax.axhline(mean, ls="--", color=color, lw=1, label=f"mean {name} {mean:.2f}")
        ax.set_xticks(x, au_labels(icc.size, au_names))
        ax.set_ylim(min(0.0, float(np.nanmin(np.r_[icc, pcc, 0.0])) - 0.05), 1.05)
        ax.axhline(0, color="black", lw=0.5)
        _finish(ax, title, ylabel="ICC(3,1) / Pearson r", legend={"fontsize": 8, "loc": "upper left"})
    return path


def _step_axis(records: List[dict]) -> np.ndarray:
    """x values of step records: 'global_step' if given, else 'step' if it never decreases, else the record index."""
    if records and all("global_step" in r for r in records):
        return np.array([r["global_step"] for r in records], dtype=np.float64)
    steps = [r.get("step") for r in records]
    if steps and all(s is not None for s in steps) and np.all(np.diff(np.asarray(steps, dtype=np.float64)) >= 0):
        return np.asarray(steps, dtype=np.float64)
    return np.arange(len(records), dtype=np.float64)


def _plot_step_values(ax_loss, ax_lr, steps: List[dict], epochs: List[dict]) -> None:
    """Loss and learning rate per step (the epoch loss instead when there are no step records)."""
    x = _step_axis(steps)
    for ax, key, label in ((ax_loss, "loss", "loss"), (ax_lr, "lr", "learning rate")):
        pts = [(xi, r[key]) for xi, r in zip(x, steps) if r.get(key) is not None]
        if pts:
            ax.plot(*zip(*pts), lw=1, label=f"{key} (step)")
        _finish(ax, label, xlabel="step")
    ep_loss = [(r["epoch"], r["loss"]) for r in epochs if r.get("loss") is not None and "epoch" in r]
    if ep_loss and not steps:
        ax_loss.plot(*zip(*ep_loss), "o-", label="loss (epoch)")
        ax_loss.set_xlabel("epoch")
    if any(r.get("lr") is not None for r in steps):
        ax_lr.set_yscale("log")


def _plot_epoch_f1(ax, epochs: List[dict]) -> None:
    """Every F1 key of the epoch records (x100) against the epoch."""
    keys = sorted({k for r in epochs for k, v in r.items() if "f1" in k and isinstance(v, (int, float))})
    for key in keys:
        pts = [(r["epoch"], 100 * r[key]) for r in epochs if isinstance(r.get(key), (int, float)) and "epoch" in r]
        if pts:
            ax.plot(*zip(*pts), "o-", label=key)
    _finish(ax, "validation F1", xlabel="epoch", ylabel="F1 (%)")


def _plot_epoch_intensity(ax, epochs: List[dict]) -> None:
    """Mean ICC(3,1) and mean Pearson r of the epoch records against the epoch."""
    for key, label in (("mean_icc", "mean ICC(3,1)"), ("mean_pcc", "mean PCC")):
        pts = [(r["epoch"], r[key]) for r in epochs if isinstance(r.get(key), (int, float)) and "epoch" in r]
        if pts:
            ax.plot(*zip(*pts), "o-", label=label)
    _finish(ax, "validation intensity", xlabel="epoch", ylabel="ICC / r")


def plot_curves(log_records: Iterable[dict], path: str, title: str = "training") -> str:
    """Loss, learning rate and F1 curves from ``log.jsonl`` records; returns ``path``.

    Records with ``type == 'step'`` give loss and lr against the step (``global_step`` if present,
    else ``step`` when it never decreases, else the record order); records with
    ``type == 'epoch'`` give every F1 key they hold (``mean_f1``, ``best_mean_f1``, ...) and an
    epoch ``loss`` if present, against ``epoch``; when they hold ``mean_icc`` (a model with the
    intensity head) a fourth panel shows mean ICC and PCC. Missing keys are skipped, so partial logs plot.
    """
    records = [r for r in log_records if isinstance(r, dict)]
    steps = [r for r in records if r.get("type") == "step"]
    epochs = [r for r in records if r.get("type") == "epoch"]
    intensity = any("mean_icc" in r for r in epochs)
    with saved_figure(path, 16 if intensity else 12, 3.6, CURVES_MARGINS) as fig:
        axes = fig.subplots(1, 4 if intensity else 3)
        _plot_step_values(axes[0], axes[1], steps, epochs)
        _plot_epoch_f1(axes[2], epochs)
        if intensity:
            _plot_epoch_intensity(axes[3], epochs)
        for ax in axes:
            _finish(ax, legend={"fontsize": 8}, grid=True)
        fig.suptitle(title)
    return path


def plot_sweep(rows: Sequence[dict], path: str, title: str = "temporal smoothing") -> str:
    """Mean F1 (x100) against window k for each method of :func:`mindface_au.evaluation.smoothing.sweep`
    (rows with ``method``, ``prob_k``, ``label_k``, ``mean_f1``); returns ``path``."""
    with saved_figure(path, 6.5, 4) as fig:
        ax = fig.subplots()
        base = [r for r in rows if r["method"] == "none"]
        if base:
            ax.axhline(100 * base[0]["mean_f1"], ls="--", color="grey", label="no smoothing")
        for method, kkey in (("prob", "prob_k"), ("label", "label_k"), ("prob+label", "label_k")):
            members = [r for r in rows if r["method"] == method]
            if members:
                label = f"prob (k={members[0]['prob_k']}) + label" if method == "prob+label" else method
                ax.plot(*zip(*sorted((r[kkey], 100 * r["mean_f1"]) for r in members)), "o-", label=label)
        _finish(ax, title, "window half-width k (frames t-k ... t+k)", "mean F1 (%)", legend={"fontsize": 8},
                grid=True)
    return path


def plot_au_timeline(probs, path: str, fps: Optional[float] = None, title: str = "AU probabilities",
                     decisions=None, au_names: Optional[Sequence[str]] = None, intensity=None) -> str:
    """Heat map of one video's per-frame AU probabilities, AUs as rows, time as columns.

    Args:
        probs: (T, C) probabilities of consecutive frames (NaN: no face, drawn blank).
        path: output image.
        fps: frames per second; the x axis is in seconds when given, frames otherwise.
        title: figure title.
        decisions: optional (T, C) 0/1 decisions (e.g. :func:`mindface_au.evaluation.binarize`),
            drawn below the map as a 0/1 strip per AU.
        au_names: the C AU names (the model's); see :func:`au_labels`.
        intensity: optional (T, C) intensities 0-5 (a model with the intensity head), drawn last
            as a heat map on the 0-5 scale.

    Returns:
        ``path``.
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] == 0:
        raise ValueError(f"probs must be (T, n_aus) with T >= 1, got shape {p.shape}")
    for name, extra in (("decisions", decisions), ("intensity", intensity)):
        if extra is not None and np.shape(extra) != p.shape:
            raise ValueError(f"{name} must have the shape of probs {p.shape}, got {np.shape(extra)}")
    t, c = p.shape
    names = au_labels(c, au_names)
    extent = (0, t / fps if fps else t, c - 0.5, -0.5)
    rows = 1 + (decisions is not None) + (intensity is not None)
    with saved_figure(path, 10, 1.2 + 0.28 * c * rows) as fig:
        axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
        im = axes[0].imshow(p.T, aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest",
                            extent=extent)
        axes[0].set_yticks(np.arange(c), names, fontsize=7)
        axes[0].set_title(title)
        fig.colorbar(im, ax=list(axes[:1 + (decisions is not None)]), label="probability", fraction=0.03)
        if decisions is not None:
            axes[1].imshow(np.asarray(decisions, np.float64).T, aspect="auto", cmap="Greys", vmin=0, vmax=1,
                           interpolation="nearest", extent=extent)
            axes[1].set_yticks(np.arange(c), names, fontsize=7)
            axes[1].set_title("predicted: black = 1 (prob >= threshold)", fontsize=9)
        if intensity is not None:
            im_r = axes[-1].imshow(np.asarray(intensity, np.float64).T, aspect="auto", cmap="magma", vmin=0.0,
                                   vmax=5.0, interpolation="nearest", extent=extent)
            axes[-1].set_yticks(np.arange(c), names, fontsize=7)
            axes[-1].set_title("intensity (0-5)", fontsize=9)
            fig.colorbar(im_r, ax=axes[-1], label="intensity", fraction=0.03)
        axes[-1].set_xlabel("time (s)" if fps else "frame")
    return path


# --------------------------------------------------------------------------- data sets
def plot_positive_rates(rates: Mapping[str, Sequence[float]], path: str, title: str = "AU positive rate",
                        au_names: Optional[Sequence[str]] = None) -> str:
    """Grouped bars of per-AU positive rates (x100), one group member per entry of ``rates``
    ({label, e.g. a split: (C,) rates in [0, 1]}), the C AUs named by ``au_names``; returns ``path``."""
    groups = {label: 100 * np.asarray(v, dtype=np.float64).reshape(-1) for label, v in rates.items()}
    if not groups:
        raise ValueError("no positive rates to plot")
    sizes = {v.size for v in groups.values()}
    if len(sizes) != 1:
        raise ValueError(f"every entry needs the same number of AUs, got sizes {sorted(sizes)}")
    with saved_figure(path, 10, 3.5) as fig:
        ax = fig.subplots()
        x = _grouped_bars(ax, groups)
        ax.set_xticks(x, au_labels(sizes.pop(), au_names))
        _finish(ax, title, ylabel="positive rate (%)", legend={"fontsize": 8})
    return path


def plot_folds(summary: dict, path: str) -> str:
    """k-fold split check: bars of each fold's share of the frames and of every AU's positives.

    ``summary``: :func:`mindface_au.data.folds.write_folds`'s dict (``folds`` -> name ->
    ``frames``, ``positives`` {AU: count}, ``videos``; ``rare_aus``). A dashed line marks 1/k.
    """
    folds = summary["folds"]
    names = list(folds)
    aus = list(next(iter(folds.values()))["positives"]) if folds else []
    values = np.array([[folds[n]["frames"]] + [folds[n]["positives"][a] for a in aus] for n in names], float)
    share = values / np.maximum(values.sum(0), 1)
    with saved_figure(path, 11, 4) as fig:
        ax = fig.subplots()
        x = _grouped_bars(ax, {f"{n} ({len(folds[n]['videos'])} videos)": share[i] for i, n in enumerate(names)})
        ax.axhline(1 / len(names), color="k", lw=0.8, ls="--")
        ax.set_xticks(x)
        ax.set_xticklabels(["frames"] + [a + ("*" if a in summary["rare_aus"] else "") for a in aus])
        _finish(ax, "k-fold split by video (* rare AU)", ylabel="share of frames / positives",
                legend={"fontsize": 8})
    return path


def plot_image_grid(grid, path: str, column_labels: Sequence[str], cell: int, scale: int = 2) -> str:
    """An (H, W, 3) uint8 image grid of ``cell``-pixel columns, with a label over each column."""
    grid = np.asarray(grid)
    with saved_figure(path, grid.shape[1] * scale / 100, grid.shape[0] * scale / 100 + 0.4) as fig:
        ax = fig.subplots()
        ax.imshow(grid, interpolation="nearest")
        ax.set_xticks([cell * (k + 0.5) for k in range(len(column_labels))])
        ax.set_xticklabels(list(column_labels))
        ax.xaxis.tick_top()
        ax.set_yticks([])
    return path


# --------------------------------------------------------------------------- ablation
def _ablation_bars(ax, rows: Sequence[dict], title: str, paper_rows: Mapping[str, float]) -> None:
    """Mean ± std of F1 at 0.5 and at the best thresholds per row, the paper's values as dots."""
    x = np.arange(len(rows))
    for offset, key, label, colour in ((-0.2, "f1_at_0.5", "F1 @0.5 (last epoch)", "tab:blue"),
                                       (0.2, "f1_best_thresholds", "F1 @best thresholds", "tab:green")):
        means = [100 * r[key] for r in rows]
        stds = [0.0 if r[key + "_std"] is None else 100 * r[key + "_std"] for r in rows]  # None: one run
        bars = ax.bar(x + offset, means, 0.4, yerr=stds, capsize=3, color=colour, label=label)
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    paper = [paper_rows.get(r["row"], np.nan) for r in rows]
    if np.isfinite(paper).any():  # the rows the paper has (a from-scratch block has none)
        ax.plot(x, paper, "o", color="tab:orange", label="paper, Aff-Wild2 (reported)")
    if rows and np.isfinite(rows[0]["all_positive_f1"]):
        ax.axhline(100 * rows[0]["all_positive_f1"], ls="--", color="grey", label="all-positive")
    ax.set_xticks(x, [f"{r['title']} (n={len(r['seeds'])})" for r in rows], fontsize=7, rotation=25, ha="right",
                  rotation_mode="anchor")
    ax.set_ylim(0, 105)
    _finish(ax, title, ylabel="validation mean F1 (%)", legend={"fontsize": 7, "loc": "lower right"})


def _ablation_per_epoch(ax, rows: Sequence[dict], key: str, scale: float, title: str, ylabel: str) -> None:
    """One run's ``key`` list (``loss_per_epoch``, ``f1_per_epoch``) per epoch, every run, one colour per row."""
    for i, r in enumerate(rows):
        for j, run in enumerate(r["runs"]):
            values = [None if v is None else scale * v for v in run[key]]
            ax.plot(np.arange(1, len(values) + 1), values, color=f"C{i % 10}", alpha=0.8,
                    ls="-" if "/" not in r["row"] else "--", label=r["title"] if j == 0 else None)
    _finish(ax, title, "epoch", ylabel, legend={"fontsize": 6})


def plot_ablation(rows: Sequence[dict], path: str, title: str = "ablation (paper Table 3 rows)",
                  paper_rows: Optional[Mapping[str, float]] = None) -> str:
    """Left: mean ± std of F1 at 0.5 and at the best thresholds per row (``paper_rows``: {row: F1 %},
    a dot on each row the paper has); middle and right: the training loss and the F1 at 0.5 per epoch of
    every run (rows of a sub-folder block dashed), to see which rows still learn.
    ``rows``: :func:`mindface_au.engine.ablation.row_summary`'s dicts."""
    with saved_figure(path, 16, 4.2) as fig:
        ax, ax_loss, ax_f1 = fig.subplots(1, 3, width_ratios=[3, 2, 2])
        _ablation_bars(ax, rows, title, paper_rows or {})
        _ablation_per_epoch(ax_loss, rows, "loss_per_epoch", 1.0, "training loss per run", "training loss (epoch mean)")
        ax_loss.set_yscale("log")
        _ablation_per_epoch(ax_f1, rows, "f1_per_epoch", 100.0, "validation F1 @0.5 per run", "mean F1 (%)")
    return path


def plot_pretrain_curves(records: Sequence[dict], path: str) -> str:
    """Face-recognition pretraining per epoch: training loss (left) and held-out verification accuracy
    (right, x100, mean and std over the folds, chance at 50) from the epoch records of its ``log.jsonl``."""
    epochs = [r["epoch"] for r in records]
    with saved_figure(path, 9, 3.5) as fig:
        ax_loss, ax_acc = fig.subplots(1, 2)
        ax_loss.plot(epochs, [r["loss"] for r in records], marker="o")
        _finish(ax_loss, "training loss", "epoch", "ArcFace loss", grid=True)
        ax_acc.errorbar(epochs, [100 * r["accuracy"] for r in records], yerr=[100 * r["accuracy_std"] for r in records],
                        marker="o", capsize=3, label="held-out pairs (10 folds)")
        ax_acc.axhline(50, color="grey", ls="--", lw=1, label="chance")
        ax_acc.set_ylim(40, 100)
        _finish(ax_acc, "face verification", "epoch", "verification accuracy (%)", legend={"loc": "lower right"},
                grid=True)
    return path


def plot_probe(rows: Sequence[dict], au_names: Sequence[str], path: str) -> str:
    """Linear probe (:mod:`mindface_au.engine.probe`): held-out ROC AUC per AU, one subplot per feature
    set, one bar per backbone init (label: its number and file name), chance (0.5) dashed; NaN AUs are
    left empty."""
    import os

    if not rows:
        raise ValueError("no probe rows to plot")
    sets = list(rows[0]["per_au_auc"])
    with saved_figure(path, max(7.0, 0.7 * len(au_names) + 5), 3.4 * len(sets)) as fig:
        for ax, name in zip(fig.subplots(len(sets), 1, squeeze=False)[:, 0], sets):
            groups = {}
            for k, r in enumerate(rows, start=1):
                mean = "n/a" if r["mean_auc"][name] is None else f"{r['mean_auc'][name]:.3f}"
                label = f"{k}: {os.path.basename(r['init'])} (mean {mean})"
                groups[label] = np.array([np.nan if v is None else v for v in r["per_au_auc"][name]], np.float64)
            x = _grouped_bars(ax, groups)
            ax.axhline(0.5, color="grey", ls="--", lw=1, label="chance")
            ax.set_xticks(x, au_labels(len(x), au_names))
            ax.set_ylim(0, 1)
            _finish(ax, f"linear probe on the frozen backbone: {name}", None, "held-out ROC AUC",
                    legend={"fontsize": "small", "loc": "upper left", "bbox_to_anchor": (1.0, 1.0)}, grid=True)
    return path


def plot_cv_f1(per_fold_f1: Mapping[str, Sequence[float]], au_names: Sequence[str], path: str,
               title: str = "3-fold cross-validation: F1 per AU") -> str:
    """Cross-validation F1 (x100): grouped bars per AU, one member per fold ({fold label: (C,) F1 in
    [0, 1]}), the mean over folds as black dots and its mean over AUs as a dashed line."""
    groups = {label: 100 * np.asarray(v, dtype=np.float64).reshape(-1) for label, v in per_fold_f1.items()}
    if not groups or {v.size for v in groups.values()} != {len(au_names)}:
        raise ValueError(f"every fold needs {len(au_names)} F1 values (one per AU)")
    mean = np.mean(list(groups.values()), axis=0)
    with saved_figure(path, max(6.0, 0.8 * len(au_names) + 2), 3.8) as fig:
        ax = fig.subplots()
        x = _grouped_bars(ax, groups)
        ax.plot(x, mean, "o", color="black", label="mean over folds")
        ax.axhline(mean.mean(), ls="--", color="tab:red", label=f"mean {mean.mean():.2f}")
        ax.set_xticks(x, list(au_names))
        ax.set_ylim(0, 105)
        _finish(ax, title, ylabel="F1 (%)", legend={"fontsize": 8, "loc": "upper left"})
    return path



def plot_memory(series: Mapping[str, Sequence[Sequence[float]]], path: str,
                title: str = "resident memory against video length") -> str:
    """Total resident memory (MB) against frames processed, one line per entry of ``series``
    ({label: [(frames, mb), ...]}), e.g. the face detector in-process against in a replaced worker."""
    with saved_figure(path, 6.5, 3.8) as fig:
        ax = fig.subplots()
        for label, points in series.items():
            frames, mb = zip(*points)
            ax.plot(frames, mb, marker="o", label=label)
        ax.set_ylim(bottom=0)
        _finish(ax, title, "frames processed", "RSS of inference + detector (MB)", legend={"fontsize": 8},
                grid=True)
    return path

__all__ = ["au_labels", "plot_ablation", "plot_au_timeline", "plot_curves", "plot_cv_f1", "plot_f1_bars",
           "plot_folds", "plot_image_grid", "plot_intensity_bars", "plot_memory", "plot_positive_rates",
           "plot_pretrain_curves", "plot_probe", "plot_sweep", "saved_figure"]
