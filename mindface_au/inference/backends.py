"""Inference backends: one callable ``(B, 3, S, S) float32 -> (B, n) float32 probabilities`` per runtime
(``(B, 2n)`` for a model with the intensity head: the probabilities, then the 0-5 intensities).

=================  =========================  ==========================================================
file               default backend            precision
=================  =========================  ==========================================================
``*.xml`` (+.bin)  OpenVINO (an IR)           ``INFERENCE_PRECISION_HINT``: the CPU's best (bf16 on AMX /
                                              AVX512-BF16, else fp32) unless ``precision`` says otherwise;
                                              an int8 (NNCF) IR runs its int8 ops whatever the hint
``*.onnx``         ONNX Runtime               what the file holds: fp32, or int8 when it has QDQ nodes;
                   (``runtime='openvino'``:
                   the ONNX in OpenVINO)
``*.mindir``       MindSpore (``GraphCell``)  fp32
=================  =========================  ==========================================================

:func:`open_backend` picks the runtime from the file (``runtime`` overrides it). Every runtime is
imported when first needed, so ONNX and OpenVINO inference work without MindSpore installed; a
missing optional package raises an ``ImportError`` naming the install command.

On a CPU without bf16 (AMX-BF16 / AVX512-BF16) a bf16 request runs fp32 instead, and on one
without int8 dot products (AMX-INT8 / AVX512-VNNI / AVX-VNNI) an int8 file runs unaccelerated;
both are said once per process (:func:`note_once`).
"""
from __future__ import annotations

import functools
import os
from typing import Dict, Optional

import numpy as np

from ..engine.predict import cell_forward, predict_array
from .. import _env
from ..optional import note_once, require
from ..sidecar import AU_NAMES_KEY, INTENSITY_KEY, decode_au_names, decode_intensity, read_sidecar

PRECISIONS = ("fp32", "bf16", "int8")
RUNTIMES = ("openvino", "onnxruntime", "mindspore")
EXTENSIONS = {".xml": "openvino", ".onnx": "onnxruntime", ".mindir": "mindspore"}
CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16",
             "amx_int8")

# oneDNN's ISA names (``ONEDNN_MAX_CPU_ISA``) -> the CPU_FLAGS that kernels under that cap may use
_AVX512 = ("avx2", "avx512f")
ONEDNN_ISA_FLAGS = {"SSE41": (), "AVX": (), "AVX2": ("avx2",), "AVX2_VNNI": ("avx2", "avx_vnni"),
                    "AVX2_VNNI_2": ("avx2", "avx_vnni"), "AVX512_CORE": _AVX512,
                    "AVX512_CORE_VNNI": _AVX512 + ("avx512_vnni",),
                    "AVX512_CORE_BF16": _AVX512 + ("avx512_vnni", "avx512_bf16"),
                    "AVX512_CORE_FP16": _AVX512 + ("avx512_vnni", "avx512_bf16", "avx512_fp16"),
                    "AVX512_CORE_AMX": _AVX512 + ("avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")}
ONEDNN_ISA_FLAGS.update(AVX10_1_512=ONEDNN_ISA_FLAGS["AVX512_CORE_FP16"], AVX512_CORE_AMX_FP16=CPU_FLAGS,
                        AVX10_1_512_AMX=ONEDNN_ISA_FLAGS["AVX512_CORE_AMX"], AVX10_1_512_AMX_FP16=CPU_FLAGS)


@functools.lru_cache(maxsize=None)
def cpu_flags() -> Dict[str, bool]:
    """The CPU features that matter for speed (``CPU_FLAGS``) that OpenVINO may use in this process:
    /proc/cpuinfo's (all False elsewhere), less those above a ``ONEDNN_MAX_CPU_ISA`` the user set
    (the package's own cap is lifted for OpenVINO: :func:`mindface_au._env.openvino_core`)."""
    found = set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    found = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    user_cap = "" if _env.OWN_CAP else os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper()
    allowed = ONEDNN_ISA_FLAGS.get(user_cap, CPU_FLAGS)  # no cap, or one this table does not know: all
    return {flag: flag in found and flag in allowed for flag in CPU_FLAGS}


def has_bf16(flags: Optional[Dict[str, bool]] = None) -> bool:
    flags = cpu_flags() if flags is None else flags
    return bool(flags.get("amx_bf16") or flags.get("avx512_bf16"))


def has_int8(flags: Optional[Dict[str, bool]] = None) -> bool:
    flags = cpu_flags() if flags is None else flags
    return bool(flags.get("amx_int8") or flags.get("avx512_vnni") or flags.get("avx_vnni"))


