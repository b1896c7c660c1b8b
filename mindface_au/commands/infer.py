"""AU detection on images, folders, videos and webcams: one per-frame CSV per input.

    mindface-au infer clip.mp4 photos/ face.jpg --ckpt work_dirs/demo_cpu/best.ckpt --out au_out
    mindface-au infer clip.mp4 --model au.onnx --out au_out --smooth prob=8,label=6 --plot --overlay
    mindface-au infer videos/ --model au.onnx --out au_out --csv-format openface
    mindface-au infer --webcam 0 --model au.onnx --out au_out --all-faces

CSV columns (--csv-format mindface, the default): frame, timestamp, face_id, confidence, success,
AU1_p ... AU26_p, AU1_c ... AU26_c, and with a model that has the intensity head (model.intensity)
AU1_r ... AU26_r, intensities 0-5 (folders of images add the image's file name). --csv-format
openface: OpenFace 2's frame, face_id, timestamp, confidence, success, [AU01_r ... AU26_r,]
AU01_c ... AU26_c, then AU01_p ... AU26_p. Frames without a face are kept with success=0. --smooth
adds <AU>_p_smooth [/ <AU>_r_smooth] / <AU>_c_smooth columns (windows in frames); the raw columns
stay. A folder holding videos is processed video by video. Decisions use --threshold (0.5 unless
told). Ctrl+C or SIGTERM finishes the batch in flight, writes and closes the CSV and the overlay, and
exits with 130.

Long videos and corpora:

    mindface-au infer long.mp4 --model au.onnx --out au_out --resume        # after a kill: go on
    mindface-au infer videos/ list.txt --model au.onnx --out au_out --ray auto  # one Ray task per video
    mindface-au infer videos/ --model au.onnx --out au_out --shard $SLURM_ARRAY_TASK_ID/8

--resume keeps a CSV's rows up to its last frame and computes the rest (the CSV equals an
uninterrupted run's; with --all-faces or --detect-every, tracking restarts at the resume frame);
with --overlay the rest goes to <stem>_overlay_from<frame>.mp4. --ray and
--shard record finished inputs under <out>/.complete/ and skip them when run again; unfinished ones
are resumed. The face detector runs in a child process replaced every --detector-memory MB of growth,
so memory stays flat however long the video.
"""
import contextlib
import os
import signal
import sys
import threading

from ..cli import add_threshold_arg, make_parser

EXIT_INTERRUPTED = 130


def build_parser():
    parser = make_parser(__doc__)
    parser.add_argument("inputs", nargs="*", help="images, folders of images or videos, video files")
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
    parser.add_argument("--smooth", help="temporal smoothing of videos, e.g. prob=8,label=6 (windows in frames)")
    parser.add_argument("--smooth-edges", choices=["clip", "keep"], default="clip",
                        help="near a video's ends: clip the window (default) or keep the frame's own value "
                             "(the authors' script)")
    parser.add_argument("--csv-format", choices=["mindface", "openface"], default="mindface",
                        help="column names: ours (default) or OpenFace 2's (frame, face_id, ..., AU01_c)")
    add_threshold_arg(parser)
    parser.add_argument("--save-aligned", action="store_true", help="write the aligned crops")
    parser.add_argument("--plot", action="store_true", help="PNG timeline of AU probabilities per input")
    parser.add_argument("--overlay", action="store_true", help="video with boxes and active AUs drawn")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--fps", type=float, help="frame rate for the timestamps of image folders")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--resume", action="store_true",
                        help="continue the CSVs in --out from their last frame; skip inputs recorded as finished")
    parser.add_argument("--shard", metavar="I/N", help="only inputs I, I+N, I+2N ... of the list (Slurm job arrays)")
    parser.add_argument("--ray", metavar="ADDRESS", help="one Ray task per input: 'auto' starts a local Ray, "
                        "else the cluster's address (needs pip install -e .[cluster])")
    parser.add_argument("--ray-workers", type=int, metavar="N", help="--ray auto: worker processes (none given: one per core)")
    parser.add_argument("--detector-memory", type=float, default=32.0, metavar="MB",
                        help="replace the face detector's process once it grew by this much (0: run it in "
                             "this process; yuface then grows ~30 KB per frame)")
    return parser


def _where(result) -> str:
    files = [p for p in (result.csv_path, result.overlay_path, result.plot_path) if p]
    return ", ".join(files)


