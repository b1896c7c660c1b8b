"""Split an ABAW dataset into k folds by video and write them as list files.

    mindface-au make-folds --root /data/Aff-Wild2 --folds 4 --out folds/

Pools the given splits (default Train_Set + Validation_Set), puts every video (the two people of
one clip together) in exactly one fold with the rare-AU positives spread evenly, and writes
``<out>/fold<i>/train.txt`` and ``val.txt`` (paths relative to the root), ``folds.json`` and
``folds.png``. Deterministic from ``--seed``. Train fold i with
``--set data.format=list --set data.root=ROOT --set data.train_list=<out>/fold<i>/train.txt --set data.val_list=<out>/fold<i>/val.txt``.
"""
from ..cli import make_parser
from ..constants import AU_NAMES, RARE_AUS
from ..data.abaw import SPLITS, read_abaw
from ..data.folds import make_folds, write_folds


def main(argv=None) -> int:
    p = make_parser(__doc__, config=False, device=False)
    p.add_argument("--root", required=True, help="ABAW root")
    p.add_argument("--folds", type=int, default=4)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--splits", nargs="+", default=list(SPLITS), help="splits pooled before splitting")
    p.add_argument("--rare-aus", nargs="+", default=list(RARE_AUS), choices=AU_NAMES)
    args = p.parse_args(argv)
    index = read_abaw(args.root, tuple(args.splits), progress=True)
    folds = make_folds(index, args.folds, args.seed, args.rare_aus)
    summary = write_folds(index, folds, args.out, args.rare_aus)
    print(f"{len(index)} frames of {index.num_videos} videos -> {args.folds} folds in {args.out}")
    print("fold    videos   frames  " + "  ".join(f"{a:>5}" for a in args.rare_aus))
    for name, f in summary["folds"].items():
        print(f"{name:6} {len(f['videos']):7d} {f['frames']:8d}  " + "  ".join(f"{f['positives'][a]:5d}" for a in args.rare_aus))
    return 0

