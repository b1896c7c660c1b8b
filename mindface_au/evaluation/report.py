"""Human-facing results: the per-AU F1 table and plots (bars, training curves, sweep, AU timeline, AU rates).

Plots use matplotlib's object API (``matplotlib.figure.Figure``, no pyplot state, no display
needed) and are written atomically; the file type follows the extension (.png, .pdf, .svg).
"""
from __future__ import annotations

from typing import Iterable, List, Mapping, Optional, Sequence

import numpy as np

from ..constants import AU_NAMES
from ..fileio import atomic_savefig


def _au_names(n: int) -> List[str]:
    return list(AU_NAMES) if n == len(AU_NAMES) else [f"AU_{j}" for j in range(n)]


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4g}" if abs(float(v)) < 1e-3 and v != 0 else f"{float(v):.3f}"
    return str(v)


def format_f1_table(per_au_f1, mean: Optional[float] = None,
                    extra_columns: Optional[Mapping[str, Sequence]] = None, percent: bool = True) -> str:
    """A Markdown table: one row per AU and a final ``mean`` row.

    Args:
        per_au_f1: (C,) F1 per AU (fractions in [0, 1]).
        mean: the mean-row F1 (default: the mean of ``per_au_f1``).
        extra_columns: {column title: C values}, or C + 1 values whose last is the mean row's
            (e.g. ``{"threshold": thr, "F1 @best": list(best) + [best.mean()]}``).
        percent: print F1 x100 with 2 decimals (as the paper) instead of fractions.

    Returns:
        The table as a string (lines joined by newlines, no trailing newline).
    """
    f1 = np.asarray(per_au_f1, dtype=np.float64).reshape(-1)
    c = f1.size
    mean = float(f1.mean()) if mean is None else float(mean)
    extras = dict(extra_columns or {})
    cols = {}
    for title, values in extras.items():
        vals = list(np.asarray(values, dtype=object).reshape(-1))
        if len(vals) not in (c, c + 1):
            raise ValueError(f"extra column {title!r} has {len(vals)} values; expected {c} or {c + 1}")
        cols[title] = vals + [None] * (c + 1 - len(vals))

    def f1_cell(v: float) -> str:
        return f"{100 * v:.2f}" if percent else f"{v:.4f}"

    header = ["AU", "F1 (%)" if percent else "F1"] + list(cols)
    body = [[name, f1_cell(v)] + [_fmt(cols[t][j]) for t in cols] for j, (name, v) in enumerate(zip(_au_names(c), f1))]
    body.append(["mean", f1_cell(mean)] + [_fmt(cols[t][c]) for t in cols])
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]

    def line(cells):
        return "| " + " | ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in
                                 enumerate(zip(cells, widths))) + " |"

    sep = "|" + "|".join("-" * (w + 1) + ":" if i else ":" + "-" * (w + 1) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), sep] + [line(r) for r in body])


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def plot_f1_bars(per_au_f1, path: str, title: str = "F1 per AU", reference=None,
                 reference_label: str = "reference") -> str:
    """Bar chart of per-AU F1 (x100) with the mean as a dashed line; optional ``reference`` (C,)
    (e.g. the all-positive baseline or the paper's numbers) as dots. Returns ``path``."""
    f1 = 100 * np.asarray(per_au_f1, dtype=np.float64).reshape(-1)
    names = _au_names(f1.size)
    fig = _figure(8, 3.6)
    ax = fig.subplots()
    x = np.arange(f1.size)
    bars = ax.bar(x, f1, color="tab:blue", label="F1")
    ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.axhline(f1.mean(), ls="--", color="tab:red", label=f"mean {f1.mean():.2f}")
    if reference is not None:
        ref = 100 * np.asarray(reference, dtype=np.float64).reshape(-1)
        if ref.size != f1.size:
            raise ValueError(f"reference has {ref.size} values, expected {f1.size}")
        ax.plot(x, ref, "o", color="tab:orange", label=f"{reference_label} (mean {ref.mean():.2f})")
    ax.set_xticks(x, names)
    ax.set_ylabel("F1 (%)")
    ax.set_ylim(0, 105)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper left")
    return atomic_savefig(fig, path)


