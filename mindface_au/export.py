"""Export to MindIR / ONNX / OpenVINO IR with a dynamic batch, in fp32, bf16 or int8, and run exported files.

The exported graph maps (B, 3, S, S) float32 normalised images to (B, n) probabilities (the
network followed by sigmoid). :func:`load_exported` runs any of them from numpy through
:func:`mindface_au.inference.backends.open_backend` (the runtime chosen from the file).

Formats and precisions (``export_model(..., precision=)``):

* ``MINDIR``: fp32.
* ``ONNX``: fp32 (opset 11, what MindSpore writes), or ``int8``: converted to opset 13 and
  quantised by ONNX Runtime's static post-training quantisation (QDQ, per-channel int8 weights,
  uint8 activations) calibrated on ``calibration`` batches.
* ``OPENVINO``: an IR (``.xml`` + ``.bin``) converted from that ONNX. ``fp32`` / ``bf16`` are the
  same fp32 IR, the precision goes to the ``.json`` sidecar as the runtime's inference-precision
  hint (OpenVINO converts to bf16 when it compiles for an AMX CPU); ``int8``: quantised by NNCF
  (post-training, ``calibration`` batches; convolutions only, MatMuls stay float), FakeQuantize
  ops in the IR.

``python -m mindface_au.export FILE INPUTS.npz OUT.npz`` runs an exported file on the arrays of
INPUTS and writes the outputs under the same names (:func:`run_in_fresh_process`);
``tools/export.py`` uses it to check a fresh process's results against the Cell, on random
inputs (fp32: equal to 1e-5) and on the validation split (:func:`agreement_report`).
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import tempfile

import numpy as np

from . import _env  # noqa: F401,E402  (ONEDNN_MAX_CPU_ISA, set in one place)
from .fileio import atomic_path

FORMATS = {"MINDIR": ".mindir", "ONNX": ".onnx", "OPENVINO": ".xml"}
PRECISIONS = {"MINDIR": ("fp32",), "ONNX": ("fp32", "int8"), "OPENVINO": ("fp32", "bf16", "int8")}
QDQ_OPSET = 13  # per-channel DequantizeLinear (its ``axis``) needs opset >= 13


def check_format_precision(fmt: str, precision: str) -> None:
    """Raise ValueError unless ``fmt`` can be exported in ``precision``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {sorted(FORMATS)}")
    if precision not in PRECISIONS[fmt]:
        raise ValueError(f"format {fmt} cannot be exported in {precision!r}; it takes {PRECISIONS[fmt]}"
                         + ("; bf16 is an OpenVINO runtime precision: use --format OPENVINO" if precision == "bf16"
                            else ""))


def export_model(net, path: str, fmt: str = "MINDIR", input_size: int = 112, precision: str = "fp32",
                 calibration=None) -> str:
    """Export ``net`` (an AUNet) with sigmoid and a dynamic batch; returns the written file's path.

    ``calibration``: for ``precision='int8'``, a sequence of (B, 3, S, S) float32 batches of
    network inputs (see :func:`calibration_batches`).
    """
    import mindspore as ms

    from .models import WithSigmoid

    fmt, precision = fmt.upper(), precision.lower()
    check_format_precision(fmt, precision)
    if precision == "int8" and not calibration:
        raise ValueError("int8 export needs calibration batches")
    net.set_train(False)
    wrapped = WithSigmoid(net)
    wrapped.set_train(False)
    stem = path[: -len(FORMATS[fmt])] if path.lower().endswith(FORMATS[fmt]) else path
    os.makedirs(os.path.dirname(os.path.abspath(stem)) or ".", exist_ok=True)
    out = stem + FORMATS[fmt]
    if fmt == "MINDIR":
        dummy = ms.Tensor(shape=[None, 3, input_size, input_size], dtype=ms.float32)
        ms.export(wrapped, dummy, file_name=stem, file_format=fmt)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            onnx_path = _export_onnx_dynamic_batch(wrapped, os.path.join(tmp, "fp32"), input_size)
            if fmt == "ONNX" and precision == "int8":
                onnx_path = quantize_onnx(onnx_path, os.path.join(tmp, "int8.onnx"), calibration)
            if fmt == "ONNX":
                with atomic_path(out) as part:
                    shutil.copyfile(onnx_path, part)
            else:
                onnx_to_openvino(onnx_path, out, calibration if precision == "int8" else None)
    if not os.path.isfile(out):
        raise RuntimeError(f"export wrote no file at {out}")
    return out


