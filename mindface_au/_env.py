"""The process environment MindSpore needs, set once before its first op (imported by ``mindface_au``).

``ONEDNN_MAX_CPU_ISA=AVX2`` unless the user set it: on AVX-512 CPUs MindSpore's oneDNN
otherwise picks a reference convolution that is 75-100x slower. Every ``mindface_au``
submodule import runs the package ``__init__`` first, which imports this module, so
importing any part of the package before MindSpore runs is enough.
"""
import os

os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
