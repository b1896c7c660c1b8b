"""Train the rows of the paper's ablation (Table 3) and write the table as Markdown (+ JSON and a bar plot).

    python tools/ablation.py                          # configs/ablation/*.yaml: demo budget, synthetic data
    python tools/ablation.py --set train.epochs=2     # overrides apply to every row
    python tools/ablation.py --rows 1_baseline,5_ff

The pretraining row (Glint360K backbone) is skipped: no pretrained IResNet ships in any package.
"""
import glob
import os


from ..cli import config_path


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default=config_path("ablation"), help="folder of row recipes")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--rows", help="comma-separated row names to run (default: all)")
    parser.add_argument("--out", default="work_dirs/ablation/table.md")
    args = parser.parse_args(argv)

    from ..engine.ablation import ablation_table, run_ablation, write_ablation

    paths = sorted(glob.glob(os.path.join(args.configs, "*.yaml")))
    if args.rows:
        wanted = set(args.rows.split(","))
        paths = [p for p in paths if os.path.splitext(os.path.basename(p))[0] in wanted]
    if not paths:
        raise FileNotFoundError(f"no row recipes in {args.configs}" + (f" named {args.rows}" if args.rows else ""))
    results = run_ablation(paths, args.overrides)
    write_ablation(results, args.out)
    print(ablation_table(results))
    print(f"-> {args.out}")
    return 0

