"""Export to MindIR / ONNX / OpenVINO IR with a dynamic batch, in fp32, bf16 or int8, and check the files.

One job per module:

* :mod:`.formats`: the formats and the precisions each takes;
* :mod:`.writers`: :func:`export_model` (the network followed by sigmoid, (B, 3, S, S) -> (B, n), or
  (B, 2n) with the intensity head: probabilities, then intensities);
* :mod:`.onnx_batch`: ONNX with a dynamic batch from MindSpore's static-shape export;
* :mod:`.quantize`: int8 by ONNX Runtime (QDQ) or NNCF (OpenVINO);
* :mod:`.calibration`: the frames to calibrate and check on, from the config's data set or a path;
* :mod:`.agreement`: how an exported file agrees with the fp32 Cell (probabilities, intensities);
* :mod:`.check`: running a file in a fresh process in batches (``python -m mindface_au.export``).
"""
from .agreement import OutputDiff, agreement_report, output_diff
from .calibration import as_batches, calibration_batches, crops_from_path, path_arrays, split_arrays
from .check import load_exported, max_diff_on_random_inputs, run_in_fresh_process
from .formats import FORMATS, PRECISIONS, check_format_precision
from .quantize import QDQ_OPSET, quantize_onnx, quantize_openvino
from .writers import export_model, onnx_to_openvino

__all__ = ["FORMATS", "OutputDiff", "PRECISIONS", "QDQ_OPSET", "agreement_report", "as_batches",
           "calibration_batches", "check_format_precision", "crops_from_path", "export_model", "load_exported",
           "max_diff_on_random_inputs", "onnx_to_openvino", "output_diff", "path_arrays", "quantize_onnx",
           "quantize_openvino", "run_in_fresh_process", "split_arrays"]