def _step_axis(records: List[dict]) -> np.ndarray:
    """x values of step records: 'global_step' if given, else 'step' if it never decreases, else the record index."""
    if records and all("global_step" in r for r in records):
        return np.array([r["global_step"] for r in records], dtype=np.float64)
    steps = [r.get("step") for r in records]
    if steps and all(s is not None for s in steps) and np.all(np.diff(np.asarray(steps, dtype=np.float64)) >= 0):
        return np.asarray(steps, dtype=np.float64)
    return np.arange(len(records), dtype=np.float64)


def plot_curves(log_records: Iterable[dict], path: str, title: str = "training") -> str:
    """Loss, learning rate and F1 curves from ``log.jsonl`` records; returns ``path``.

    Records with ``type == 'step'`` give loss and lr against the step (``global_step`` if present,
    else ``step`` when it never decreases, else the record order); records with
    ``type == 'epoch'`` give every F1 key they hold (``mean_f1``, ``best_mean_f1``, ...) and an
    epoch ``loss`` if present, against ``epoch``. Missing keys are skipped, so partial logs plot.
    """
    records = [r for r in log_records if isinstance(r, dict)]
    steps = [r for r in records if r.get("type") == "step"]
    epochs = [r for r in records if r.get("type") == "epoch"]
    fig = _figure(12, 3.6)
    ax_loss, ax_lr, ax_f1 = fig.subplots(1, 3)

    x = _step_axis(steps)
    for ax, key, label in ((ax_loss, "loss", "loss"), (ax_lr, "lr", "learning rate")):
        pts = [(xi, r[key]) for xi, r in zip(x, steps) if r.get(key) is not None]
        if pts:
            ax.plot(*zip(*pts), lw=1, label=f"{key} (step)")
        ax.set_xlabel("step")
        ax.set_title(label)
    ep_loss = [(r["epoch"], r["loss"]) for r in epochs if r.get("loss") is not None and "epoch" in r]
    if ep_loss and not steps:
        ax_loss.plot(*zip(*ep_loss), "o-", label="loss (epoch)")
        ax_loss.set_xlabel("epoch")
    if any(r.get("lr") is not None for r in steps):
        ax_lr.set_yscale("log")

    f1_keys = sorted({k for r in epochs for k, v in r.items() if "f1" in k and isinstance(v, (int, float))})
    for key in f1_keys:
        pts = [(r["epoch"], 100 * r[key]) for r in epochs if isinstance(r.get(key), (int, float)) and "epoch" in r]
        if pts:
            ax_f1.plot(*zip(*pts), "o-", label=key)
    ax_f1.set_xlabel("epoch")
    ax_f1.set_ylabel("F1 (%)")
    ax_f1.set_title("validation F1")
    for ax in (ax_loss, ax_lr, ax_f1):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    return atomic_savefig(fig, path)


