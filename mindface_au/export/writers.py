"""Write an AU network as MindIR, ONNX or an OpenVINO IR with a dynamic batch, in fp32 or int8.

The exported graph maps (B, 3, S, S) float32 normalised images to (B, n) probabilities (the
network followed by sigmoid), or for a network with the intensity head (``model.intensity``) to
(B, 2n): the n probabilities, then the n intensities in [0, 5] (:mod:`mindface_au.outputs`).

* ``MINDIR``: fp32.
* ``ONNX``: fp32 (opset 11, what MindSpore writes), or ``int8``: opset 13, quantised by ONNX
  Runtime (:func:`~mindface_au.export.quantize.quantize_onnx`).
* ``OPENVINO``: an IR (``.xml`` + ``.bin``) converted from that ONNX. ``fp32`` / ``bf16`` are the
  same fp32 IR (bf16 is the runtime's precision hint, written to the sidecar); ``int8``: quantised
  by NNCF (:func:`~mindface_au.export.quantize.quantize_openvino`), FakeQuantize ops in the IR.

The ONNX file and the IR carry the model's AU names (ONNX ``metadata_props``, OpenVINO ``rt_info``,
key :data:`mindface_au.sidecar.AU_NAMES_KEY`) and, with the intensity head only,
:data:`mindface_au.sidecar.INTENSITY_KEY` (:func:`mindface_au.sidecar.exported_metadata`); a MindIR
file has no room for them: its sidecar does.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from typing import Dict, Optional, Sequence

from ..constants import AU_NAMES
from ..fileio import atomic_path
from ..optional import require
from ..sidecar import exported_metadata
from .formats import FORMATS, check_format_precision
from .onnx_batch import export_onnx_dynamic_batch
from .quantize import quantize_onnx, quantize_openvino


def export_model(net, path: str, fmt: str = "MINDIR", input_size: int = 112, precision: str = "fp32",
                 calibration=None, au_names: Optional[Sequence[str]] = None) -> str:
    """Export ``net`` (an AUNet) with sigmoid and a dynamic batch; returns the written file's path.

    ``calibration``: for ``precision='int8'``, a sequence of (B, 3, S, S) float32 batches of
    network inputs (:mod:`mindface_au.export.calibration`). ``au_names``: the n AUs of the outputs
    (the config's ``data.aus``; default Aff-Wild2's 12), written into ONNX and OpenVINO files with
    whether ``net`` has the intensity head (``net.use_intensity``: a (B, 2n) output).
    """
    au_names = tuple(au_names or AU_NAMES)
    import mindspore as ms

    from ..engine.predict import sigmoid_cell

    fmt, precision = fmt.upper(), precision.lower()
    check_format_precision(fmt, precision)
    if precision == "int8" and not calibration:
        raise ValueError("int8 export needs calibration batches")
    wrapped = sigmoid_cell(net)
    metadata = exported_metadata(au_names, getattr(net, "use_intensity", False))
    stem = path[: -len(FORMATS[fmt])] if path.lower().endswith(FORMATS[fmt]) else path
    os.makedirs(os.path.dirname(os.path.abspath(stem)) or ".", exist_ok=True)
    out = stem + FORMATS[fmt]
    if fmt == "MINDIR":
        dummy = ms.Tensor(shape=[None, 3, input_size, input_size], dtype=ms.float32)
        ms.export(wrapped, dummy, file_name=stem, file_format=fmt)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            onnx_path = export_onnx_dynamic_batch(wrapped, os.path.join(tmp, "fp32"), input_size)
            if fmt == "ONNX" and precision == "int8":
                onnx_path = quantize_onnx(onnx_path, os.path.join(tmp, "int8.onnx"), calibration)
            if fmt == "ONNX":
                with atomic_path(out) as part:
                    write_onnx_metadata(onnx_path, part, metadata)
            else:
                onnx_to_openvino(onnx_path, out, calibration if precision == "int8" else None, metadata)
    if not os.path.isfile(out):
        raise RuntimeError(f"export wrote no file at {out}")
    return out


def write_onnx_metadata(src: str, dst: str, metadata: Dict[str, str]) -> str:
    """Copy the ONNX file ``src`` to ``dst`` with the entries of ``metadata`` in its ``metadata_props``
    (:func:`mindface_au.sidecar.exported_metadata`: the AU names, the intensity mark)."""
    onnx = require("onnx", "ONNX export")
    model = onnx.load(src)
    kept = [p for p in model.metadata_props if p.key not in metadata]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, dst)
    return dst


def onnx_to_openvino(src: str, dst: str, calibration=None, metadata: Optional[Dict[str, str]] = None) -> str:
    """An OpenVINO IR at ``dst`` (.xml + .bin) from the ONNX ``src``, batch dynamic; int8 by NNCF with
    calibration; ``metadata`` (default: Aff-Wild2's AU names, :func:`mindface_au.sidecar.exported_metadata`)
    in its ``rt_info``."""
    ov = require("openvino", "OpenVINO export")
    model = ov.convert_model(src)
    for key, value in (metadata or exported_metadata(AU_NAMES)).items():
        model.set_rt_info(value, key)
    shape = model.input(0).get_partial_shape()
    shape[0] = -1
    model.reshape({model.input(0): shape})
    if calibration is not None:
        model = quantize_openvino(model, calibration)
    folder = os.path.dirname(os.path.abspath(dst))
    stem = os.path.splitext(os.path.basename(dst))[0]
    with tempfile.TemporaryDirectory(prefix=f".{stem}.", dir=folder) as tmp:
        ov.save_model(model, os.path.join(tmp, stem + ".xml"), compress_to_fp16=False)
        for ext in (".bin", ".xml"):  # the .xml last: a reader never finds a new .xml with an old .bin
            with atomic_path(os.path.splitext(dst)[0] + ext) as part:
                shutil.copyfile(os.path.join(tmp, stem + ext), part)
    return dst
