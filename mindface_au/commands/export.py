"""Export an AU network to MindIR or ONNX (dynamic batch) and check the file in a fresh process.

    python tools/export.py --config configs/paper_r100_attention.yaml --ckpt best.ckpt --format MINDIR --out au.mindir
"""
import os
import subprocess
import sys
import tempfile


import numpy as np

from ..weights import config_from_checkpoint, restore_model
from ..cli import make_parser, setup_from_config
from ..export import export_model
from ..inference.predictor import write_sidecar


def check_in_fresh_process(path, net, input_size, batch_sizes, seed=0):
    """Max |exported - Cell| per batch size, the exported file run by a new Python process."""
    import mindspore as ms

    rng = np.random.default_rng(seed)
    inputs = {f"x{b}": rng.standard_normal((b, 3, input_size, input_size)).astype(np.float32) for b in batch_sizes}
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(os.path.join(tmp, "in.npz"), **inputs)
        cmd = [sys.executable, "-m", "mindface_au.export", path, os.path.join(tmp, "in.npz"),
               os.path.join(tmp, "out.npz")]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [
            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), os.environ.get("PYTHONPATH")])))
        subprocess.run(cmd, check=True, env=env)
        outputs = np.load(os.path.join(tmp, "out.npz"))
        from ..models import WithSigmoid

        cell = WithSigmoid(net)
        cell.set_train(False)
        return {b: float(np.abs(outputs[f"x{b}"] - cell(ms.Tensor(inputs[f"x{b}"])).asnumpy()).max())
                for b in batch_sizes}


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("--ckpt", help="checkpoint to export (without it: random weights, with a warning)")
    parser.add_argument("--format", default="MINDIR", type=str.upper, choices=["MINDIR", "ONNX"])
    parser.add_argument("--out", required=True, help="output file (.mindir / .onnx added when missing)")
    parser.add_argument("--check-batches", default="1,4", help="batch sizes run in a fresh process after export")
    parser.add_argument("--tolerance", type=float, default=1e-5, help="max abs difference allowed in the check")
    args = parser.parse_args(argv)
    cfg = config_from_checkpoint(args.ckpt, args.config, args.overrides)
    setup_from_config(cfg)
    net, meta = restore_model(cfg, args.ckpt)
    path = export_model(net, args.out, args.format, cfg["model"]["input_size"])
    sidecar = write_sidecar(path, cfg, meta.get("thresholds"))
    print(f"exported {args.format} -> {path} ({os.path.getsize(path) / 1e6:.1f} MB), settings -> {sidecar}")
    batches = [int(b) for b in args.check_batches.split(",") if b]
    if not batches:
        return 0
    diffs = check_in_fresh_process(path, net, cfg["model"]["input_size"], batches)
    worst = max(diffs.values())
    for b, d in diffs.items():
        print(f"batch {b}: max |{args.format} - Cell| = {d:.3g}")
    if not worst <= args.tolerance:
        print(f"error: exported model differs from the Cell by {worst:.3g} > {args.tolerance}", file=sys.stderr)
        return 1
    return 0

