"""Networks and the model registry (``create_model``, ``build_model``, ``list_models``, ``model_defaults``)."""
from .registry import ModelDefaults, create_model, list_models, model_defaults, register_model
from . import iresnet  # noqa: F401  (registers the backbones)
from .au_net import AUNet, WithSigmoid, build_model

__all__ = ["AUNet", "WithSigmoid", "ModelDefaults", "build_model", "create_model", "list_models", "model_defaults",
           "register_model"]
