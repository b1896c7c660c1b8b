"""Which formats export writes (and their file extensions) and in which precisions."""
from __future__ import annotations

FORMATS = {"MINDIR": ".mindir", "ONNX": ".onnx", "OPENVINO": ".xml"}
PRECISIONS = {"MINDIR": ("fp32",), "ONNX": ("fp32", "int8"), "OPENVINO": ("fp32", "bf16", "int8")}


def check_format_precision(fmt: str, precision: str) -> None:
    """Raise ValueError unless ``fmt`` can be exported in ``precision``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {sorted(FORMATS)}")
    if precision not in PRECISIONS[fmt]:
        raise ValueError(f"format {fmt} cannot be exported in {precision!r}; it takes {PRECISIONS[fmt]}"
                         + ("; bf16 is an OpenVINO runtime precision: use --format OPENVINO" if precision == "bf16"
                            else ""))
