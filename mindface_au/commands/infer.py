"""AU detection on images, folders of images, videos and webcams: one per-frame CSV per input.

    python tools/infer.py clip.mp4 photos/ face.jpg --ckpt work_dirs/demo_cpu/best.ckpt --out au_out
    python tools/infer.py clip.mp4 --model au.mindir --out au_out --smooth prob=8,label=6 --plot --overlay
    python tools/infer.py --webcam 0 --model au.onnx --out au_out --all-faces

CSV columns: frame, timestamp, face_id, confidence, success, AU1_p ... AU26_p, AU1_c ... AU26_c
(folders add the image's file name). Frames without a face are kept with success=0.
"""
import os
import sys
import warnings


from ..cli import make_parser


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("inputs", nargs="*", help="images, folders of images, video files")
    parser.add_argument("--webcam", type=int, metavar="N", help="also read camera N (stop with Ctrl+C)")
    parser.add_argument("--ckpt", help="checkpoint (+ its saved config, or --config)")
    parser.add_argument("--model", help="exported .xml (OpenVINO), .onnx or .mindir file instead of a checkpoint")
    parser.add_argument("--precision", choices=["fp32", "bf16", "int8"], help="OpenVINO: inference precision "
                        "(default: the file's, else the CPU's best)")
    parser.add_argument("--runtime", choices=["openvino", "onnxruntime", "mindspore"],
                        help="run --model in this runtime (default: from the file; an .onnx in openvino)")
    parser.add_argument("--detect-every", type=int, default=1, metavar="N",
                        help="detect faces on one frame in N, track the landmarks in between")
    parser.add_argument("--prefetch", type=int, default=16, help="faces decoded+detected ahead in a thread (0: off)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--detector", default="yuface", choices=["yuface", "haar"])
    parser.add_argument("--aligned", action="store_true", help="inputs already are aligned 112x112 face crops")
    parser.add_argument("--all-faces", action="store_true", help="every face, tracked across frames (face_id)")
    parser.add_argument("--skip-frames", type=int, default=0, help="process one frame, then skip N")
    parser.add_argument("--smooth", help="temporal smoothing of videos, e.g. prob=8,label=6")
    parser.add_argument("--save-aligned", action="store_true", help="write the aligned crops")
    parser.add_argument("--plot", action="store_true", help="PNG timeline of AU probabilities per input")
    parser.add_argument("--overlay", action="store_true", help="video with boxes and active AUs drawn")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--fps", type=float, help="frame rate for the timestamps of image folders")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    specs = list(args.inputs) + ([f"webcam:{args.webcam}"] if args.webcam is not None else [])
    if not specs:
        parser.error("give at least one input (or --webcam N)")
    if args.ckpt and args.model:
        parser.error("give --ckpt or --model, not both")

    from ..inference import AUPredictor
    from ..inference.face import create_detector
    from ..inference.run import InferOptions, process_input
    from ..evaluation import parse_smooth_spec

    if args.model:
        predictor = AUPredictor.from_exported(args.model, batch_size=args.batch_size, precision=args.precision,
                                              runtime=args.runtime)
    else:
        if not args.ckpt:
            warnings.warn("no --ckpt or --model: the network has RANDOM weights (results are meaningless)")
        predictor = AUPredictor.from_checkpoint(args.ckpt, args.config, args.overrides, batch_size=args.batch_size)
    prob_k, label_k = parse_smooth_spec(args.smooth)
    opts = InferOptions(out_dir=args.out, all_faces=args.all_faces, aligned=args.aligned, skip_frames=args.skip_frames,
                        prob_k=prob_k, label_k=label_k, save_aligned=args.save_aligned, plot=args.plot,
                        overlay=args.overlay, progress=not args.no_progress, fps=args.fps,
                        detect_every=args.detect_every, prefetch=args.prefetch)
    detector = None if args.aligned else create_detector(args.detector)
    os.makedirs(args.out, exist_ok=True)
    failed = 0
    for spec in specs:
        result = process_input(spec, predictor, detector, opts)
        for w in result.warnings:
            print(f"warning: {w}", file=sys.stderr)
        if result.error:
            failed += 1
            print(f"error: {result.error}", file=sys.stderr)
            continue
        timing = ", ".join(f"{k} {v:.2f}s" for k, v in result.seconds.items())
        print(f"{spec}: {result.frames} frames, {result.faces} faces -> {result.csv_path} ({timing})")
    if failed:
        print(f"{failed} of {len(specs)} inputs failed", file=sys.stderr)
        return 1
    return 0

