"""Export an AU network to MindIR, ONNX or an OpenVINO IR (dynamic batch), in fp32, bf16 or int8, and check
the file in a fresh process.

    python tools/export.py --config configs/paper_r100_attention.yaml --ckpt best.ckpt --format MINDIR --out au.mindir
    python tools/export.py --ckpt best.ckpt --format OPENVINO --precision int8 --out au_int8.xml
    python tools/export.py --ckpt best.ckpt --format ONNX --precision int8 --out au_int8.onnx

int8: post-training quantisation (NNCF for OPENVINO, ONNX Runtime's per-channel static QDQ for ONNX)
calibrated on --calibration-frames crops of the config's training split. bf16 (OPENVINO): the
runtime's inference precision (AMX / AVX512-BF16 CPUs). Checks: fp32 files must equal the Cell
within --tolerance on random inputs; bf16/int8 files are compared with the fp32 Cell on
--check-frames frames of the validation split (largest probability difference, share of AU
decisions that agree, mean F1 of both) and must reach --min-agreement and --max-f1-drop.
"""
import os
import sys

import numpy as np

from ..factory import config_from_checkpoint, restore_model
from ..cli import make_parser, setup_from_config
from ..export import (FORMATS, agreement_report, calibration_batches, check_format_precision, export_model,
                      run_in_fresh_process, split_arrays)
from ..inference.predictor import write_sidecar


def cell_probs(net, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """(N, n) probabilities of the fp32 Cell (sigmoid of ``net``) on (N, 3, S, S) inputs."""
    import mindspore as ms

    from ..models import WithSigmoid

    cell = WithSigmoid(net)
    cell.set_train(False)
    return np.concatenate([cell(ms.Tensor(x[i:i + batch_size])).asnumpy() for i in range(0, len(x), batch_size)])


def check_in_fresh_process(path, net, input_size, batch_sizes, seed=0):
    """Max |exported - Cell| per batch size on random inputs, the exported file run by a new Python process."""
    rng = np.random.default_rng(seed)
    inputs = {f"x{b}": rng.standard_normal((b, 3, input_size, input_size)).astype(np.float32) for b in batch_sizes}
    outputs = run_in_fresh_process(path, inputs)
    return {b: float(np.abs(outputs[f"x{b}"] - cell_probs(net, inputs[f"x{b}"])).max()) for b in batch_sizes}


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("--ckpt", help="checkpoint to export (without it: random weights, with a warning)")
    parser.add_argument("--format", default="MINDIR", type=str.upper, choices=sorted(FORMATS))
    parser.add_argument("--precision", default="fp32", type=str.lower, choices=["fp32", "bf16", "int8"],
                        help="fp32 (any format), int8 (ONNX, OPENVINO), bf16 (OPENVINO)")
    parser.add_argument("--out", required=True, help="output file (.mindir / .onnx / .xml added when missing)")
    parser.add_argument("--calibration-frames", type=int, default=300,
                        help="int8: training-split crops the quantisation is calibrated on")
    parser.add_argument("--check-batches", default="1,4", help="batch sizes run in a fresh process after export")
    parser.add_argument("--tolerance", type=float, default=1e-5, help="fp32: max abs difference allowed")
    parser.add_argument("--check-frames", type=int,
                        help="validation frames compared with the fp32 Cell (default 1000 for bf16/int8, 0 for fp32)")
    parser.add_argument("--min-agreement", type=float, default=0.99,
                        help="bf16/int8: least share of AU decisions that agree with the fp32 Cell")
    parser.add_argument("--max-f1-drop", type=float, default=0.005,
                        help="bf16/int8: largest mean-F1 loss against the fp32 Cell (a fraction: 0.005 = 0.5 points)")
    args = parser.parse_args(argv)
    try:
        check_format_precision(args.format, args.precision)
    except ValueError as exc:
        parser.error(str(exc))
    if args.precision == "int8" and args.calibration_frames < 1:
        parser.error("--calibration-frames must be at least 1 for int8")
    cfg = config_from_checkpoint(args.ckpt, args.config, args.overrides)
    setup_from_config(cfg)
    net, meta = restore_model(cfg, args.ckpt)
    size = cfg["model"]["input_size"]
    calibration = None
    if args.precision == "int8":
        calibration = calibration_batches(cfg, args.calibration_frames)
        print(f"calibrating int8 on {sum(len(b) for b in calibration)} crops of the training split")
    path = export_model(net, args.out, args.format, size, args.precision, calibration)
    sidecar = write_sidecar(path, cfg, meta.get("thresholds"),
                            precision=None if args.precision == "fp32" and args.format != "OPENVINO" else args.precision)
    print(f"exported {args.format} {args.precision} -> {path} ({os.path.getsize(path) / 1e6:.1f} MB), "
          f"settings -> {sidecar}")
    failed = False
    batches = [int(b) for b in args.check_batches.split(",") if b]
    if batches and args.precision == "fp32":
        diffs = check_in_fresh_process(path, net, size, batches)
        for b, d in diffs.items():
            print(f"batch {b}: max |{args.format} - Cell| = {d:.3g}")
        worst = max(diffs.values())
        if not worst <= args.tolerance:
            print(f"error: exported model differs from the Cell by {worst:.3g} > {args.tolerance}", file=sys.stderr)
            failed = True
    frames = args.check_frames if args.check_frames is not None else (0 if args.precision == "fp32" else 1000)
    if frames > 0:
        x, labels = split_arrays(cfg, "val", frames)
        thresholds = meta.get("thresholds")
        thresholds = 0.5 if thresholds is None else np.asarray(thresholds, np.float32)
        probs, reference = run_in_fresh_process(path, {"val": x})["val"], cell_probs(net, x)
        rep = agreement_report(probs, reference, labels, thresholds)
        print(f"validation ({rep['frames']} frames, fresh process): max |{args.precision} - fp32 Cell| prob = "
              f"{rep['max_prob_diff']:.4f}; AU decisions agreeing: {100 * rep['decision_agreement']:.2f}%; "
              f"mean F1 fp32 Cell {100 * rep['reference_mean_f1']:.2f}, {args.format} {args.precision} "
              f"{100 * rep['mean_f1']:.2f}")
        if meta.get("thresholds") is not None:  # tuned on the fp32 outputs of this split: at 0.5 too
            at_half = agreement_report(probs, reference, labels, 0.5)
            print(f"  at threshold 0.5 (not tuned on this split): AU decisions agreeing "
                  f"{100 * at_half['decision_agreement']:.2f}%; mean F1 fp32 Cell {100 * at_half['reference_mean_f1']:.2f}, "
                  f"{args.format} {args.precision} {100 * at_half['mean_f1']:.2f}")
        if args.precision != "fp32" and (rep["decision_agreement"] < args.min_agreement
                                         or rep["reference_mean_f1"] - rep["mean_f1"] > args.max_f1_drop):
            print(f"error: {args.precision} file agrees on {100 * rep['decision_agreement']:.2f}% of decisions "
                  f"(need {100 * args.min_agreement:.2f}%) and loses "
                  f"{100 * (rep['reference_mean_f1'] - rep['mean_f1']):.2f} F1 points (at most "
                  f"{100 * args.max_f1_drop:.2f}); the file is kept at {path}", file=sys.stderr)
            failed = True
    return 1 if failed else 0
