"""Check an AU dataset: per split the videos, frames, dropped rows, missing and unreadable images, and the
positive rate of each AU; for BP4D, DISFA and ME-GraphAU lists also per subject and per AU the positive,
negative and not coded (BP4D's 9s, masked) counts.

    mindface-au check-dataset --root /data/Aff-Wild2
    mindface-au check-dataset --root /data/Aff-Wild2 --split Validation_Set --no-decode --plot rates.png
    mindface-au check-dataset --format bp4d --root /data/BP4D
    mindface-au check-dataset --format disfa --root /data/DISFA [--threshold 2] [--aus disfa12]
    mindface-au check-dataset --format megraphau_list --root /data/BP4D/img --list list/BP4D_test_img_path_fold1.txt

Exits with status 2 and one line naming the problem when the root is not an ABAW layout or an
annotation file is malformed (``--lenient``: such videos are skipped and listed instead). Image
folders may sit below intermediate folders of cropped_aligned/ (as archives unpack).
"""
import json
import os

from ..cli import make_parser


def build_parser():
    p = make_parser(__doc__, config=False, device=False)
    p.add_argument("--root", required=True, help="ABAW root (holds annotations/ and cropped_aligned/), BP4D or "
                   "DISFA root, or the image root of ME-GraphAU lists")
    p.add_argument("--format", default="abaw", choices=("abaw", "bp4d", "disfa", "megraphau_list"))
    p.add_argument("--aus", help="AU set: a preset (bp4d, disfa8, disfa12) or AU1,AU2,... (default: the format's)")
    p.add_argument("--threshold", type=int, default=2, help="disfa: occurrence = intensity >= this")
    p.add_argument("--list", action="append", default=[], help="megraphau_list: an *_img_path_fold<k>.txt (repeatable)")
    p.add_argument("--split", action="append", help="split to check (repeatable; default: every split found)")
    p.add_argument("--lenient", action="store_true", help="skip malformed annotation files instead of failing")
    p.add_argument("--no-decode", action="store_true", help="do not decode-check every image (faster)")
    p.add_argument("--plot", metavar="PNG", help="bar chart of the positive rates")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)

    from ..data.check import check_dataset, check_release, format_check, format_release_check, plot_check
    from ..fileio import atomic_write_text

    if args.format != "abaw":
        aus = args.aus if args.aus is None or "," not in args.aus else args.aus.split(",")
        results = check_release(args.format, args.root, aus, args.threshold, args.list)
        print(f"{args.format} at {os.path.abspath(os.path.expanduser(args.root))}")
        for r in results:
            print(format_release_check(r))
        if args.json:
            atomic_write_text(args.json, json.dumps(results, indent=1) + "\n")
            print(f"json: {args.json}")
        return 0
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
