"""Train the rows of the paper's ablation (Table 3) and write the table as Markdown (+ a bar plot).

    python tools/ablation.py                         # configs/ablation/*.yaml, demo budget, synthetic data
    python tools/ablation.py --set train.epochs=2    # overrides apply to every row

The pretraining row (Glint360K backbone) is skipped: no pretrained IResNet ships in any package.
"""
import glob
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from mindface_au.cli import run_main  # noqa: E402

# The paper's official-validation mean F1 (%) for the same rows (reported, Aff-Wild2).
PAPER_ROWS = {"1_baseline": 50.82, "2_circle": 51.78, "3_arl": 53.56, "4_lrp": 54.19, "5_ff": 55.25}
ROW_TITLES = {"1_baseline": "baseline (backbone, BCE)", "2_circle": "+ circle loss", "3_arl": "+ ARL",
              "4_lrp": "+ LRP", "5_ff": "+ FF (attention)"}


def main():
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default=os.path.join(ROOT, "configs", "ablation"), help="folder of row recipes")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", default="work_dirs/ablation/table.md")
    parser.add_argument("--rows", help="comma-separated row names to run (default: all)")
    args = parser.parse_args()

    from mindface_au.engine.trainer import config_for_run, train
    from mindface_au.evaluation.fileio import atomic_write_text
    from mindface_au.evaluation.report import _figure
    from mindface_au.evaluation.fileio import atomic_savefig

    paths = sorted(glob.glob(os.path.join(args.configs, "*.yaml")))
    wanted = set(args.rows.split(",")) if args.rows else None
    results = []
    for path in paths:
        name = os.path.splitext(os.path.basename(path))[0]
        if wanted and name not in wanted:
            continue
        print(f"=== {name} ({path})", flush=True)
        cfg = config_for_run(path, args.overrides)
        summary = train(cfg, progress=False)
        results.append((name, summary))
    lines = ["| row | mean F1 (%) ours, synthetic | delta | paper, Aff-Wild2 val (reported) |",
             "|:--|--:|--:|--:|"]
    prev = None
    for name, summary in results:
        f1 = 100 * summary["best_mean_f1"]
        delta = "" if prev is None else f"{f1 - prev:+.2f}"
        paper = PAPER_ROWS.get(name)
        lines.append(f"| {ROW_TITLES.get(name, name)} | {f1:.2f} | {delta} | {'' if paper is None else paper} |")
        prev = f1
    table = "\n".join(lines)
    atomic_write_text(args.out, table + "\n")
    with open(os.path.splitext(args.out)[0] + ".json", "w", encoding="utf-8") as f:
        json.dump({name: s for name, s in results}, f, indent=2)
    fig = _figure(7, 3.5)
    ax = fig.subplots()
    ax.bar([ROW_TITLES.get(n, n) for n, _ in results], [100 * s["best_mean_f1"] for _, s in results])
    ax.set_ylabel("best val mean F1 (%)")
    ax.tick_params(axis="x", labelrotation=20, labelsize=8)
    ax.set_title("ablation (synthetic data, demo budget)")
    fig.tight_layout()
    atomic_savefig(fig, os.path.splitext(args.out)[0] + ".png")
    print(table)
    return 0


if __name__ == "__main__":
    run_main(main)
