"""Export to MindIR / ONNX with a dynamic batch, and run exported files.

The exported graph maps (B, 3, S, S) float32 normalised images to (B, n) probabilities (the
network followed by sigmoid). :func:`load_exported` runs either format from numpy:
MindIR through ``ms.load`` + ``nn.GraphCell`` (MindSpore Lite has no wheel for Python 3.11),
ONNX through onnxruntime (optional extra).

``python -m mindface_au.export FILE INPUTS.npz OUT.npz`` runs an exported file on the arrays
``x*`` of INPUTS and writes the outputs under the same names; ``tools/export.py`` uses it to
check a fresh process's results against the Cell.
"""
from __future__ import annotations

import os
import sys

import numpy as np

from . import _env  # noqa: F401,E402  (ONEDNN_MAX_CPU_ISA, set in one place)

FORMATS = {"MINDIR": ".mindir", "ONNX": ".onnx"}


def export_model(net, path: str, fmt: str = "MINDIR", input_size: int = 112) -> str:
    """Export ``net`` (an AUNet) with sigmoid and a dynamic batch; returns the written file's path."""
    import mindspore as ms

    from .models import WithSigmoid

    fmt = fmt.upper()
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {sorted(FORMATS)}")
    net.set_train(False)
    wrapped = WithSigmoid(net)
    wrapped.set_train(False)
    stem = path[: -len(FORMATS[fmt])] if path.lower().endswith(FORMATS[fmt]) else path
    os.makedirs(os.path.dirname(os.path.abspath(stem)) or ".", exist_ok=True)
    if fmt == "ONNX":
        _export_onnx_dynamic_batch(wrapped, stem, input_size)
    else:
        dummy = ms.Tensor(shape=[None, 3, input_size, input_size], dtype=ms.float32)
        ms.export(wrapped, dummy, file_name=stem, file_format=fmt)
    out = stem + FORMATS[fmt]
    if not os.path.isfile(out):
        raise RuntimeError(f"export wrote no file at {out}")
    return out


def _export_onnx_dynamic_batch(cell, stem: str, input_size: int) -> None:
    """ONNX with a dynamic batch dimension.

    MindSpore exports ONNX only with static shapes and writes the batch size into the shape
    constants of Reshape-like nodes. The cell is exported at batch 1 and at batch 2; the shape
    constants that differ are exactly the batch-dependent ones, and where the batch-2 value is
    twice the batch-1 value the entry becomes -1 (infer). Graph input and output get a symbolic
    ``batch`` dimension. Anything else that differs is an error, never a silent file.
    """
    import tempfile

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
    onnx.save(one, stem + ".onnx")


class ExportedModel:
    """Callable ``(B, 3, S, S) float32 numpy -> (B, n) probabilities`` from a .mindir or .onnx file."""

    def __init__(self, path: str):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"exported model not found: {path}")
        self.path = path
        ext = os.path.splitext(path)[1].lower()
        if ext == ".mindir":
            import mindspore as ms
            import mindspore.nn as nn

            self._graph = nn.GraphCell(ms.load(path))
            self._run = self._run_mindir
        elif ext == ".onnx":
            try:
                import onnxruntime as ort
            except ImportError as exc:  # pragma: no cover - depends on the optional extra
                raise ImportError("running .onnx files needs onnxruntime (pip install onnxruntime)") from exc
            self._session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            self._input = self._session.get_inputs()[0].name
            self._run = self._run_onnx
        else:
            raise ValueError(f"{path}: unknown model file type {ext!r}; expected .mindir or .onnx")

    def _run_mindir(self, x):
        import mindspore as ms

        return self._graph(ms.Tensor(x)).asnumpy()

    def _run_onnx(self, x):
        return self._session.run(None, {self._input: x})[0]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self._run(np.ascontiguousarray(x, dtype=np.float32)))


def load_exported(path: str) -> ExportedModel:
    return ExportedModel(path)


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
