"""ABAW AU-track test submissions from aligned test frames (``<root>/cropped_aligned/<video>/<k:05d>.jpg``).

    # ABAW5: one <video>.txt per test video (header + one 0/1 row per frame)
    mindface-au predict-abaw --ckpt best.ckpt --root /data/Aff-Wild2 --videos test_set.txt \\
        --format abaw5 --out submission/ --smooth prob=8,label=6
    # ABAW6+: one predictions.txt (image_location,AU1,...,AU26), rows in the organisers' template order
    mindface-au predict-abaw --ensemble a.ckpt,b.ckpt --weights 0.5,0.5 --root /data/Aff-Wild2 \\
        --format abaw6 --template template.txt --out submission/predictions.txt

Frames without an image get the nearest frame's prediction (the earlier one on ties). A video's
frame count comes from --frame-counts (CSV ``video,frames``), else its last image's number. Image
folders may sit below intermediate folders of cropped_aligned/.
"""
from ..cli import add_model_args, make_parser, model_args, setup_from_config, thresholds_arg


def build_parser():
    parser = make_parser(__doc__)
    add_model_args(parser)
    parser.add_argument("--root", required=True, help="folder holding cropped_aligned/")
    parser.add_argument("--videos", help="file of test video names, one per line (default: every folder)")
    parser.add_argument("--frame-counts", help="CSV video,frames with each video's number of frames")
    parser.add_argument("--format", choices=["abaw5", "abaw6"], default="abaw5")
    parser.add_argument("--template", help="abaw6: the organisers' file whose image locations set the rows")
    parser.add_argument("--out", required=True, help="abaw5: folder; abaw6: predictions.txt (or a folder)")
    parser.add_argument("--smooth", help="post-processing per video, e.g. prob=8,label=6")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)

    from ..config import config_au_names
    from ..constants import AU_NAMES
    from ..factory import config_from_checkpoint
    from ..data import read_image_folders
    from ..data.unlabelled import read_video_list
    from ..evaluation import apply_postprocess, parse_smooth_spec
    from ..engine.evaluator import predict_checkpoints
    from ..evaluation.submission import read_frame_counts, write_submission
    from ..outputs import split_outputs

    ckpts, weights = model_args(args)
    if not ckpts:
        raise ValueError("give --ckpt or --ensemble")
    if args.template and args.format != "abaw6":
        raise ValueError("--template applies to --format abaw6")
    prob_k, label_k = parse_smooth_spec(args.smooth)
    counts = read_frame_counts(args.frame_counts) if args.frame_counts else None
    cfg = config_from_checkpoint(ckpts[0], args.config, args.overrides)
    if config_au_names(cfg) != AU_NAMES:
        raise ValueError(f"predict-abaw: {ckpts[0]} predicts {', '.join(config_au_names(cfg))}, not Aff-Wild2's "
                         f"12 AUs ({', '.join(AU_NAMES)}) that an ABAW submission holds")
    index = read_image_folders(args.root, read_video_list(args.videos) if args.videos else None)
    setup_from_config(cfg)
    pred = predict_checkpoints(cfg, ckpts, weights, index=index, progress=not args.no_progress)
    thresholds = thresholds_arg(args, ckpts, AU_NAMES)
    probs = split_outputs(pred["probs"], len(AU_NAMES))[0]  # occurrence only: a submission has no intensity
    binary = apply_postprocess(probs, pred["video_ids"], prob_k, label_k, thresholds)
    written = write_submission(args.out, args.format, pred["video_ids"], pred["frames"], binary, counts, args.template)
    where = args.out if args.format == "abaw5" else written["paths"][0]
    print(f"wrote {written['rows']} frame rows of {written['videos']} videos ({args.format}) to {where}")
    return 0
