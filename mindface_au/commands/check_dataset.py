"""Check an Aff-Wild2 / ABAW AU dataset: per split the videos, frames, dropped rows, missing and unreadable
images, and the positive rate of each AU.

    mindface-au check-dataset --root /data/Aff-Wild2
    mindface-au check-dataset --root /data/Aff-Wild2 --split Validation_Set --no-decode --plot rates.png

Exits with status 2 and one line naming the problem when the root is not an ABAW layout or an
annotation file is malformed (``--lenient``: such videos are skipped and listed instead). Image
folders may sit below intermediate folders of cropped_aligned/ (as archives unpack).
"""
import json
import os

from ..cli import make_parser


def build_parser():
    p = make_parser(__doc__, config=False, device=False)
    p.add_argument("--root", required=True, help="ABAW root (holds annotations/ and cropped_aligned/)")
    p.add_argument("--split", action="append", help="split to check (repeatable; default: every split found)")
    p.add_argument("--lenient", action="store_true", help="skip malformed annotation files instead of failing")
    p.add_argument("--no-decode", action="store_true", help="do not decode-check every image (faster)")
    p.add_argument("--plot", metavar="PNG", help="bar chart of the positive rates")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)

    from ..data.check import check_dataset, format_check, plot_check
    from ..fileio import atomic_write_text

    results = check_dataset(args.root, args.split, strict=not args.lenient, decode=not args.no_decode,
                            progress=not args.no_progress)
    print(f"ABAW AU dataset at {os.path.abspath(os.path.expanduser(args.root))}")
    for r in results:
        print(format_check(r))
    if args.plot:
        print(f"plot: {plot_check(results, args.plot)}")
    if args.json:
        atomic_write_text(args.json, json.dumps(results, indent=1) + "\n")
        print(f"json: {args.json}")
    return 0
