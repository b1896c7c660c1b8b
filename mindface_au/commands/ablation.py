"""Train the rows of the paper's ablation (Table 3) with N seeds; write the table (Markdown), JSON and a plot.

    python tools/ablation.py                          # configs/ablation/*.yaml then from_scratch/*.yaml, 1 seed
    python tools/ablation.py --seeds 3 --out work_dirs/ablation
    python tools/ablation.py --configs configs/ablation/reference --seeds 1   # one folder of rows
    python tools/ablation.py --configs configs/ablation/reference configs/ablation/hypotheses \
        --rows reference/arl_au_pretrained,hypotheses/arl_64px --out work_dirs/ablation/extra --title "one-run rows"
    python tools/ablation.py --set train.epochs=2     # overrides apply to every row
    python tools/ablation.py --rows 1_baseline,5_ff
    python tools/ablation.py --seeds 3 --report-only  # the table of what has finished so far

Every run is a work dir ``<out>/<row>/seed<s>/``; finished runs are read, not retrained, and an
interrupted run resumes, so the same command continues a stopped study. Per row: mean ± std over
the seeds of the mean F1 at 0.5 and at per-AU best thresholds (last epoch), and the last-epoch
training loss. The rows from "+ face pretraining" on start from the backbone that the face
pretraining of --pretrain makes (`mindface-au pretrain`, ArcFace on rendered identities); it runs
first, and resumes, when its backbone is missing or its run unfinished.
"""
import glob
import os

from ..cli import config_path


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=[config_path("ablation"), config_path("ablation/from_scratch")],
                        help="folders of row recipes, one block of the table each")
    parser.add_argument("--pretrain", default=config_path("pretrain/ablation.yaml"),
                        help="settings of the face pretraining whose backbone the pretrained rows name")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--rows", help="comma-separated row names to run (default: all)")
    parser.add_argument("--seeds", type=int, default=1, help="runs per row, seeds 0..N-1 (default 1)")
    parser.add_argument("--out", default="work_dirs/ablation", help="folder of the runs and of table.md/.json/.png")
    parser.add_argument("--title", default="ablation (paper Table 3 rows)", help="the plot's title")
    parser.add_argument("--report-only", action="store_true", help="train nothing; report the finished runs")
    parser.add_argument("--progress", action="store_true", help="progress bars of every run")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be >= 1, got {args.seeds}")

    from ..engine.ablation import ablation_table, row_names, run_ablation, write_ablation
    from ..engine.pretrain import load_pretrain_settings

    paths = [p for folder in args.configs for p in sorted(glob.glob(os.path.join(folder, "*.yaml")))]
    names = row_names(paths)  # named within all the folders' rows, whichever of them run
    if args.rows:
        wanted = args.rows.split(",")
        by_name = dict(zip(names, paths))
        missing = [w for w in wanted if w not in by_name]
        if missing:
            raise FileNotFoundError(f"no row recipe {missing} in {', '.join(args.configs)}")
        paths, names = [by_name[w] for w in wanted], wanted
    if not paths:
        raise FileNotFoundError(f"no row recipes in {', '.join(args.configs)}")
    rows = run_ablation(paths, args.overrides, seeds=args.seeds, out_dir=args.out, progress=args.progress,
                        train_missing=not args.report_only, pretrain_settings=load_pretrain_settings(args.pretrain),
                        names=names)
    out_md = os.path.join(args.out, "table.md")
    write_ablation(rows, out_md, title=args.title)
    print(ablation_table(rows))
    print(f"-> {out_md} (+ .json, .png)")
    return 0
