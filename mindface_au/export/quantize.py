"""Post-training int8 quantisation: ONNX Runtime's static QDQ for ONNX, NNCF for an OpenVINO model.

``calibration`` is a sequence of (B, 3, S, S) float32 batches of network inputs
(:mod:`mindface_au.export.calibration`).
"""
from __future__ import annotations

import numpy as np

from .._env import openvino_core
from ..optional import require

QDQ_OPSET = 13  # per-channel DequantizeLinear (its ``axis``) needs opset >= 13


def quantize_onnx(src: str, dst: str, calibration) -> str:
    """Static int8 QDQ quantisation of the fp32 ONNX ``src`` (opset raised to 13) into ``dst``.

    Per-channel int8 weights, uint8 activations, MinMax calibration on the batches.
    """
    import onnx
    from onnx import version_converter

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


def quantize_openvino(model, calibration):
    """An int8 copy of the OpenVINO ``model`` by NNCF: convolutions only (FakeQuantize ops), MatMuls stay float."""
    nncf = require("nncf", "int8 OpenVINO export")
    openvino_core()  # NNCF's compiles then see the whole CPU (mindface_au._env)
    samples = [np.asarray(b[i:i + 1], np.float32) for b in calibration for i in range(len(b))]
    # convolutions only: quantising the MatMuls too (transformer, ARL, dense heads) cost the
    # demo model 1.4 F1 points and 3% of its decisions, convolutions alone 0.3 points and 1.5%
    return nncf.quantize(model, nncf.Dataset(samples), subset_size=len(samples),
                         ignored_scope=nncf.IgnoredScope(types=["MatMul"]))
