"""ABAW AU-track test submissions from aligned test frames (``<root>/cropped_aligned/<video>/<k:05d>.jpg``).

    # ABAW5: one <video>.txt per test video (header + one 0/1 row per frame)
    python tools/predict_abaw.py --ckpt best.ckpt --root /data/Aff-Wild2 --videos test_set.txt \\
        --format abaw5 --out submission/ --smooth prob=8,label=6
    # ABAW6+: one predictions.txt (image_location,AU1,...,AU26), rows in the organisers' template order
    python tools/predict_abaw.py --ensemble a.ckpt,b.ckpt --weights 0.5,0.5 --root /data/Aff-Wild2 \\
        --format abaw6 --template template.txt --out submission/predictions.txt

Frames without an image get the nearest frame's prediction (the earlier one on ties). A video's
frame count comes from --frame-counts (CSV ``video,frames``), else its last image's number.
"""
import csv
import os


from ..cli import (add_model_args, make_parser, model_args, setup_from_config,
                             thresholds_arg)


def read_frame_counts(path):
    counts = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        for line_no, row in enumerate(csv.reader(f), start=1):
            if not row or row[0].startswith("#") or (line_no == 1 and not row[-1].strip().isdigit()):
                continue
            if len(row) != 2 or not row[1].strip().isdigit():
                raise ValueError(f"{path}:{line_no}: expected 'video,frames', got {','.join(row)!r}")
            counts[row[0].strip()] = int(row[1])
    return counts


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    add_model_args(parser)
    parser.add_argument("--root", required=True, help="folder holding cropped_aligned/")
    parser.add_argument("--videos", help="file of test video names, one per line (default: every folder)")
    parser.add_argument("--frame-counts", help="CSV video,frames with each video's number of frames")
    parser.add_argument("--format", choices=["abaw5", "abaw6"], default="abaw5")
    parser.add_argument("--template", help="abaw6: the organisers' file whose image locations set the rows")
    parser.add_argument("--out", required=True, help="abaw5: folder; abaw6: predictions.txt (or a folder)")
    parser.add_argument("--smooth", help="post-processing per video, e.g. prob=8,label=6")
    args = parser.parse_args(argv)

    from ..weights import config_from_checkpoint
    from ..data import read_image_folders
    from ..data.unlabelled import read_video_list
    from ..engine.evaluator import predict_checkpoints
    from ..evaluation import (abaw6_rows, apply_postprocess, parse_smooth_spec, read_abaw6_locations,
                                        write_abaw5, write_abaw6)

    ckpts, weights = model_args(args)
    if not ckpts:
        raise ValueError("give --ckpt or --ensemble")
    prob_k, label_k = parse_smooth_spec(args.smooth)
    videos = read_video_list(args.videos) if args.videos else None
    index = read_image_folders(args.root, videos)
    counts = read_frame_counts(args.frame_counts) if args.frame_counts else {}
    cfg = config_from_checkpoint(ckpts[0], args.config, args.overrides)
    setup_from_config(cfg)
    pred = predict_checkpoints(cfg, ckpts, weights, index=index)
    thresholds = thresholds_arg(args, ckpts)
    binary = apply_postprocess(pred["probs"], pred["video_ids"], prob_k, label_k, thresholds)
    names = index.video_names
    per_frames = [index.frames[index.video_ids == v] for v in range(len(names))]
    per_preds = [binary[index.video_ids == v] for v in range(len(names))]
    n_frames = [counts.get(name, int(fr.max())) for name, fr in zip(names, per_frames)]
    if args.format == "abaw5":
        paths = write_abaw5(args.out, names, per_frames, per_preds, n_frames)
        print(f"wrote {len(paths)} video files ({sum(n_frames)} frames) to {args.out}")
        return 0
    locations, preds = abaw6_rows(names, per_frames, per_preds, n_frames)
    if args.template:
        order = {loc: i for i, loc in enumerate(locations)}
        wanted = read_abaw6_locations(args.template)
        missing = [loc for loc in wanted if loc not in order]
        if missing:
            raise ValueError(f"{args.template}: {len(missing)} image locations have no prediction, e.g. {missing[:3]}")
        locations, preds = wanted, preds[[order[loc] for loc in wanted]]
    out = os.path.join(args.out, "predictions.txt") if os.path.isdir(args.out) else args.out
    write_abaw6(out, locations, preds)
    print(f"wrote {len(locations)} rows to {out}")
    return 0

