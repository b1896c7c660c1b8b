"""An ONNX file with a dynamic batch from MindSpore, which exports ONNX with static shapes only."""
from __future__ import annotations

import os
import tempfile

import numpy as np

from ..fileio import atomic_path


def _batch_free_constant(node1, node2) -> None:
    """Make the Constant ``node1`` (batch 1) batch-free, comparing it with ``node2`` (batch 2), in place."""
    from onnx import numpy_helper

    a1 = numpy_helper.to_array(node1.attribute[0].t)
    a2 = numpy_helper.to_array(node2.attribute[0].t)
    if a1.shape == a2.shape and np.array_equal(a1, a2):
        return
    varying = a1 != a2
    if a1.ndim != 1 or not np.all(a2[varying] == 2 * a1[varying]) or varying.sum() != 1 or (a1 == -1).any():
        raise RuntimeError(f"ONNX constant {node1.output[0]} varies with the batch in a way that cannot be "
                           f"made dynamic: {a1.tolist()} vs {a2.tolist()}")
    fixed = a1.copy()
    fixed[varying] = -1
    node1.attribute[0].t.CopyFrom(numpy_helper.from_array(fixed, node1.attribute[0].t.name))


def export_onnx_dynamic_batch(cell, stem: str, input_size: int) -> str:
    """Write ``<stem>.onnx``: ``cell`` on (batch, 3, S, S) inputs, ``batch`` symbolic; returns the path.

    The cell is exported at batch 1 and at batch 2; the shape constants that differ are exactly
    the batch-dependent ones, and where the batch-2 value is twice the batch-1 value the entry
    becomes -1 (infer). Graph input and output get a symbolic ``batch`` dimension. Anything else
    that differs is an error, never a silent file.
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
        if node1.op_type == "Constant":
            _batch_free_constant(node1, node2)
    for value in list(one.graph.input) + list(one.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    onnx.checker.check_model(one)
    with atomic_path(stem + ".onnx") as part:
        onnx.save(one, part)
    return stem + ".onnx"
