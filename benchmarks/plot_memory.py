"""The memory curve of the README from bench_memory.py's JSON lines: one line per file given.

    python benchmarks/bench_memory.py --checkpoints 1000,2500,5000,10000,15000,20000 > worker.jsonl
    python benchmarks/bench_memory.py --detector-memory 0 --checkpoints 1000,2500,5000,10000,15000,20000 > inproc.jsonl
    python benchmarks/plot_memory.py "detector in a replaced worker=worker.jsonl" "in-process=inproc.jsonl" --out docs/memory.png
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mindface_au.plots import plot_memory  # noqa: E402


def points(path: str) -> list:
    """(frames, total_rss_mb) of each checkpoint line (the summary line has no total_rss_mb)."""
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip().startswith("{")]
    return [(r["frames"], r["total_rss_mb"]) for r in rows if "total_rss_mb" in r]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("series", nargs="+", metavar="LABEL=FILE")
    parser.add_argument("--out", default="docs/memory.png")
    args = parser.parse_args()
    series = dict(item.split("=", 1) for item in args.series)
    print(plot_memory({label: points(path) for label, path in series.items()}, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
