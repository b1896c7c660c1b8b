"""Raw videos -> ABAW layout: ROOT/cropped_aligned/<video>/<k:05d>.jpg (aligned 112x112 face crops).

    mindface-au prepare-videos clip1.mp4 clip2.mov --out data/mine [--skip-frames 0] [--detector yuface]
        [--all-faces] [--annotations Train_Set] [--overwrite]
    mindface-au prepare-videos raw_videos/ list.txt --out data/mine --ray auto        # one Ray task per video
    mindface-au prepare-videos raw_videos/ --out data/mine --shard $SLURM_ARRAY_TASK_ID/8

Inputs: video files, folders of videos, list files (.txt / .lst, one video per line). Frame numbers are
the videos' own (1-based, kept when frames are skipped); frames without a face get no file. A video
that cannot be used is reported and the others are still processed; the exit status is 1 if any
failed. --ray, --shard and --resume record finished videos under ROOT/.complete/ and skip them when
run again; a video left unfinished is prepared again from its start.
"""
import os
import sys

from ..cli import make_parser
from ..inference.corpus import parse_shard, run_on_ray, select_shard
from ..inference.face import DETECTORS
from ..inference.prepare import prepare_task, video_name
from ..inference.resume import is_complete
from ..inference.sources import expand_inputs, is_video_file


def build_parser():
    parser = make_parser(__doc__, config=False, device=False)
    parser.add_argument("videos", nargs="+", help="video files, folders of videos, list files")
    parser.add_argument("--out", required=True, help="dataset root (ROOT) to write cropped_aligned/ into")
    parser.add_argument("--detector", default="yuface", choices=sorted(DETECTORS),
                        help="face detector (haar: no landmarks, cruder alignment)")
    parser.add_argument("--min-score", type=float, default=None, help="yuface confidence threshold (default 0.5)")
    parser.add_argument("--skip-frames", type=int, default=0,
                        help="after each processed frame skip this many (0 = every frame)")
    parser.add_argument("--size", type=int, default=112, help="crop side in pixels")
    parser.add_argument("--all-faces", action="store_true",
                        help="every face, tracked, into <video>_face<id>/ (default: the largest face)")
    parser.add_argument("--quality", type=int, default=95, help="JPEG quality")
    parser.add_argument("--annotations", metavar="SPLIT", default=None,
                        help="also write annotations/AU_Detection_Challenge/SPLIT/<video>.txt full of -1 rows")
    parser.add_argument("--overwrite", action="store_true", help="replace crops already written for a video")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--resume", action="store_true", help="skip videos recorded as finished in --out")
    parser.add_argument("--shard", metavar="I/N", help="only videos I, I+N, I+2N ... of the list (Slurm job arrays)")
    parser.add_argument("--ray", metavar="ADDRESS", help="one Ray task per video: 'auto' starts a local Ray, "
                        "else the cluster's address (needs pip install -e .[cluster])")
    parser.add_argument("--ray-workers", type=int, metavar="N", help="--ray auto: worker processes (none given: one per core)")
    parser.add_argument("--detector-memory", type=float, default=32.0, metavar="MB",
                        help="replace the face detector's process once it grew by this much (0: in this process)")
    return parser


def _videos(args, parser) -> list:
    """This run's videos: inputs expanded (folders, list files), names checked unique, its --shard."""
    try:
        shard = parse_shard(args.shard)
    except ValueError as exc:
        parser.error(str(exc))
    videos = [v for v in expand_inputs(args.videos) if not os.path.isdir(v) or is_video_file(v)]
    return select_shard(videos, shard)


def _jobs(args, videos, failed: list) -> list:
    """``(path, task arguments)`` per video to run; duplicate names go to ``failed``, finished ones are skipped."""
    corpus = bool(args.ray or args.shard or args.resume)
    options = {} if args.min_score is None or args.detector != "yuface" else {"min_score": args.min_score}
    kwargs = dict(skip_frames=args.skip_frames, size=args.size, all_faces=args.all_faces, quality=args.quality,
                  overwrite=args.overwrite or corpus, annotation_split=args.annotations,
                  progress=not args.no_progress and not args.ray)
    seen, jobs, skipped = {}, [], 0
    for path in videos:
        name = video_name(path)
        if name in seen:
            failed.append(path)
            print(f"error: {path}: same video name {name!r} as {seen[name]}; rename one", file=sys.stderr)
            continue
        seen[name] = path
        if corpus and is_complete(args.out, name):
            skipped += 1
            continue
        root = os.path.abspath(args.out) if args.ray else args.out
        jobs.append((path, (os.path.abspath(path) if args.ray else path, root, args.detector, options, kwargs,
                            args.detector_memory)))
    if skipped:
        print(f"skipped {skipped} video(s) already finished in {args.out}", file=sys.stderr)
    return jobs


def _report(path: str, stats: dict) -> None:
    folders = ", ".join(f"{k}: {v}" for k, v in stats["crops_written"].items()) or "no crops"
    print(f"{path}: {stats['frames_total']} frames, {stats['frames_processed']} processed, "
          f"{stats['frames_with_face']} with a face ({100 * stats['face_rate']:.1f}%) -> {folders}")


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.skip_frames < 0:
        raise ValueError("--skip-frames must be >= 0")
    failed = []
    videos = _videos(args, parser)
    jobs = _jobs(args, videos, failed)
    if args.ray:
        try:
            results = run_on_ray(prepare_task, jobs, args.ray, num_cpus=args.ray_workers,
                                 progress=not args.no_progress, frames_of=lambda r: r.get("frames_processed", 0))
        except ImportError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    else:
        results = ((path, prepare_task(*task)) for path, task in jobs)
    for path, stats in results:
        if stats.get("error"):
            failed.append(path)
            print(f"error: {stats['error']}", file=sys.stderr)
            continue
        _report(path, stats)
    if failed:
        print(f"{len(failed)} of {len(videos)} videos failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
