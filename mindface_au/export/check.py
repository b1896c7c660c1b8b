"""Check an exported file in a fresh Python process, as a user would load it, in bounded memory.

``python -m mindface_au.export FILE INPUTS.npz OUTPUTS.npz`` (:func:`main`) runs the exported file
on each array of INPUTS in batches of ``--batch-size`` (64: one batch of 1000 r50 frames held 10 GB)
and writes the outputs under the same names. :func:`run_in_fresh_process`
starts it; :func:`max_diff_on_random_inputs` compares it with the fp32 Cell on random inputs. Outputs
are (N, n) probabilities, or (N, 2n) with the intensity head (:mod:`mindface_au.outputs`).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

from ..engine.predict import predict_array, predict_net
from ..inference.backends import open_backend
from .agreement import output_diff

CHECK_BATCH = 64  # frames per call of the exported file: memory stays bounded however many frames


def load_exported(path: str, precision=None, runtime=None):
    """A callable ``(B, 3, S, S) float32 numpy -> (B, n) probabilities`` (``(B, 2n)`` with the intensity
    head) for an exported file (any runtime)."""
    return open_backend(path, precision=precision, runtime=runtime)


def run_in_fresh_process(path: str, inputs: dict, batch_size: int = CHECK_BATCH) -> dict:
    """Run the exported file on each (N, 3, S, S) array of ``inputs`` in a new Python process, in
    batches of ``batch_size``; returns the (N, n) or (N, 2n) outputs under the same names."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(os.path.join(tmp, "in.npz"), **inputs)
        cmd = [sys.executable, "-m", "mindface_au.export", path, os.path.join(tmp, "in.npz"),
               os.path.join(tmp, "out.npz"), "--batch-size", str(batch_size)]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        subprocess.run(cmd, check=True, env=env)
        with np.load(os.path.join(tmp, "out.npz")) as out:
            return {name: out[name] for name in out.files}


def max_diff_on_random_inputs(path: str, net, input_size: int, batch_sizes, seed: int = 0) -> dict:
    """``{batch size: OutputDiff}`` on random inputs, the exported file run by a new process: the largest
    ``|exported - Cell|`` of the probabilities, and of the intensities when ``net`` has the intensity head.

    The file runs each batch size (its batch dimension is what is checked); the Cell runs once, on the
    largest, whose first rows are the smaller batches (in eval mode a row's output does not depend on the
    others), so GRAPH_MODE compiles it once rather than once per size."""
    largest = max(batch_sizes)
    x = np.random.default_rng(seed).standard_normal((largest, 3, input_size, input_size)).astype(np.float32)
    outputs = run_in_fresh_process(path, {f"x{b}": x[:b] for b in batch_sizes}, batch_size=largest)
    cell = predict_net(net, x, batch_size=largest)
    num_aus = getattr(net, "num_aus", None)
    return {b: output_diff(outputs[f"x{b}"], cell[:b], num_aus) for b in batch_sizes}


def main(argv=None) -> int:
    """Entry point: run MODEL_FILE on the arrays of INPUTS.npz in batches, write OUTPUTS.npz."""
    parser = argparse.ArgumentParser(prog="python -m mindface_au.export", description=__doc__.split("\n")[0])
    parser.add_argument("model", help="exported file (.mindir / .onnx / .xml)")
    parser.add_argument("inputs", help=".npz of (N, 3, S, S) float32 arrays")
    parser.add_argument("outputs", help=".npz written with the (N, n) probabilities (N, 2n with intensities) "
                                        "under the same names")
    parser.add_argument("--batch-size", type=int, default=CHECK_BATCH)
    args = parser.parse_args(argv)
    model = load_exported(args.model)
    with np.load(args.inputs) as inputs:
        outputs = {name: predict_array(model, inputs[name], args.batch_size) for name in inputs.files}
    np.savez(args.outputs, **outputs)
    return 0