def quantize_onnx(src: str, dst: str, calibration) -> str:
    """Static int8 QDQ quantisation of the fp32 ONNX ``src`` (opset raised to 13), calibrated on batches."""
    import onnx
    from onnx import version_converter

    from .inference.backends import require

    quant = require("onnxruntime.quantization", "int8 ONNX export")
    model = onnx.load(src)
    if model.opset_import[0].version < QDQ_OPSET:
        model = version_converter.convert_version(model, QDQ_OPSET)
    upgraded = dst + ".opset13.onnx"
    onnx.save(model, upgraded)

    class Reader(quant.CalibrationDataReader):
        def __init__(self):
            self._batches = iter(calibration)

        def get_next(self):
            batch = next(self._batches, None)
            return None if batch is None else {model.graph.input[0].name: np.asarray(batch, np.float32)}

    quant.quantize_static(upgraded, dst, Reader(), quant_format=quant.QuantFormat.QDQ, per_channel=True,
                          activation_type=quant.QuantType.QUInt8, weight_type=quant.QuantType.QInt8,
                          calibrate_method=quant.CalibrationMethod.MinMax)
    return dst


def onnx_to_openvino(src: str, dst: str, calibration=None) -> str:
    """An OpenVINO IR at ``dst`` (.xml + .bin) from the ONNX ``src``, batch dynamic; int8 by NNCF with calibration."""
    from .inference.backends import require

    ov = require("openvino", "OpenVINO export")
    model = ov.convert_model(src)
    shape = model.input(0).get_partial_shape()
    shape[0] = -1
    model.reshape({model.input(0): shape})
    if calibration is not None:
        nncf = require("nncf", "int8 OpenVINO export")
        samples = [np.asarray(b[i:i + 1], np.float32) for b in calibration for i in range(len(b))]
        # convolutions only: quantising the MatMuls too (transformer, ARL, dense heads) cost the
        # demo model 1.4 F1 points and 3% of its decisions, convolutions alone 0.3 points and 1.5%
        model = nncf.quantize(model, nncf.Dataset(samples), subset_size=len(samples),
                              ignored_scope=nncf.IgnoredScope(types=["MatMul"]))
    folder = os.path.dirname(os.path.abspath(dst))
    stem = os.path.splitext(os.path.basename(dst))[0]
    with tempfile.TemporaryDirectory(prefix=f".{stem}.", dir=folder) as tmp:
        ov.save_model(model, os.path.join(tmp, stem + ".xml"), compress_to_fp16=False)
        for ext in (".bin", ".xml"):  # the .xml last: a reader never finds a new .xml with an old .bin
            with atomic_path(os.path.splitext(dst)[0] + ext) as part:
                shutil.copyfile(os.path.join(tmp, stem + ext), part)
    return dst