def best_precision(flags: Optional[Dict[str, bool]] = None) -> str:
    """The fastest float precision of this CPU: ``'bf16'`` with AMX-BF16 / AVX512-BF16, else ``'fp32'``."""
    return "bf16" if has_bf16(flags) else "fp32"


def resolve_precision(requested: Optional[str], flags: Optional[Dict[str, bool]] = None) -> str:
    """``requested`` (None = the CPU's best float precision) as this CPU can run it; a fallback is said once."""
    if requested is None:
        return best_precision(flags)
    requested = requested.lower()
    if requested not in PRECISIONS:
        raise ValueError(f"unknown precision {requested!r}; expected one of {PRECISIONS}")
    if requested == "bf16" and not has_bf16(flags):
        note_once("this CPU has no AMX-BF16 or AVX512-BF16: running fp32 instead of bf16")
        return "fp32"
    if requested == "int8" and not has_int8(flags):
        note_once("this CPU has no AMX-INT8 or VNNI: int8 runs without acceleration (fp32 may be as fast)")
    return requested


def runtime_for(path: str, runtime: Optional[str] = None) -> str:
    """The runtime that runs ``path``: ``runtime`` when given, else chosen by the file's extension."""
    if runtime is not None:
        if runtime not in RUNTIMES:
            raise ValueError(f"unknown runtime {runtime!r}; expected one of {RUNTIMES}")
        return runtime
    ext = os.path.splitext(path)[1].lower()
    if ext not in EXTENSIONS:
        raise ValueError(f"{path}: unknown model file type {ext!r}; expected one of {sorted(EXTENSIONS)} "
                         "(OpenVINO IR, ONNX, MindIR) or a checkpoint (.ckpt, through --ckpt)")
    return EXTENSIONS[ext]


def onnx_is_quantized(path: str) -> bool:
    """Whether an ONNX file holds QuantizeLinear / DequantizeLinear nodes (a QDQ int8 model)."""
    onnx = require("onnx", "reading ONNX files")
    model = onnx.load(path, load_external_data=False)
    return any(n.op_type in ("QuantizeLinear", "DequantizeLinear", "QLinearConv") for n in model.graph.node)


def onnx_metadata(path: str) -> Dict[str, str]:
    """The text entries of an ONNX file's ``metadata_props``."""
    onnx = require("onnx", "reading ONNX files")
    return {p.key: p.value for p in onnx.load(path, load_external_data=False).metadata_props}


def onnx_au_names(path: str) -> Optional[tuple]:
    """The AU names an ONNX file stores in its ``metadata_props`` (None when it stores none)."""
    return decode_au_names(onnx_metadata(path).get(AU_NAMES_KEY))


def _openvino_metadata(model) -> Dict[str, str]:
    """Our entries (AU names, intensity) of an OpenVINO model's ``rt_info`` that it holds."""
    return {key: str(model.get_rt_info(key).astype(str)) for key in (AU_NAMES_KEY, INTENSITY_KEY)
            if model.has_rt_info(key)}


def default_threads() -> int:
    """Threads for a runtime: ``OMP_NUM_THREADS`` when set, else the cores this process may use."""
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():
        return int(os.environ["OMP_NUM_THREADS"])
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class Backend:
    """Base: ``backend(x (B, 3, S, S) float32) -> (B, n) or (B, 2n) float32``; ``runtime``, ``precision``,
    ``path``; ``au_names``: the n AU names the file stores (None when it stores none: a MindIR file, an
    older export); ``intensity``: whether the file says its output has the n intensities after the n
    probabilities (None when it has no room to say: MindIR, a Cell)."""

    runtime = "?"
    precision = "fp32"
    path = None
    au_names = None
    intensity = None

    def _read_metadata(self, metadata: Dict[str, str]) -> None:
        """``au_names`` and ``intensity`` from the file's text entries (an absent intensity key: none)."""
        self.au_names = decode_au_names(metadata.get(AU_NAMES_KEY))
        self.intensity = decode_intensity(metadata.get(INTENSITY_KEY))

    def run(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.run(np.ascontiguousarray(x, dtype=np.float32)), np.float32)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r}, precision={self.precision!r})"


