"""Model registry in the mindcv / timm style: ``register_model``, ``list_models``, ``model_entrypoint``.

Each registered name pairs the code that builds it (the decorated factory) with its
:class:`~mindface_au.presets.ModelDefaults` (:mod:`mindface_au.presets`: the name's kind,
architecture arguments, input size, normalisation, eval resize, published weights). Building a
name with its defaults and weights is :func:`mindface_au.factory.create_model`. This module
imports nothing of the package but the presets, and nothing heavy.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Dict, Optional

from ..presets import PRESETS, ModelDefaults, add_preset, model_defaults

_MODELS: Dict[str, Callable] = {}


def register_model(name: Optional[str] = None, kind: str = "network",
                   defaults: Optional[ModelDefaults] = None) -> Callable:
    """Decorator: register a factory under ``name`` (default: the function's name).

    ``kind`` is ``'network'`` (an AU detector) or ``'backbone'``. ``defaults`` (its kind set to
    ``kind``) become the name's preset; a name :mod:`mindface_au.presets` lists keeps the preset
    there, and other ``defaults`` for it are an error.
    """

    def wrap(fn: Callable) -> Callable:
        key = name or fn.__name__
        if key in _MODELS:
            raise ValueError(f"model {key!r} is registered twice")
        base = defaults or PRESETS.get(key) or ModelDefaults()
        add_preset(key, replace(base, kind=kind))
        _MODELS[key] = fn
        return fn

    return wrap


def list_models(kind: Optional[str] = None) -> list:
    """Registered names, optionally only those of one kind ('backbone' or 'network')."""
    return sorted(k for k in _MODELS if kind is None or PRESETS[k].kind == kind)


def model_entrypoint(name: str) -> Callable:
    """The factory registered under ``name`` (builds the architecture only: no defaults merged, no weights)."""
    if name not in _MODELS:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(list_models())}")
    return _MODELS[name]


__all__ = ["ModelDefaults", "register_model", "list_models", "model_defaults", "model_entrypoint"]
