"""Export an AU network to MindIR, ONNX or an OpenVINO IR (dynamic batch), in fp32, bf16 or int8, and check
the file in a fresh process.

    python tools/export.py --config configs/paper_r100_attention.yaml --ckpt best.ckpt --format MINDIR --out au.mindir
    python tools/export.py --ckpt best.ckpt --format OPENVINO --precision int8 --out au_int8.xml
    python tools/export.py --ckpt best.ckpt --format ONNX --precision int8 --out au_int8.onnx
    python tools/export.py --ckpt r50.ckpt --format OPENVINO --precision int8 --calibration-data videos/ --out au.xml

int8: post-training quantisation (NNCF for OPENVINO, ONNX Runtime's per-channel static QDQ for ONNX)
calibrated on --calibration-frames crops: of the config's training split, or with --calibration-data
PATH of a folder of face images or videos (or one file) run through the same face detector and aligner
as infer (--calibration-aligned: the images already are aligned crops), so no data set is needed.
bf16 (OPENVINO): the runtime's inference precision (AMX / AVX512-BF16 CPUs). Checks: fp32 files must
equal the Cell within --tolerance on random inputs; bf16/int8 files are compared with the fp32 Cell
on --check-frames frames (of the validation split, or of --calibration-data): largest probability
difference and share of AU decisions that agree (at least --min-agreement); with labels (the
validation split) also the mean F1 of both, which may drop by at most --max-f1-drop.

A model with the intensity head (model.intensity) exports its (B, 2n) output (probabilities, then
0-5 intensities); the file's metadata and sidecar say so. Its checks compare the probabilities as
above and report the largest intensity difference; fp32 intensities must agree within
--tolerance x 5 (the tolerance scaled to the 0-5 range).
"""
import os
import sys

import numpy as np

from ..factory import config_from_checkpoint, restore_model
from ..cli import make_parser, setup_from_config
from ..engine.predict import predict_net
from ..export import (FORMATS, agreement_report, as_batches, calibration_batches, check_format_precision,
                      export_model, max_diff_on_random_inputs, path_arrays, run_in_fresh_process, split_arrays)
from ..export.calibration import evenly_spaced
from ..config import config_au_names
from ..outputs import INTENSITY_MAX
from ..sidecar import write_sidecar


def build_parser():
    parser = make_parser(__doc__)
    parser.add_argument("--ckpt", help="checkpoint to export (without it: random weights, with a warning)")
    parser.add_argument("--format", default="MINDIR", type=str.upper, choices=sorted(FORMATS))
    parser.add_argument("--precision", default="fp32", type=str.lower, choices=["fp32", "bf16", "int8"],
                        help="fp32 (any format), int8 (ONNX, OPENVINO), bf16 (OPENVINO)")
    parser.add_argument("--out", required=True, help="output file (.mindir / .onnx / .xml added when missing)")
    parser.add_argument("--calibration-frames", type=int, default=300,
                        help="int8: crops the quantisation is calibrated on")
    parser.add_argument("--calibration-data", metavar="PATH",
                        help="face images or videos (a folder or one file) to calibrate and check on, instead of "
                             "the config's data set")
    parser.add_argument("--calibration-aligned", action="store_true",
                        help="the --calibration-data images already are aligned 112x112 face crops")
    parser.add_argument("--detector", default="yuface", choices=["yuface", "haar"],
                        help="face detector for --calibration-data")
    parser.add_argument("--check-batches", default="1,4", help="batch sizes run in a fresh process after export")
    parser.add_argument("--tolerance", type=float, default=1e-5, help="fp32: max abs difference allowed")
    parser.add_argument("--check-frames", type=int,
                        help="frames compared with the fp32 Cell (default 1000 for bf16/int8, 0 for fp32)")
    parser.add_argument("--min-agreement", type=float, default=0.99,
                        help="bf16/int8: least share of AU decisions that agree with the fp32 Cell")
    parser.add_argument("--max-f1-drop", type=float, default=0.005,
                        help="bf16/int8: largest mean-F1 loss against the fp32 Cell (a fraction: 0.005 = 0.5 points)")
    return parser


class FrameSource:
    """The frames of the checks and of int8 calibration: the config's splits, or ``--calibration-data``."""

    def __init__(self, args, cfg):
        self.args, self.cfg = args, cfg
        self.check_count = args.check_frames if args.check_frames is not None else (
            0 if args.precision == "fp32" else 1000)
        self._path_x = None

    def _from_path(self, count: int) -> np.ndarray:
        if self._path_x is None:  # read once, enough for both uses
            args = self.args
            need = max(args.calibration_frames, self.check_count, count)
            self._path_x = path_arrays(args.calibration_data, self.cfg, need, args.detector, args.calibration_aligned)
        return self._path_x[evenly_spaced(len(self._path_x), count)]

    def calibration(self) -> list:
        if self.args.calibration_data is None:
            batches = calibration_batches(self.cfg, self.args.calibration_frames)
            where = "the training split"
        else:
            batches = as_batches(self._from_path(self.args.calibration_frames))
            where = self.args.calibration_data
        print(f"calibrating int8 on {sum(len(b) for b in batches)} crops of {where}")
        return batches

    def check(self, count: int):
        """``(x (N, 3, S, S), labels (N, n) or None)``."""
        if self.args.calibration_data is None:
            return split_arrays(self.cfg, "val", count)
        return self._from_path(count), None


