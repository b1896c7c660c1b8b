"""Frame index at Aff-Wild2 scale: build (parse + cache write), cached load, one epoch's resample draw.

    python benchmarks/bench_index.py                       # 547 videos, 2.6 M frames (annotation files only)
    python benchmarks/bench_index.py --videos 50 --frames 200000

Writes ABAW annotation files (no images; ~2% of rows -1) to a temporary folder, then times
``read_abaw_split(check_images=False)`` cold (parse every file, write the cache) and warm (load
the cache), and ``ResampleSampler.draw_all`` (paper fractions 1/10 + 1/5 of rare-AU frames).
Memory: peak of Python/numpy allocations during the cold build (tracemalloc) and the process's
peak RSS. Prints one JSON line. Targets (issue): build < 5 s, draw < 0.5 s, < 300 MB.
"""
import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from mindface_au.constants import ABAW_HEADER, NUM_AUS  # noqa: E402
from mindface_au.data.abaw import ANNOTATION_SUBDIR, read_abaw_split  # noqa: E402

RATES = np.array([0.12, 0.05, 0.16, 0.26, 0.40, 0.35, 0.24, 0.03, 0.03, 0.03, 0.62, 0.10])
MINUS_ROW = (",".join(["-1"] * NUM_AUS) + "\n").encode()


def annotation_bytes(labels: np.ndarray, unannotated: np.ndarray) -> bytes:
    """Text of an annotation file: header + one row per frame (rows flagged ``unannotated`` are -1)."""
    n = len(labels)
    text = np.empty((n, 2 * NUM_AUS), dtype=np.uint8)
    text[:, 0::2] = labels + 48
    text[:, 1::2] = ord(",")
    text[:, -1] = ord("\n")
    out, start = [ABAW_HEADER.encode() + b"\n"], 0
    for s in np.flatnonzero(unannotated):
        out.append(text[start:s].tobytes())
        out.append(MINUS_ROW)
        start = s + 1
    out.append(text[start:].tobytes())
    return b"".join(out)


def write_annotations(root: str, videos: int, frames: int, seed: int = 0) -> int:
    rng = np.random.default_rng(seed)
    lengths = rng.lognormal(0, 0.6, videos)
    lengths = np.maximum((lengths / lengths.sum() * frames).astype(int), 30)
    lengths[-1] += frames - lengths.sum()
    d = os.path.join(root, ANNOTATION_SUBDIR, "Train_Set")
    os.makedirs(d)
    for v, n in enumerate(lengths.tolist()):
        # episodes: label changes every ~40 frames
        change = rng.random((n // 40 + 1, NUM_AUS)) < RATES
        labels = np.repeat(change, 40, axis=0)[:n].astype(np.uint8)
        unannotated = np.zeros(n, dtype=bool)
        if rng.random() < 0.3:
            s = int(rng.integers(0, n))
            unannotated[s:s + int(0.07 * n)] = True
        suffix = ("_left" if v % 2 else "_right") if v % 40 in (1, 2) else ""
        with open(os.path.join(d, f"{v:03d}-30-1280x720{suffix}.txt"), "wb") as f:
            f.write(annotation_bytes(labels, unannotated))
    return int(lengths.sum())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--videos", type=int, default=547)
    p.add_argument("--frames", type=int, default=2_600_000)
    p.add_argument("--workdir", default=None, help="where to write the annotation files (default: a temp folder)")
    p.add_argument("--keep", action="store_true", help="keep the files")
    args = p.parse_args()
    from mindface_au.pipeline.sampler import ResampleSampler  # imports MindSpore: before the measurements

    work = args.workdir or tempfile.mkdtemp(prefix="bench_index_")
    os.makedirs(work, exist_ok=True)
    try:
        t = time.perf_counter()
        rows = write_annotations(work, args.videos, args.frames)
        t_write = time.perf_counter() - t
        size_mb = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(work) for f in fs) / 2 ** 20

        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        tracemalloc.start()
        t = time.perf_counter()
        index = read_abaw_split(work, "Train_Set", check_images=False)
        t_build = time.perf_counter() - t
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t = time.perf_counter()
        cached = read_abaw_split(work, "Train_Set", check_images=False)
        t_cached = time.perf_counter() - t
        assert cached.from_cache and len(cached) == len(index)

        sampler = ResampleSampler(index, 0.1, 0.2, seed=0)
        times = []
        for epoch in range(3):
            t = time.perf_counter()
            drawn = sampler.draw_all(epoch)
            times.append(time.perf_counter() - t)
        t = time.perf_counter()
        share = list(iter(sampler))  # what MindSpore's get_indices walks over, per epoch
        t_iter = time.perf_counter() - t
        index_mb = (index.video_ids.nbytes + index.frames.nbytes + index.labels.nbytes) / 2 ** 20
        print(json.dumps({
            "bench": "index", "videos": index.num_videos, "annotation_rows": rows, "frames": len(index),
            "unannotated_rows": index.report.totals()["unannotated"], "annotation_mb": round(size_mb, 1),
            "write_s": round(t_write, 2), "build_s": round(t_build, 3), "cached_load_s": round(t_cached, 3),
            "draw_s": round(float(np.median(times)), 4), "draw_size": int(len(drawn)),
            "sampler_iter_s": round(t_iter, 4), "index_mb": round(index_mb, 1),
            "build_peak_alloc_mb": round(peak / 2 ** 20, 1), "rss_increase_mb": round(rss1 - rss0, 1),
            "rss_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "targets": {"build_s": 5.0, "draw_s": 0.5, "memory_mb": 300}, "share_len": len(share)}))
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