def plot_sweep(rows: Sequence[dict], path: str, title: str = "temporal smoothing") -> str:
    """Mean F1 (x100) against window k for each method of :func:`~.smoothing.sweep`; returns ``path``."""
    fig = _figure(6.5, 4)
    ax = fig.subplots()
    base = [r for r in rows if r["method"] == "none"]
    if base:
        ax.axhline(100 * base[0]["mean_f1"], ls="--", color="grey", label="no smoothing")
    for method, kkey in (("prob", "prob_k"), ("label", "label_k"), ("prob+label", "label_k")):
        pts = sorted((r[kkey], 100 * r["mean_f1"]) for r in rows if r["method"] == method)
        if pts:
            label = method
            if method == "prob+label":
                label = f"prob (k={[r for r in rows if r['method'] == method][0]['prob_k']}) + label"
            ax.plot(*zip(*pts), "o-", label=label)
    ax.set_xlabel("window half-width k (frames t-k ... t+k)")
    ax.set_ylabel("mean F1 (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return atomic_savefig(fig, path)


def plot_positive_rates(rates: Mapping[str, Sequence[float]], path: str, title: str = "AU positive rate") -> str:
    """Grouped bars of per-AU positive rates (x100), one group member per entry of ``rates``
    ({label, e.g. a split: (C,) rates in [0, 1]}); returns ``path``."""
    groups = {label: 100 * np.asarray(v, dtype=np.float64).reshape(-1) for label, v in rates.items()}
    if not groups:
        raise ValueError("no positive rates to plot")
    sizes = {v.size for v in groups.values()}
    if len(sizes) != 1:
        raise ValueError(f"every entry needs the same number of AUs, got sizes {sorted(sizes)}")
    n = sizes.pop()
    fig = _figure(10, 3.5)
    ax = fig.subplots()
    x = np.arange(n)
    width = 0.8 / len(groups)
    for i, (label, values) in enumerate(groups.items()):
        ax.bar(x + (i + 0.5) * width - 0.4, values, width, label=label)
    ax.set_xticks(x, _au_names(n))
    ax.set_ylabel("positive rate (%)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return atomic_savefig(fig, path)


def plot_au_timeline(probs, path: str, fps: Optional[float] = None, title: str = "AU probabilities",
                     thresholds=None) -> str:
    """Heat map of one video's per-frame AU probabilities, AUs as rows, time as columns.

    Args:
        probs: (T, C) probabilities of consecutive frames.
        path: output image.
        fps: frames per second; the x axis is in seconds when given, frames otherwise.
        title: figure title.
        thresholds: optional scalar or (C,): frames at or above it are outlined below the map as
            a 0/1 strip per AU.

    Returns:
        ``path``.
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] == 0:
        raise ValueError(f"probs must be (T, n_aus) with T >= 1, got shape {p.shape}")
    t, c = p.shape
    names = _au_names(c)
    extent_x = t / fps if fps else t
    rows = 2 if thresholds is not None else 1
    fig = _figure(10, 1.2 + 0.28 * c * rows)
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    im = axes[0].imshow(p.T, aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest",
                        extent=(0, extent_x, c - 0.5, -0.5))
    axes[0].set_yticks(np.arange(c), names, fontsize=7)
    axes[0].set_title(title)
    fig.colorbar(im, ax=list(axes), label="probability", fraction=0.03)
    if thresholds is not None:
        from .metrics import binarize

        b = binarize(p, thresholds)
        axes[1].imshow(b.T, aspect="auto", cmap="Greys", vmin=0, vmax=1, interpolation="nearest",
                       extent=(0, extent_x, c - 0.5, -0.5))
        axes[1].set_yticks(np.arange(c), names, fontsize=7)
        axes[1].set_title("predicted: black = 1 (prob >= threshold)", fontsize=9)
    axes[-1].set_xlabel("time (s)" if fps else "frame")
    return atomic_savefig(fig, path)


def plot_folds(summary: dict, path: str) -> str:
    """k-fold split check: bars of each fold's share of the frames and of every AU's positives.

    ``summary``: :func:`mindface_au.data.folds.write_folds`'s dict (``folds`` -> name ->
    ``frames``, ``positives`` {AU: count}, ``videos``; ``rare_aus``). A dashed line marks 1/k.
    """
    folds = summary["folds"]
    names = list(folds)
    cats = ["frames"] + list(AU_NAMES)
    values = np.array([[folds[n]["frames"]] + [folds[n]["positives"][a] for a in AU_NAMES] for n in names], float)
    share = values / np.maximum(values.sum(0), 1)
    fig = _figure(11, 4)
    ax = fig.subplots()
    width = 0.8 / len(names)
    x = np.arange(len(cats))
    for i, n in enumerate(names):
        ax.bar(x + i * width - 0.4 + width / 2, share[i], width, label=f"{n} ({len(folds[n]['videos'])} videos)")
    ax.axhline(1 / len(names), color="k", lw=0.8, ls="--")
    ax.set_xticks(x)
    ax.set_xticklabels([c + ("*" if c in summary["rare_aus"] else "") for c in cats])
    ax.set_ylabel("share of frames / positives")
    ax.set_title("k-fold split by video (* rare AU)")
    ax.legend(fontsize=8)
    return atomic_savefig(fig, path)


def plot_image_grid(grid, path: str, column_labels: Sequence[str], cell: int, scale: int = 2) -> str:
    """An (H, W, 3) uint8 image grid of ``cell``-pixel columns, with a label over each column, as a PNG."""
    grid = np.asarray(grid)
    fig = _figure(grid.shape[1] * scale / 100, grid.shape[0] * scale / 100 + 0.4)
    ax = fig.subplots()
    ax.imshow(grid, interpolation="nearest")
    ax.set_xticks([cell * (k + 0.5) for k in range(len(column_labels))])
    ax.set_xticklabels(list(column_labels))
    ax.xaxis.tick_top()
    ax.set_yticks([])
    return atomic_savefig(fig, path)
