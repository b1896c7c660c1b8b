"""Networks and the model registry (``create_model``, ``build_model``, ``list_models``)."""
from .registry import create_model, list_models, register_model
from . import iresnet  # noqa: F401  (registers the backbones)
from .au_net import AUNet, WithSigmoid, build_model

__all__ = ["AUNet", "WithSigmoid", "build_model", "create_model", "list_models", "register_model"]