class OpenVINOBackend(Backend):
    """An OpenVINO IR (``.xml``) or an ONNX file compiled by OpenVINO for the CPU.

    ``precision``: None = the CPU's best float precision (:func:`best_precision`); ``'fp32'`` or
    ``'bf16'`` set ``INFERENCE_PRECISION_HINT``; an int8 IR keeps its int8 ops under either.
    """

    runtime = "openvino"

    def __init__(self, path: str, precision: Optional[str] = None, threads: Optional[int] = None):
        self.path = path
        core = _env.openvino_core()
        model = core.read_model(path)
        quantized = any(op.get_type_name() == "FakeQuantize" for op in model.get_ops())
        if precision == "int8" and not quantized:
            raise ValueError(f"{path} is not quantised; export it with --precision int8")
        if precision is None and not quantized:  # what the export asked for, else the CPU's best
            precision = _stored_precision(path)
        float_precision = resolve_precision(None if precision == "int8" else precision)
        self.precision = resolve_precision("int8") if quantized else float_precision
        config = {"INFERENCE_PRECISION_HINT": {"bf16": "bf16", "fp32": "f32"}[float_precision],
                  "PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": int(threads or default_threads())}
        metadata = _openvino_metadata(model)
        self._read_metadata(metadata if metadata or not path.lower().endswith(".onnx") else onnx_metadata(path))
        self._compiled = core.compile_model(model, "CPU", config)
        self._request = self._compiled.create_infer_request()
        self._output = self._compiled.outputs[0]

    def run(self, x):
        return self._request.infer({0: x})[self._output]


class OnnxRuntimeBackend(Backend):
    """An ONNX file in ONNX Runtime's CPU provider: fp32, or int8 when it holds QDQ nodes."""

    runtime = "onnxruntime"

    def __init__(self, path: str, precision: Optional[str] = None, threads: Optional[int] = None):
        ort = require("onnxruntime", "running ONNX files")
        self.path = path
        stored = "int8" if onnx_is_quantized(path) else "fp32"
        if precision not in (None, stored):
            raise ValueError(f"{path}: ONNX Runtime runs this file in {stored} as it is (precision {precision!r} "
                             f"asked); export with --precision {precision}, or run it in OpenVINO (runtime 'openvino')")
        self.precision = resolve_precision(stored) if stored == "int8" else "fp32"
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads or default_threads())
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._read_metadata(self._session.get_modelmeta().custom_metadata_map)

    def run(self, x):
        return self._session.run(None, {self._input: x})[0]


class MindIRBackend(Backend):
    """A MindIR file through ``ms.load`` + ``nn.GraphCell`` (MindSpore Lite has no wheel for Python 3.11)."""

    runtime = "mindspore"

    def __init__(self, path: str, precision: Optional[str] = None, threads: Optional[int] = None):
        if precision not in (None, "fp32"):
            raise ValueError(f"{path}: MindIR runs in fp32 only (precision {precision!r} asked); "
                             "export to OPENVINO or ONNX for bf16 / int8")
        require("mindspore", "running MindIR files")
        import mindspore as ms
        import mindspore.nn as nn

        self.path = path
        self._graph = nn.GraphCell(ms.load(path))

    def run(self, x):
        import mindspore as ms

        return self._graph(ms.Tensor(x)).asnumpy()


class CellBackend(Backend):
    """A MindSpore Cell (``WithSigmoid(net)`` in eval mode, :func:`~mindface_au.engine.predict.sigmoid_cell`); fp32.

    Runs through :func:`~mindface_au.engine.predict.predict_array` in batches of ``batch_size``, a
    short last batch zero-padded to a power of two: GRAPH_MODE compiles once per input shape.
    """

    runtime = "mindspore"

    def __init__(self, cell, path: Optional[str] = None, batch_size: int = 32):
        self._forward = cell_forward(cell)
        self.path = path
        self.batch_size = int(batch_size)

    def run(self, x):
        return predict_array(self._forward, x, self.batch_size, pad_last=True)


BACKENDS = {"openvino": OpenVINOBackend, "onnxruntime": OnnxRuntimeBackend, "mindspore": MindIRBackend}


def _stored_precision(path: str) -> Optional[str]:
    """The precision written into the model's ``.json`` sidecar by export (None when absent)."""
    return (read_sidecar(path) or {}).get("precision")


def open_backend(path: str, precision: Optional[str] = None, runtime: Optional[str] = None,
                 threads: Optional[int] = None) -> Backend:
    """The backend that runs the exported file ``path`` (runtime chosen from the file unless ``runtime``)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"exported model not found: {path}")
    return BACKENDS[runtime_for(path, runtime)](path, precision=precision, threads=threads)
