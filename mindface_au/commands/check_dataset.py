"""Check an Aff-Wild2 / ABAW AU dataset: per split the videos, frames, dropped rows, missing and unreadable
images, and the positive rate of each AU.

    python tools/check_dataset.py --root /data/Aff-Wild2
    python tools/check_dataset.py --root /data/Aff-Wild2 --split Validation_Set --no-decode --plot rates.png

Exits with status 2 and one line naming the problem when the root is not an ABAW layout or an
annotation file is malformed (``--lenient``: such videos are skipped and listed instead).
"""
import argparse
import json
import os


import numpy as np

from ..constants import AU_NAMES
from ..data.abaw import NotAbawLayoutError, list_splits, read_abaw_split
from ..data.jpeg import read_checked


def count_unreadable(index, progress=True):
    """{relative path: reason} of the frames of ``index`` whose image does not decode."""
    from tqdm import tqdm

    bad = {}
    for i in tqdm(range(len(index)), desc="decode check", unit="img", disable=not progress, leave=False):
        data, reason = read_checked(index.abspath(i))
        if data is None:
            bad[index.path(i)] = reason
    return bad


def check_split(root, split, strict=True, decode=True, progress=True):
    index = read_abaw_split(root, split, strict=strict, use_cache=False, progress=progress)
    t = index.report.totals()
    bad = count_unreadable(index, progress) if decode else None
    return {
        "split": split, "videos": t["videos"], "annotation_rows": t["rows"], "annotated_frames": t["rows"] - t["unannotated"],
        "dropped_unannotated_rows": t["unannotated"], "missing_images": t["missing"],
        "unreadable_images": None if bad is None else len(bad), "usable_frames": t["kept"] - (len(bad) if bad else 0),
        "skipped_videos": index.report.skipped, "unreadable": dict(list((bad or {}).items())[:20]),
        "positive_rate": {au: round(float(r), 4) for au, r in zip(AU_NAMES, index.positive_rate())},
    }


def print_split(r):
    print(f"== {r['split']}")
    print(f"  videos                 {r['videos']}")
    print(f"  annotation rows        {r['annotation_rows']}")
    print(f"  annotated frames       {r['annotated_frames']}")
    print(f"  dropped rows (-1)      {r['dropped_unannotated_rows']}")
    print(f"  missing images         {r['missing_images']}")
    print(f"  unreadable images      {'not checked (--no-decode)' if r['unreadable_images'] is None else r['unreadable_images']}")
    print(f"  usable frames          {r['usable_frames']}")
    for name, reason in r["skipped_videos"].items():
        print(f"  skipped video {name}: {reason}")
    for path, reason in r["unreadable"].items():
        print(f"  unreadable {path}: {reason}")
    print("  positive rate  " + "  ".join(f"{au}:{100 * v:5.1f}%" for au, v in r["positive_rate"].items()))


def plot_rates(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 3.5))
    width = 0.8 / len(results)
    x = np.arange(len(AU_NAMES))
    for i, r in enumerate(results):
        ax.bar(x + i * width - 0.4 + width / 2, [r["positive_rate"][a] for a in AU_NAMES], width,
               label=f"{r['split']} ({r['usable_frames']} frames)")
    ax.set_xticks(x)
    ax.set_xticklabels(AU_NAMES)
    ax.set_ylabel("positive rate")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", required=True, help="ABAW root (holds annotations/ and cropped_aligned/)")
    p.add_argument("--split", action="append", help="split to check (repeatable; default: every split found)")
    p.add_argument("--lenient", action="store_true", help="skip malformed annotation files instead of failing")
    p.add_argument("--no-decode", action="store_true", help="do not decode-check every image (faster)")
    p.add_argument("--plot", metavar="PNG", help="bar chart of the positive rates")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    root = os.path.abspath(os.path.expanduser(args.root))
    if not os.path.isdir(root):
        raise NotAbawLayoutError(f"{root}: no such folder")
    splits = args.split or list_splits(root)
    if not splits:
        raise NotAbawLayoutError(f"{root}: not an ABAW AU layout: no annotations/AU_Detection_Challenge/<split>/ "
                                 "folders (expected Train_Set, Validation_Set)")
    results = [check_split(root, s, strict=not args.lenient, decode=not args.no_decode,
                           progress=not args.no_progress) for s in splits]
    print(f"ABAW AU dataset at {root}")
    for r in results:
        print_split(r)
    if args.plot:
        plot_rates(results, args.plot)
        print(f"plot: {args.plot}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
    return 0

