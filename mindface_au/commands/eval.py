"""Evaluate checkpoints on a validation split: per-AU F1, post-processing, sweeps and ensembles.

    python tools/eval.py --ckpt work_dirs/demo_cpu/best.ckpt
    python tools/eval.py --ckpt best.ckpt --smooth prob=8,label=6
    python tools/eval.py --ckpt best.ckpt --sweep --out eval_out          # paper Table 2 layout (CSV + PNG)
    python tools/eval.py --ensemble a.ckpt,b.ckpt,c.ckpt --weights 0.4,0.3,0.3
    python tools/eval.py --ckpt best.ckpt --save-probs val.npz ; python tools/eval.py --probs val.npz --sweep
"""
import json
import os


import numpy as np

from ..cli import (add_model_args, make_parser, model_args, setup_from_config,
                             thresholds_arg)


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    add_model_args(parser)
    parser.add_argument("--probs", help="re-score saved predictions (.npz from --save-probs) without the network")
    parser.add_argument("--split", help="ABAW split (default: data.val_split)")
    parser.add_argument("--list", dest="list_file", help="evaluate a list file (relative/path.jpg 0,1,...) instead")
    parser.add_argument("--smooth", help="post-processing, e.g. prob=8,label=6")
    parser.add_argument("--smooth-edges", choices=("clip", "keep"),
                        help="video ends: clip the window, or keep the frame unsmoothed (authors); "
                             "default: eval.smooth_edges of the config (clip)")
    parser.add_argument("--sweep", action="store_true", help="Table 2 sweep of k = 1..10 (CSV + plot)")
    parser.add_argument("--save-probs", help="write the predictions to this .npz")
    parser.add_argument("--out", help="folder for the table, plots and CSV (default: beside the checkpoint)")
    args = parser.parse_args(argv)

    from ..checkpoint import config_from_checkpoint
    from ..config import load_config
    from ..engine.evaluator import predict_checkpoints
    from ..evaluation.predictions import load_predictions, save_predictions
    from ..evaluation import (all_positive_f1, apply_postprocess, binary_f1, format_f1_table,
                                        parse_smooth_spec, plot_f1_bars, plot_sweep, sweep, write_sweep_csv)

    ckpts, weights = model_args(args)
    cfg = None
    if args.probs:
        pred = load_predictions(args.probs)
        if pred["labels"] is None or pred["video_ids"] is None:
            raise ValueError(f"{args.probs}: re-scoring needs labels and video_ids in the predictions file")
    elif not ckpts:
        raise ValueError("give --ckpt, --ensemble or --probs")
    else:
        cfg = config_from_checkpoint(ckpts[0], args.config, args.overrides)
        setup_from_config(cfg)
        pred = predict_checkpoints(cfg, ckpts, weights, args.split, args.list_file)
    if args.save_probs:
        save_predictions(args.save_probs, pred["probs"], pred["labels"], pred["video_ids"], pred["frames"],
                         meta={"checkpoints": ckpts, "weights": args.weights})
        print(f"predictions -> {args.save_probs}")

    thresholds = thresholds_arg(args, ckpts)
    prob_k, label_k = parse_smooth_spec(args.smooth)
    edges = args.smooth_edges or (cfg or load_config(args.config, args.overrides))["eval"]["smooth_edges"]
    labels = pred["labels"]
    binary = apply_postprocess(pred["probs"], pred["video_ids"], prob_k, label_k, thresholds, edges=edges)
    per_au = binary_f1(binary, labels)
    out_dir = args.out or (os.path.dirname(os.path.abspath(ckpts[0])) if ckpts else os.path.dirname(
        os.path.abspath(args.probs)))
    os.makedirs(out_dir, exist_ok=True)
    title = f"{len(labels)} frames, {len(np.unique(pred['video_ids']))} videos" + (
        f", smoothing prob={prob_k} label={label_k}" if prob_k or label_k else "")
    print(f"F1 per AU ({title})")
    print(format_f1_table(per_au))
    print(f"all-positive baseline mean F1: {100 * np.mean(all_positive_f1(labels)):.2f}")
    plot_f1_bars(per_au, os.path.join(out_dir, "eval_f1_per_au.png"), title=f"F1 per AU ({title})")
    result = {"mean_f1": float(per_au.mean()), "per_au_f1": per_au.tolist(), "prob_k": prob_k, "label_k": label_k,
              "smooth_edges": edges,
              "frames": int(len(labels)), "checkpoints": ckpts or [args.probs]}
    with open(os.path.join(out_dir, "eval_result.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
    if args.sweep:
        rows = sweep(pred["probs"], labels, pred["video_ids"], thresholds=thresholds, edges=edges)
        csv_path = write_sweep_csv(rows, os.path.join(out_dir, "smoothing_sweep.csv"))
        plot_sweep(rows, os.path.join(out_dir, "smoothing_sweep.png"))
        print("method      k  mean F1")
        for r in rows:
            k = r["label_k"] if r["method"] in ("label", "prob+label") else r["prob_k"]
            print(f"{r['method']:<11}{k:>2}  {100 * r['mean_f1']:.2f}")
        print(f"sweep -> {csv_path}")
    return 0

