"""The process environment MindSpore needs, set once before its first op (imported by ``mindface_au``).

``ONEDNN_MAX_CPU_ISA=AVX2`` unless the user set it: on AVX-512 CPUs MindSpore's oneDNN
otherwise picks a reference convolution that is 75-100x slower. Every ``mindface_au``
submodule import runs the package ``__init__`` first, which imports this module, so
importing any part of the package before MindSpore runs is enough.

The cap is for MindSpore. OpenVINO's CPU plugin carries its own oneDNN, which reads the same
variable once, at its first compile; :func:`openvino_core` lifts the cap for that moment, so
OpenVINO sees the whole CPU (AVX-512, VNNI, bf16). Capped, OpenVINO 2026.4 on an AVX512-BF16
CPU fails to compile a bf16 Softmax ("Supported primitive descriptors list is empty").
"""
import os

#: the cap this module set (None: the user set ``ONEDNN_MAX_CPU_ISA``, which is then left to every library)
OWN_CAP = None if "ONEDNN_MAX_CPU_ISA" in os.environ else "AVX2"
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")

_openvino_seen = False


def openvino_core():
    """An ``openvino.Core``; the process's first call compiles a one-op model with this module's cap
    lifted (OpenVINO's oneDNN reads its ISA then, once), and puts the cap back for MindSpore, whose
    oneDNN reads it at its own first op. Every OpenVINO compile of the package goes through here."""
    global _openvino_seen
    from .optional import require

    ov = require("openvino", "running OpenVINO models")
    core = ov.Core()
    if not _openvino_seen and OWN_CAP is not None and os.environ.get("ONEDNN_MAX_CPU_ISA") == OWN_CAP:
        import numpy as np

        del os.environ["ONEDNN_MAX_CPU_ISA"]
        try:
            x = ov.opset13.parameter([1, 1], np.float32)
            core.compile_model(ov.Model([ov.opset13.relu(x)], [x]), "CPU")
        finally:
            os.environ["ONEDNN_MAX_CPU_ISA"] = OWN_CAP
    _openvino_seen = True
    return core