def _export_onnx_dynamic_batch(cell, stem: str, input_size: int) -> str:
    """ONNX with a dynamic batch dimension.

    MindSpore exports ONNX only with static shapes and writes the batch size into the shape
    constants of Reshape-like nodes. The cell is exported at batch 1 and at batch 2; the shape
    constants that differ are exactly the batch-dependent ones, and where the batch-2 value is
    twice the batch-1 value the entry becomes -1 (infer). Graph input and output get a symbolic
    ``batch`` dimension. Anything else that differs is an error, never a silent file.
    """
    import mindspore as ms
    import onnx
    from onnx import numpy_helper

    models = []
    with tempfile.TemporaryDirectory() as tmp:
        for batch in (1, 2):
            x = ms.Tensor(np.zeros((batch, 3, input_size, input_size), np.float32))
            ms.export(cell, x, file_name=os.path.join(tmp, f"b{batch}"), file_format="ONNX")
            models.append(onnx.load(os.path.join(tmp, f"b{batch}.onnx")))
    one, two = models
    if len(one.graph.node) != len(two.graph.node):
        raise RuntimeError("ONNX exports at batch 1 and 2 differ in structure; cannot make the batch dynamic")
    for init1, init2 in zip(one.graph.initializer, two.graph.initializer):
        if not np.array_equal(numpy_helper.to_array(init1), numpy_helper.to_array(init2)):
            raise RuntimeError(f"ONNX initializer {init1.name} depends on the batch size")
    for node1, node2 in zip(one.graph.node, two.graph.node):
        if node1.op_type != "Constant":
            continue
        a1 = numpy_helper.to_array(node1.attribute[0].t)
        a2 = numpy_helper.to_array(node2.attribute[0].t)
        if a1.shape == a2.shape and np.array_equal(a1, a2):
            continue
        varying = a1 != a2
        if a1.ndim != 1 or not np.all(a2[varying] == 2 * a1[varying]) or varying.sum() != 1 or (a1 == -1).any():
            raise RuntimeError(f"ONNX constant {node1.output[0]} varies with the batch in a way that cannot be "
                               f"made dynamic: {a1.tolist()} vs {a2.tolist()}")
        fixed = a1.copy()
        fixed[varying] = -1
        node1.attribute[0].t.CopyFrom(numpy_helper.from_array(fixed, node1.attribute[0].t.name))
    for value in list(one.graph.input) + list(one.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    onnx.checker.check_model(one)
    with atomic_path(stem + ".onnx") as part:
        onnx.save(one, part)
    return stem + ".onnx"


def split_arrays(cfg: dict, which: str = "val", max_frames: int = 1000):
    """``(x (N, 3, S, S) float32, labels (N, 12))``: up to ``max_frames`` frames of the config's
    ``which`` ('train' / 'val') split, evenly spaced over it, through the evaluation transform."""
    from .data import ensure_synthetic, read_index
    from .pipeline import build_eval_dataset

    ensure_synthetic(cfg, progress=False)
    index = read_index(cfg, which)
    if len(index) == 0:
        raise ValueError(f"the {which} split of the config's data has no frames")
    rows = np.unique(np.linspace(0, len(index) - 1, min(len(index), max_frames)).round().astype(np.int64))
    picked = dataclasses.replace(index, video_ids=index.video_ids[rows], frames=index.frames[rows],
                                 labels=index.labels[rows], explicit_paths=None if index.explicit_paths is None
                                 else index.explicit_paths[rows])
    dataset, _ = build_eval_dataset(cfg, index=picked)
    xs, ys = zip(*((x, y) for x, y in dataset.create_tuple_iterator(output_numpy=True)))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys)


def calibration_batches(cfg: dict, n_frames: int = 300, batch_size: int = 16) -> list:
    """Calibration data of int8 export: ``n_frames`` training-split crops (evaluation transform), in batches."""
    x, _ = split_arrays(cfg, "train", n_frames)
    return [x[i:i + batch_size] for i in range(0, len(x), batch_size)]


def run_in_fresh_process(path: str, inputs: dict) -> dict:
    """Run the exported file on each array of ``inputs`` in a new Python process (``python -m
    mindface_au.export``), as a user would load it; returns the outputs under the same names."""
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(os.path.join(tmp, "in.npz"), **inputs)
        cmd = [sys.executable, "-m", "mindface_au.export", path, os.path.join(tmp, "in.npz"),
               os.path.join(tmp, "out.npz")]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        subprocess.run(cmd, check=True, env=env)
        with np.load(os.path.join(tmp, "out.npz")) as out:
            return {name: out[name] for name in out.files}


def agreement_report(probs: np.ndarray, reference: np.ndarray, labels: np.ndarray, thresholds) -> dict:
    """How an exported file's probabilities (N, n) agree with the fp32 Cell's ``reference`` (N, n):
    ``max_prob_diff``, ``decision_agreement`` (share of the N x n AU decisions that agree),
    ``mean_f1`` and ``reference_mean_f1`` on ``labels`` at ``thresholds``."""
    from .evaluation.metrics import binarize, mean_f1

    return {"frames": int(len(probs)), "max_prob_diff": float(np.abs(probs - reference).max()),
            "decision_agreement": float((binarize(probs, thresholds) == binarize(reference, thresholds)).mean()),
            "mean_f1": float(mean_f1(probs, labels, thresholds)),
            "reference_mean_f1": float(mean_f1(reference, labels, thresholds))}


def load_exported(path: str, precision=None, runtime=None):
    """A callable ``(B, 3, S, S) float32 numpy -> (B, n) probabilities`` for an exported file (any runtime)."""
    from .inference.backends import open_backend

    return open_backend(path, precision=precision, runtime=runtime)


def _main(argv) -> int:
    if len(argv) != 3:
        print("usage: python -m mindface_au.export MODEL_FILE INPUTS.npz OUTPUTS.npz", file=sys.stderr)
        return 2
    model_path, inputs_path, outputs_path = argv
    model = load_exported(model_path)
    inputs = np.load(inputs_path)
    np.savez(outputs_path, **{name: model(inputs[name]) for name in inputs.files})
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
