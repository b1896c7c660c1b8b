"""Write a small synthetic dataset in the exact Aff-Wild2 / ABAW AU layout (rendered 112x112 faces).

    mindface-au make-synthetic --out data/synthetic_affwild2 --videos 24 --frames 300 --seed 0

Each of the 12 AUs changes its own facial region (see mindface_au/data/synthetic.py); labels have
real-data co-occurrence, rare AUs and multi-frame episodes; a few rows are -1 and a few images
missing. Deterministic from the seed. ``--montage PNG`` also saves one face per AU for a look.
"""
import os

from ..cli import make_parser
from ..constants import AU_NAMES
from ..data.synthetic import make_synthetic_affwild2, save_montage


def main(argv=None) -> int:
    p = make_parser(__doc__, config=False, device=False)
    p.add_argument("--out", required=True, help="output folder (absent or empty)")
    p.add_argument("--videos", type=int, default=24)
    p.add_argument("--frames", type=int, default=300, help="frames per video")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-fraction", type=float, default=0.25, help="share of the videos in Validation_Set")
    p.add_argument("--workers", type=int, default=None, help="processes (default: CPU count, at most 4)")
    p.add_argument("--montage", metavar="PNG", help="also save a grid: rows = identities, columns = neutral + each AU")
    args = p.parse_args(argv)
    info = make_synthetic_affwild2(args.out, args.videos, args.frames, args.seed, args.val_fraction, args.workers)
    for split, names in info["splits"].items():
        rate = info["positive_rate"][split]
        print(f"{split}: {len(names)} videos; positive rate " + " ".join(f"{a}:{100 * rate[a]:.0f}%" for a in AU_NAMES))
    print(f"written to {os.path.abspath(args.out)}")
    if args.montage:
        save_montage(args.montage, seed=args.seed)
        print(f"montage: {args.montage}")
    return 0

