"""Write a small synthetic dataset in the exact layout of a release (rendered 112x112 faces).

    mindface-au make-synthetic --out data/synthetic_affwild2 --videos 24 --frames 300 --seed 0
    mindface-au make-synthetic --layout bp4d --out data/synthetic_bp4d --frames 30
    mindface-au make-synthetic --layout disfa --out data/synthetic_disfa --frames 40 [--crops]

``affwild2`` (default): the ABAW layout; each of the 12 AUs changes its own facial region (see
mindface_au/data/synthetic.py); labels have real-data co-occurrence, rare AUs and multi-frame
episodes; a few rows are -1 and a few images missing. ``bp4d``: ``<subject>/<task>/<frame>.jpg``
and ``AUCoding/AU_OCC`` CSVs (9 = not coded) with FERA 2015 intensity files; ``disfa``:
left-camera videos and ``ActionUnit_Labels`` (0-5), SN010 one frame short; ``--crops`` also
writes the crops ``prepare-disfa`` would (see mindface_au/data/synthetic_releases.py).
Subjects are taken from every fold's test part. Deterministic from the seed. ``--montage PNG``
also saves one face per AU of the layout for a look.
"""
import os

from ..cli import make_parser
from ..constants import AU_NAMES, AU_SETS

LAYOUT_AUS = {"affwild2": AU_NAMES, "bp4d": AU_SETS["bp4d"], "disfa": AU_SETS["disfa12"]}


def build_parser():
    p = make_parser(__doc__, config=False, device=False)
    p.add_argument("--out", required=True, help="output folder (absent or empty)")
    p.add_argument("--layout", default="affwild2", choices=sorted(LAYOUT_AUS), help="which release's layout")
    p.add_argument("--videos", type=int, default=24, help="affwild2: number of videos")
    p.add_argument("--subjects", type=int, default=6, help="bp4d / disfa: number of subjects (at most 6)")
    p.add_argument("--frames", type=int, default=None,
                   help="frames per video (default: affwild2 300, bp4d 30 per sequence, disfa 40 per subject)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-fraction", type=float, default=0.25, help="affwild2: share of the videos in Validation_Set")
    p.add_argument("--workers", type=int, default=None, help="affwild2: processes (default: CPU count, at most 4)")
    p.add_argument("--crops", action="store_true", help="disfa: also write the aligned crops prepare-disfa would")
    p.add_argument("--montage", metavar="PNG", help="also save a grid: rows = identities, columns = neutral + each AU")
    return p


def _print_release(info: dict) -> None:
    for video, v in info["per_video"].items():
        print(f"{video}: {v['rows']} frames, {v['kept']} usable")


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from ..data import synthetic_releases as releases
    from ..data.synthetic import make_synthetic_affwild2, save_montage

    if args.layout == "affwild2":
        info = make_synthetic_affwild2(args.out, args.videos, args.frames or 300, args.seed, args.val_fraction,
                                       args.workers)
        for split, names in info["splits"].items():
            rate = info["positive_rate"][split]
            print(f"{split}: {len(names)} videos; positive rate " + " ".join(f"{a}:{100 * rate[a]:.0f}%" for a in AU_NAMES))
    elif args.layout == "bp4d":
        _print_release(releases.make_synthetic_bp4d(args.out, releases.BP4D_SUBJECTS[:args.subjects],
                                                    frames=args.frames or 30, seed=args.seed))
    else:
        _print_release(releases.make_synthetic_disfa(args.out, releases.DISFA_SUBJECTS[:args.subjects],
                                                     frames=args.frames or 40, seed=args.seed, crops=args.crops))
    print(f"written to {os.path.abspath(args.out)}")
    if args.montage:
        save_montage(args.montage, seed=args.seed, au_names=LAYOUT_AUS[args.layout])
        print(f"montage: {args.montage}")
    return 0
