"""Model registry in the mindcv style: ``register_model`` / ``create_model`` / ``list_models``."""
from __future__ import annotations

from typing import Callable, Dict, Optional

_MODELS: Dict[str, Callable] = {}
_KINDS: Dict[str, str] = {}


def register_model(name: Optional[str] = None, kind: str = "network") -> Callable:
    """Decorator: register a factory under ``name`` (default: the function's name)."""

    def wrap(fn: Callable) -> Callable:
        key = name or fn.__name__
        if key in _MODELS:
            raise ValueError(f"model {key!r} is registered twice")
        _MODELS[key] = fn
        _KINDS[key] = kind
        return fn

    return wrap


def list_models(kind: Optional[str] = None) -> list:
    """Registered names, optionally only those of one kind ('backbone' or 'network')."""
    return sorted(k for k in _MODELS if kind is None or _KINDS[k] == kind)


def create_model(name: str, **kwargs):
    """Build a registered model, e.g. ``create_model('iresnet100')`` or ``create_model('au_net_r50')``."""
    if name not in _MODELS:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(list_models())}")
    return _MODELS[name](**kwargs)
