"""Networks and the model registry (``register_model``, ``list_models``, ``model_defaults``).

Building a registered name with its defaults and weights is :mod:`mindface_au.factory`
(``create_model``, ``build_model``), also ``mindface_au.create_model``.
"""
from .registry import ModelDefaults, list_models, model_defaults, model_entrypoint, register_model
from . import iresnet  # noqa: F401  (registers the backbones)
from .au_net import AUNet, PooledFeatures, WithSigmoid

__all__ = ["AUNet", "PooledFeatures", "WithSigmoid", "ModelDefaults", "list_models", "model_defaults",
           "model_entrypoint", "register_model"]
