"""The paper's ablation (Table 3) as a sequence of training runs, one recipe per row."""
from __future__ import annotations

import json
import os
from typing import List, Sequence, Tuple

from ..fileio import atomic_savefig, atomic_write_text
from .trainer import config_for_run, train

# The paper's official-validation mean F1 (%) of the same rows (reported, Aff-Wild2, IResNet100).
PAPER_ROWS = {"1_baseline": 50.82, "2_circle": 51.78, "3_arl": 53.56, "4_lrp": 54.19, "5_ff": 55.25}
ROW_TITLES = {"1_baseline": "baseline (backbone, BCE)", "2_circle": "+ circle loss", "3_arl": "+ ARL",
              "4_lrp": "+ LRP", "5_ff": "+ FF (attention)"}


def run_ablation(config_paths: Sequence[str], overrides: Sequence[str] = (), progress: bool = False) -> List[Tuple]:
    """Train every recipe; returns [(row name, summary dict)] in order."""
    results = []
    for path in config_paths:
        name = os.path.splitext(os.path.basename(path))[0]
        print(f"=== {name} ({path})", flush=True)
        results.append((name, train(config_for_run(path, overrides), progress=progress)))
    return results


def ablation_table(results: Sequence[Tuple]) -> str:
    """Markdown: each row's best mean F1, its change from the row above, and the paper's (reported) value."""
    lines = ["| row | mean F1 (%), ours, synthetic | change | all-positive F1 (%) | paper, Aff-Wild2 val (reported) |",
             "|:--|--:|--:|--:|--:|"]
    prev = None
    for name, summary in results:
        f1 = 100 * summary["best_mean_f1"]
        change = "" if prev is None else f"{f1 - prev:+.2f}"
        paper = PAPER_ROWS.get(name, "")
        lines.append(f"| {ROW_TITLES.get(name, name)} | {f1:.2f} | {change} | "
                     f"{100 * summary['all_positive_mean_f1']:.2f} | {paper} |")
        prev = f1
    return "\n".join(lines)


def write_ablation(results: Sequence[Tuple], out_md: str) -> None:
    """``out_md`` (table), ``.json`` (summaries) and ``.png`` (bars) side by side."""
    from matplotlib.figure import Figure

    stem = os.path.splitext(out_md)[0]
    atomic_write_text(out_md, ablation_table(results) + "\n")
    atomic_write_text(stem + ".json", json.dumps({name: s for name, s in results}, indent=2))
    fig = Figure(figsize=(7, 3.5), dpi=100, layout="constrained")
    ax = fig.subplots()
    names = [ROW_TITLES.get(n, n) for n, _ in results]
    ax.bar(names, [100 * s["best_mean_f1"] for _, s in results], color="tab:blue", label="ours (synthetic)")
    paper = [PAPER_ROWS.get(n) for n, _ in results]
    if all(p is not None for p in paper):
        ax.plot(names, paper, "o-", color="tab:orange", label="paper, Aff-Wild2 (reported)")
    ax.set_ylabel("best validation mean F1 (%)")
    ax.tick_params(axis="x", labelrotation=15, labelsize=8)
    ax.set_title("ablation (paper Table 3 rows)")
    ax.legend(fontsize=8)
    atomic_savefig(fig, stem + ".png")
