"""Evaluate checkpoints on a validation split: per-AU F1, post-processing, sweeps and ensembles.

    mindface-au eval --ckpt work_dirs/demo_cpu/best.ckpt
    mindface-au eval --ckpt best.ckpt --smooth prob=8,label=6
    mindface-au eval --ckpt best.ckpt --sweep --out eval_out          # paper Table 2 layout (CSV + PNG)
    mindface-au eval --ensemble a.ckpt,b.ckpt,c.ckpt --weights 0.4,0.3,0.3
    mindface-au eval --ckpt best.ckpt --save-probs val.npz ; mindface-au eval --probs val.npz --sweep

Writes eval_result.json (F1 per AU, and the per-AU best thresholds: --threshold eval_result.json
reuses them) and eval_f1_per_au.png to --out. A checkpoint with the intensity head (model.intensity)
on a split with intensity labels (DISFA, BP4D's FERA AUs) also gets ICC(3,1), PCC and MAE per AU:
printed after the F1 table, under "intensity" in the JSON, charted in eval_intensity_per_au.png.
A checkpoint trained on a device this machine lacks (e.g. Ascend) runs on the available one, with
a notice.
"""
import os

from ..cli import add_model_args, make_parser, model_args, setup_from_config, thresholds_arg


def build_parser():
    parser = make_parser(__doc__)
    add_model_args(parser)
    parser.add_argument("--probs", help="re-score saved predictions (.npz from --save-probs) without the network")
    parser.add_argument("--split", help="ABAW split (default: data.val_split)")
    parser.add_argument("--list", dest="list_file", help="evaluate a list file (relative/path.jpg 0,1,...) instead")
    parser.add_argument("--smooth", help="post-processing, e.g. prob=8,label=6")
    parser.add_argument("--smooth-edges", choices=("clip", "keep"),
                        help="video ends: clip the window, or keep the frame unsmoothed (the authors'); "
                             "default: eval.smooth_edges of the config (clip)")
    parser.add_argument("--sweep", action="store_true", help="Table 2 sweep of k = 1..10 (CSV + plot)")
    parser.add_argument("--save-probs", help="write the predictions to this .npz")
    parser.add_argument("--out", help="folder for the table, plots and CSV (default: beside the checkpoint)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)

    from ..factory import config_from_checkpoint
    from ..evaluation import format_f1_table, parse_smooth_spec
    from ..evaluation.intensity import IntensityScore, format_intensity_table
    from ..engine.evaluator import predict_checkpoints
    from ..evaluation.evaluate import evaluate_predictions
    from ..config import config_au_names, load_config
    from ..evaluation.predictions import load_predictions, predictions_au_names, save_predictions

    ckpts, weights = model_args(args)
    cfg = None
    prob_k, label_k = parse_smooth_spec(args.smooth)
    if args.probs:
        pred = load_predictions(args.probs)
        if pred["labels"] is None or pred["video_ids"] is None:
            raise ValueError(f"{args.probs}: re-scoring needs labels and video_ids in the predictions file")
    elif not ckpts:
        raise ValueError("give --ckpt, --ensemble or --probs")
    else:
        cfg = config_from_checkpoint(ckpts[0], args.config, args.overrides)
        setup_from_config(cfg)
        pred = predict_checkpoints(cfg, ckpts, weights, args.split, args.list_file, progress=not args.no_progress)
    au_names = config_au_names(cfg) if cfg is not None else predictions_au_names(pred)
    if args.save_probs:
        save_predictions(args.save_probs, pred["probs"], pred["labels"], pred["video_ids"], pred["frames"],
                         meta={"checkpoints": ckpts, "weights": args.weights, "au_names": list(au_names)},
                         intensity=pred.get("intensity"), intensity_labels=pred.get("intensity_labels"))
        print(f"predictions -> {args.save_probs}")

    sources = ckpts if not args.probs else [args.probs]
    out_dir = args.out or os.path.dirname(os.path.abspath(sources[0]))
    edges = args.smooth_edges or (cfg or load_config(args.config, args.overrides))["eval"]["smooth_edges"]
    thresholds = thresholds_arg(args, ckpts, au_names)
    result = evaluate_predictions(pred, out_dir, thresholds, prob_k, label_k, args.sweep, sources,
                                  edges=edges, au_names=au_names)
    print(f"F1 per AU ({result['title']})")
    print(format_f1_table(result["per_au_f1"], au_names=au_names))
    print(f"all-positive baseline mean F1: {100 * result['all_positive_mean_f1']:.2f}")
    if "intensity" in result:
        print("intensity per AU (ICC(3,1), Pearson r, MAE on 0-5; no smoothing)")
        print(format_intensity_table(IntensityScore.from_dict(result["intensity"])))
        print(f"intensity chart -> {result['paths']['intensity_plot']}")
    print(f"results -> {result['paths']['json']}, chart -> {result['paths']['plot']}")
    if args.sweep:
        print("method      k  mean F1")
        for r in result["sweep"]:
            k = r["label_k"] if r["method"] in ("label", "prob+label") else r["prob_k"]
            print(f"{r['method']:<11}{k:>2}  {100 * r['mean_f1']:.2f}")
        print(f"sweep -> {result['paths']['sweep_csv']}")
    return 0
