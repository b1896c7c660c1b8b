"""Raw videos -> ABAW layout: ROOT/cropped_aligned/<video>/<k:05d>.jpg (aligned 112x112 face crops).

    mindface-au prepare-videos clip1.mp4 clip2.mov --out data/mine [--skip-frames 0] [--detector yuface]
        [--all-faces] [--annotations Train_Set] [--overwrite]

Frame numbers are the videos' own (1-based, kept when frames are skipped); frames without a face get
no file. A video that cannot be used is reported and the others are still processed; the exit
status is 1 if any failed.
"""
import sys

from ..cli import make_parser
from ..inference.face import DETECTORS, create_detector
from ..inference.prepare import prepare_video, video_name
from ..inference.sources import SourceError


def build_parser():
    parser = make_parser(__doc__, config=False, device=False)
    parser.add_argument("videos", nargs="+", help="video files")
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
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.skip_frames < 0:
        raise ValueError("--skip-frames must be >= 0")
    options = {} if args.min_score is None or args.detector != "yuface" else {"min_score": args.min_score}
    detector = create_detector(args.detector, **options)
    seen = {}
    failed = []
    for path in args.videos:
        name = video_name(path)
        if name in seen:
            failed.append(path)
            print(f"error: {path}: same video name {name!r} as {seen[name]}; rename one", file=sys.stderr)
            continue
        seen[name] = path
        try:
            stats = prepare_video(path, args.out, detector, skip_frames=args.skip_frames, size=args.size,
                                  all_faces=args.all_faces, quality=args.quality, overwrite=args.overwrite,
                                  annotation_split=args.annotations, progress=not args.no_progress)
        except (SourceError, FileExistsError, OSError) as exc:
            failed.append(path)
            print(f"error: {exc}", file=sys.stderr)
            continue
        folders = ", ".join(f"{k}: {v}" for k, v in stats.crops_written.items()) or "no crops"
        print(f"{path}: {stats.frames_total} frames, {stats.frames_processed} processed, "
              f"{stats.frames_with_face} with a face ({100 * stats.face_rate:.1f}%) -> {folders}")
    if failed:
        print(f"{len(failed)} of {len(args.videos)} videos failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0

