"""Input pipeline throughput: JPEG bytes -> decode + augment (MindSpore vision ops) -> batches, images/s.

    python benchmarks/bench_pipeline.py                         # synthetic data, 112x112, 2 workers
    python benchmarks/bench_pipeline.py --root /data/Aff-Wild2 --size 112 --workers 8

Without ``--root`` it writes a small synthetic ABAW dataset to a temporary folder. Times the train
pipeline (resampling sampler, RandomResizedCrop, flip, colour jitter p=0.3, normalise, batch) and
the eval pipeline (resize + centre crop) after one warm-up batch, with nothing else consuming the
batches. Prints one JSON line.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import mindface_au  # noqa: E402,F401
from mindface_au.config import load_config  # noqa: E402
from mindface_au.data import make_synthetic_affwild2  # noqa: E402
from mindface_au.pipeline import build_eval_dataset, build_train_dataset  # noqa: E402


def throughput(dataset, max_batches):
    it = dataset.create_tuple_iterator(num_epochs=1, output_numpy=True)
    first = next(it)  # warm-up: threads started, first files read
    n, batches, t = 0, 0, time.perf_counter()
    for image, _ in it:
        n += len(image)
        batches += 1
        if batches >= max_batches:
            break
    dt = time.perf_counter() - t
    return n / dt if dt > 0 else float("nan"), n, list(first[0].shape)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", help="ABAW root (default: synthetic data in a temporary folder)")
    p.add_argument("--size", type=int, default=112, help="model.input_size")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--workers", type=int, default=2, help="data.num_workers (map threads)")
    p.add_argument("--batches", type=int, default=60, help="batches timed per pipeline")
    p.add_argument("--videos", type=int, default=12)
    p.add_argument("--frames", type=int, default=300)
    args = p.parse_args()
    tmp = None
    root = args.root
    if root is None:
        tmp = tempfile.mkdtemp(prefix="bench_pipeline_")
        root = os.path.join(tmp, "abaw")
        make_synthetic_affwild2(root, args.videos, args.frames, seed=0, progress=False)
    try:
        cfg = load_config(None, [f"data.root={root}", f"model.input_size={args.size}",
                                 f"train.batch_size={args.batch}", f"eval.batch_size={args.batch}",
                                 f"data.num_workers={args.workers}", "data.uniform_fraction=1.0"])
        train, sampler, index = build_train_dataset(cfg)
        t_rate, t_n, shape = throughput(train, args.batches)
        evald, _ = build_eval_dataset(cfg)
        e_rate, e_n, _ = throughput(evald, args.batches)
        print(json.dumps({"bench": "pipeline", "frames_in_index": len(index), "input_size": args.size,
                          "batch": args.batch, "workers": args.workers, "cpus": os.cpu_count(),
                          "train_images_per_s": round(t_rate, 1), "train_images_timed": t_n,
                          "eval_images_per_s": round(e_rate, 1), "eval_images_timed": e_n, "batch_shape": shape,
                          "synthetic": args.root is None}))
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
