"""mindface_au: facial Action Unit detection (Yu et al., ABAW5 2023) in MindSpore.

Importing the package imports neither MindSpore nor OpenCV: the numpy-only parts (metrics,
smoothing, submission files, ONNX/OpenVINO inference) load without them. ``create_model``,
``build_model``, ``AUPredictor``, ``AUDetector`` ... are imported on first use. The package
sets the CPU environment MindSpore needs (:mod:`mindface_au._env`) before anything else, so
import ``mindface_au`` before MindSpore runs its first op.
"""
from . import _env  # noqa: F401  (first: ONEDNN_MAX_CPU_ISA)
from .constants import AU_NAMES, NUM_AUS, RARE_AUS

__version__ = "0.1.0"

#: public name -> module that defines it (imported on first access)
_LAZY = {
    "ConfigError": "config", "load_config": "config",
    "build_model": "factory", "create_model": "factory",
    "list_models": "models", "register_model": "models", "model_defaults": "presets",
    "AUPredictor": "inference.predictor",
    "AUDetector": "inference.detector",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["AU_NAMES", "NUM_AUS", "RARE_AUS", "__version__", *_LAZY]