def check_random_inputs(args, path, net, size) -> bool:
    """fp32: the file equals the Cell on random inputs at each --check-batches size; True when it does."""
    batches = [int(b) for b in args.check_batches.split(",") if b]
    if not batches or args.precision != "fp32":
        return True
    diffs = max_diff_on_random_inputs(path, net, size, batches)
    for b, d in diffs.items():
        intensity = "" if d.intensity is None else f", intensity {d.intensity:.3g}"
        print(f"batch {b}: max |{args.format} - Cell| = {d.prob:.3g}{intensity}")
    worst = max(d.prob for d in diffs.values())
    if not worst <= args.tolerance:
        print(f"error: exported model differs from the Cell by {worst:.3g} > {args.tolerance}", file=sys.stderr)
        return False
    worst_intensity = max(-1.0 if d.intensity is None else d.intensity for d in diffs.values())
    if not worst_intensity <= args.tolerance * INTENSITY_MAX:
        print(f"error: exported model's intensities differ from the Cell's by {worst_intensity:.3g} > "
              f"{args.tolerance * INTENSITY_MAX:.3g} (--tolerance x {INTENSITY_MAX:g})", file=sys.stderr)
        return False
    return True


def f1_text(args, rep: dict) -> str:
    """``mean F1 fp32 Cell X, FORMAT PRECISION Y`` (percent) of an agreement report with labels."""
    return (f"mean F1 fp32 Cell {100 * rep['reference_mean_f1']:.2f}, {args.format} {args.precision} "
            f"{100 * rep['mean_f1']:.2f}")


def print_agreement(args, rep: dict, where: str) -> None:
    line = (f"{where} ({rep['frames']} frames, fresh process): max |{args.precision} - fp32 Cell| prob = "
            f"{rep['max_prob_diff']:.4f}; AU decisions agreeing: {100 * rep['decision_agreement']:.2f}%")
    if "max_intensity_diff" in rep:
        line += f"; max |{args.precision} - fp32 Cell| intensity = {rep['max_intensity_diff']:.4f}"
    print(line if rep["mean_f1"] is None else f"{line}; {f1_text(args, rep)}")


def check_agreement(args, path, net, frames: FrameSource, thresholds) -> bool:
    """The file against the fp32 Cell on real frames; True unless a bf16/int8 file misses the bounds."""
    if frames.check_count <= 0:
        return True
    x, labels = frames.check(frames.check_count)
    probs, reference = run_in_fresh_process(path, {"x": x})["x"], predict_net(net, x)
    where = "validation" if labels is not None else "calibration data"
    num_aus = net.num_aus
    rep = agreement_report(probs, reference, labels, 0.5 if thresholds is None else np.asarray(thresholds, np.float32),
                           num_aus)
    print_agreement(args, rep, where)
    if thresholds is not None and labels is not None:  # tuned on the fp32 outputs of this split: at 0.5 too
        at_half = agreement_report(probs, reference, labels, 0.5, num_aus)
        print(f"  at threshold 0.5 (not tuned on this split): AU decisions agreeing "
              f"{100 * at_half['decision_agreement']:.2f}%; {f1_text(args, at_half)}")
    f1_drop = 0.0 if labels is None else rep["reference_mean_f1"] - rep["mean_f1"]
    if args.precision != "fp32" and (rep["decision_agreement"] < args.min_agreement or f1_drop > args.max_f1_drop):
        print(f"error: {args.precision} file agrees on {100 * rep['decision_agreement']:.2f}% of decisions "
              f"(need {100 * args.min_agreement:.2f}%) and loses {100 * f1_drop:.2f} F1 points (at most "
              f"{100 * args.max_f1_drop:.2f}); the file is kept at {path}", file=sys.stderr)
        return False
    return True


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_format_precision(args.format, args.precision)
    except ValueError as exc:
        parser.error(str(exc))
    if args.precision == "int8" and args.calibration_frames < 1:
        parser.error("--calibration-frames must be at least 1 for int8")
    if args.calibration_data is not None and not os.path.exists(args.calibration_data):
        parser.error(f"--calibration-data {args.calibration_data}: no such file or folder")
    cfg = config_from_checkpoint(args.ckpt, args.config, args.overrides)
    setup_from_config(cfg)
    net, meta = restore_model(cfg, args.ckpt)
    size = cfg["model"]["input_size"]
    frames = FrameSource(args, cfg)
    calibration = frames.calibration() if args.precision == "int8" else None
    path = export_model(net, args.out, args.format, size, args.precision, calibration, au_names=config_au_names(cfg))
    sidecar = write_sidecar(path, cfg, meta.get("thresholds"),
                            precision=None if args.precision == "fp32" and args.format != "OPENVINO" else args.precision)
    print(f"exported {args.format} {args.precision} -> {path} ({os.path.getsize(path) / 1e6:.1f} MB), "
          f"settings -> {sidecar}")
    passed = check_random_inputs(args, path, net, size)
    passed = check_agreement(args, path, net, frames, meta.get("thresholds")) and passed
    return 0 if passed else 1
