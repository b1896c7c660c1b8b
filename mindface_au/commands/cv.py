"""3-fold subject-exclusive cross-validation of a BP4D / DISFA / ME-GraphAU-list recipe, as the papers report it.

    mindface-au cv --config my_disfa.yaml --set data.root=/data/DISFA --out work_dirs/disfa_cv
    mindface-au cv --config my_bp4d.yaml --out work_dirs/bp4d_cv --folds 1,2   # some folds only
    mindface-au cv --config my_disfa.yaml --out work_dirs/disfa_cv            # again: resumes

Trains fold 1, 2, 3 one after the other (``--set data.fold=k``), each a normal resumable run in
<out>/fold<k>/ (a finished fold is read, not retrained; an interrupted one resumes from its saved
config.yaml), scores each fold's best.ckpt on its test part, and writes to <out>: cv_f1.md (per-AU
F1, rows = folds + mean, columns = AUs + mean; with the intensity head (model.intensity) ICC(3,1) /
PCC / MAE tables in the same layout and per AU averaged over the folds),
cv_results.json and cv_f1.png. The recipe's data.format must be bp4d, disfa or megraphau_list.
"""
import sys

from ..cli import make_parser


def parse_folds(text: str) -> list:
    try:
        folds = [int(k) for k in text.split(",") if k.strip()]
    except ValueError:
        folds = []
    if not folds or any(k not in (1, 2, 3) for k in folds):
        raise ValueError(f"--folds: a comma-separated subset of 1,2,3, got {text!r}")
    return folds


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("--out", required=True, help="folder of the fold runs (fold1/ fold2/ fold3/) and the tables")
    parser.add_argument("--folds", default="1,2,3", help="the folds to run (default: 1,2,3)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (logs only)")
    args = parser.parse_args(argv)

    from ..engine.cv import FoldInterrupted, format_cv_intensity_folds, format_cv_intensity_table, format_cv_table, run_cv

    try:
        summary = run_cv(args.config, args.overrides, args.out, parse_folds(args.folds),
                         progress=not args.no_progress)
    except FoldInterrupted as exc:
        print(f"stopped: {exc}", file=sys.stderr)
        return 1
    print(f"\nF1 (%) per fold on its test part, threshold {summary['threshold']:g}")
    print(format_cv_table(summary))
    intensity = format_cv_intensity_table(summary)
    if intensity is not None:
        print("\n" + format_cv_intensity_folds(summary))
        print("\nintensity, mean over folds")
        print(intensity)
    print(f"results -> {args.out}/cv_f1.md, cv_results.json, cv_f1.png")
    return 0