@contextlib.contextmanager
def stop_on_signals(signals=(signal.SIGINT, signal.SIGTERM)):
    """Yield a :class:`threading.Event` that the first Ctrl+C / SIGTERM sets (the run finishes the batch
    in flight, writes and closes its outputs); a second one raises KeyboardInterrupt at once. Outside
    the main thread, signals cannot be caught: the Event is returned but never set."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, _frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        # os.write, not print: a handler may run while tqdm is writing to stderr (no reentrant writes)
        os.write(2, f"\n{signal.Signals(signum).name}: finishing the batch in flight, then writing and closing "
                    f"the outputs (press Ctrl+C again to abort at once)\n".encode())

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield stop
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def _check_args(parser, args) -> tuple:
    """Argument errors (through ``parser.error``); returns ``(prob_k, label_k)`` of ``--smooth``."""
    from ..evaluation import parse_smooth_spec

    if not args.inputs and args.webcam is None:
        parser.error("give at least one input (or --webcam N)")
    if args.ckpt and args.model:
        parser.error("give --ckpt or --model, not both")
    if args.skip_frames < 0:
        parser.error("--skip-frames must be >= 0")
    try:
        return parse_smooth_spec(args.smooth)
    except ValueError as exc:
        parser.error(str(exc))


def _detector_kwargs(args) -> dict:
    """The :class:`AUDetector` arguments of the command line."""
    return dict(model=args.model or args.ckpt, config=args.config, overrides=list(args.overrides),
                face_detector=None if args.aligned else args.detector, threshold=args.threshold,
                all_faces=args.all_faces, csv_format=args.csv_format, smooth_edges=args.smooth_edges,
                batch_size=args.batch_size, progress=not args.no_progress, warn_synthetic=False,
                precision=args.precision, runtime=args.runtime, detector_memory_mb=args.detector_memory)


def _options_kwargs(args, smooth: tuple) -> dict:
    """The :class:`InferOptions` of the command line (besides ``stop``)."""
    corpus = bool(args.resume or args.shard or args.ray)
    return dict(skip_frames=args.skip_frames, prob_k=smooth[0], label_k=smooth[1], save_aligned=args.save_aligned,
                plot=args.plot, overlay=args.overlay, fps=args.fps, detect_every=args.detect_every,
                prefetch=args.prefetch, resume=corpus, mark_complete=corpus)


def _detector(args):
    """The :class:`AUDetector` the arguments ask for, or None after printing why it cannot be built."""
    from ..inference.detector import AUDetector

    try:
        detector = AUDetector(**_detector_kwargs(args))
    except ImportError as exc:
        hint = "" if "pip install" in str(exc) else " (inference needs: pip install -e .[infer])"
        print(f"error: {exc}{hint}", file=sys.stderr)
        return None
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    if detector.notice:
        print(f"notice: {detector.notice}", file=sys.stderr)
    return detector


def _run_inputs(args, detector, specs, stems: dict, smooth: tuple, stop: threading.Event) -> int:
    """Every input in turn until ``stop`` is set; prints what each wrote; returns the exit status."""
    failed = 0
    for k, spec in enumerate(specs):
        if stop.is_set():
            print(f"stopped before {len(specs) - k} input(s): {', '.join(specs[k:])}", file=sys.stderr)
            return EXIT_INTERRUPTED
        opts = detector.options(args.out, stop=stop, **_options_kwargs(args, smooth))
        result = detector.process(spec, opts, stem=stems[spec])
        for w in result.warnings:
            print(f"warning: {w}", file=sys.stderr)
        if result.error:
            failed += 1
            print(f"error: {result.error}", file=sys.stderr)
            continue
        if result.interrupted:
            print(f"stopped: {spec}: the {result.frames} frames done are written and closed: {_where(result)}",
                  file=sys.stderr)
            if k + 1 < len(specs):
                print(f"not started: {', '.join(specs[k + 1:])}", file=sys.stderr)
            return EXIT_INTERRUPTED
        timing = ", ".join(f"{name} {v:.2f}s" for name, v in result.seconds.items())
        resumed = f" (resumed at frame {result.resumed_from})" if result.resumed_from else ""
        print(f"{spec}: {result.frames} frames, {result.faces} faces{resumed} -> {_where(result)} ({timing})")
    if stop.is_set():  # the signal came after the last frame: everything is done, still say so
        print("stopped: every input was finished", file=sys.stderr)
        return EXIT_INTERRUPTED
    if failed:
        print(f"{failed} of {len(specs)} inputs failed", file=sys.stderr)
        return 1
    return 0


def _select(args, parser) -> tuple:
    """``(specs, stems, skipped)``: this run's inputs (its --shard), their output names (unique over all
    the inputs, so every shard names an input alike) and the inputs already finished (--resume etc.)."""
    from ..inference.corpus import parse_shard, select_shard
    from ..inference.naming import output_stems
    from ..inference.resume import is_complete
    from ..inference.sources import expand_inputs

    try:
        shard = parse_shard(args.shard)
    except ValueError as exc:
        parser.error(str(exc))
    specs = expand_inputs(args.inputs) + ([f"webcam:{args.webcam}"] if args.webcam is not None else [])
    stems = output_stems(specs)
    specs = select_shard(specs, shard)
    skipped = [s for s in specs if (args.resume or args.shard or args.ray) and is_complete(args.out, stems[s])]
    return [s for s in specs if s not in skipped], stems, skipped


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    smooth = _check_args(parser, args)
    specs, stems, skipped = _select(args, parser)
    if skipped:
        print(f"skipped {len(skipped)} input(s) already finished in {args.out}", file=sys.stderr)
    if (args.resume or args.shard or args.ray) and (args.all_faces or args.detect_every > 1):
        print("notice: a resumed input restarts face tracking at its resume frame: with --all-faces its face ids, "
              "with --detect-every its tracked landmarks, may differ from an uninterrupted run's after it",
              file=sys.stderr)
    if args.ray:
        from .infer_corpus import run_corpus_on_ray

        return run_corpus_on_ray(args, specs, stems, _detector_kwargs(args), _options_kwargs(args, smooth))
    detector = _detector(args)
    if detector is None:
        return 2
    os.makedirs(args.out, exist_ok=True)
    with stop_on_signals() as stop:
        try:
            return _run_inputs(args, detector, specs, stems, smooth, stop)
        except KeyboardInterrupt:  # a second Ctrl+C: what was written stays, files are closed
            print("aborted: the rows written so far are in the CSVs", file=sys.stderr)
            return EXIT_INTERRUPTED
