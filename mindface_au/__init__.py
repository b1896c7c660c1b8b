"""mindface_au: facial Action Unit detection (Yu et al., ABAW5 2023) in MindSpore.

Importing the package sets ``ONEDNN_MAX_CPU_ISA=AVX2`` unless the user set it: on AVX-512
CPUs MindSpore's oneDNN otherwise picks a reference convolution that is 75-100x slower.
It must happen before MindSpore runs its first op, so import ``mindface_au`` first.
"""
import os

os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")

from .constants import AU_NAMES, NUM_AUS, RARE_AUS  # noqa: E402
from .config import ConfigError, load_config  # noqa: E402

__version__ = "0.1.0"


def __getattr__(name):  # lazy: models need MindSpore, inference OpenCV (ONNX/OpenVINO run without MindSpore)
    if name in ("build_model", "create_model", "list_models", "register_model"):
        from . import models

        return getattr(models, name)
    if name == "AUPredictor":
        from .inference.predictor import AUPredictor

        return AUPredictor
    raise AttributeError(name)


__all__ = ["AU_NAMES", "NUM_AUS", "RARE_AUS", "ConfigError", "load_config", "build_model", "create_model",
           "list_models", "register_model", "AUPredictor", "__version__"]
