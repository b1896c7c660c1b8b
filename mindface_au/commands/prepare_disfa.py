"""DISFA's left-camera videos -> aligned 112x112 face crops, once: ROOT/cropped_aligned/LeftVideo<SN>_comp/<t:05d>.jpg.

    mindface-au prepare-disfa --root /data/DISFA [--subject SN001 ...] [--detector yuface] [--overwrite]

ROOT holds ``ActionUnit_Labels/`` and ``Videos_LeftCamera/``. Crop t is frame t of the video (label
line t); frames without a face get no file (the reader counts them as missing). Resumable: a
subject whose crops were completed (a ``.done`` file beside them) is skipped, an interrupted one
is redone. Prints per subject the video's frames, the label rows, the frames with a face and the
crops written; the exit status is 1 if a video is absent or unusable.
"""
import json
import os
import sys

from ..cli import make_parser

DONE_FILE = ".done"


def build_parser():
    p = make_parser(__doc__, config=False, device=False)
    p.add_argument("--root", required=True, help="DISFA root (holds ActionUnit_Labels/ and Videos_LeftCamera/)")
    p.add_argument("--subject", action="append", help="subject to prepare (repeatable; default: every labelled one)")
    p.add_argument("--detector", default="yuface", help="face detector (yuface or haar)")
    p.add_argument("--size", type=int, default=112, help="crop side in pixels")
    p.add_argument("--quality", type=int, default=95, help="JPEG quality")
    p.add_argument("--overwrite", action="store_true", help="redo subjects already prepared")
    p.add_argument("--no-progress", action="store_true")
    return p


def _prepare_subject(root: str, subject: str, detector, args) -> dict:
    """Crops of one subject (or the counts of an earlier complete run); raises for an unusable video."""
    from ..data.abaw import IMAGE_SUBDIR
    from ..data.disfa import crop_dir_names, read_subject, video_file
    from ..inference.prepare import prepare_video

    done = os.path.join(root, IMAGE_SUBDIR, crop_dir_names(subject)[0], DONE_FILE)
    if os.path.isfile(done) and not args.overwrite:
        with open(done, encoding="utf-8") as f:
            return {**json.load(f), "skipped": True}
    video = video_file(root, subject)
    if not os.path.isfile(video):
        raise FileNotFoundError(f"{video}: left-camera video not found")
    label_rows = len(read_subject(root, subject, ("AU1",))[0])
    stats = prepare_video(video, root, detector, size=args.size, quality=args.quality, overwrite=True,
                          progress=not args.no_progress)
    counts = {"frames": stats.frames_total, "label_rows": label_rows, "with_face": stats.frames_with_face,
              "crops": sum(stats.crops_written.values())}
    from ..fileio import atomic_write_text

    atomic_write_text(done, json.dumps(counts) + "\n")
    return counts


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)

    from ..data.disfa import list_subjects
    from ..inference.face import create_detector
    from ..inference.sources import SourceError

    root = os.path.abspath(os.path.expanduser(args.root))
    subjects = args.subject or list_subjects(root)
    detector = create_detector(args.detector)
    failed, total = [], 0
    for subject in subjects:
        try:
            c = _prepare_subject(root, subject, detector, args)
        except (SourceError, OSError) as exc:
            failed.append(subject)
            print(f"error: {subject}: {exc}", file=sys.stderr)
            continue
        total += c["crops"]
        note = " (already prepared)" if c.get("skipped") else ""
        mismatch = "" if c["frames"] == c["label_rows"] else f"; the video has {c['frames']} frames"
        print(f"{subject}: {c['label_rows']} label rows, {c['with_face']} frames with a face, "
              f"{c['crops']} crops{mismatch}{note}")
    print(f"{len(subjects) - len(failed)} of {len(subjects)} subjects prepared, {total} crops in "
          f"{os.path.join(root, 'cropped_aligned')}")
    return 1 if failed else 0
