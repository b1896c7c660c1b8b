"""Model registry in the mindcv / timm style: ``register_model``, ``create_model``, ``list_models``.

Every registered name carries a :class:`ModelDefaults` (timm's ``pretrained_cfg``): the
architecture arguments the name stands for (``au_net_r50_attention`` -> an IResNet50 with
attention fusion), its input size, normalisation and eval resize, and where its published
weights are (empty until weights are published)::

    net = create_model("au_net_r50_attention")                       # the preset as registered
    net = create_model("au_net_r50_attention", fusion={"dropout": 0.0})   # one section key changed
    net = create_model("au_net", checkpoint_path="best.ckpt")         # weights loaded, strict
    create_model("iresnet100", num_clases=5)                          # TypeError: a typo never passes

Keyword arguments override the defaults; a dict argument (``lrp``, ``arl``, ``fusion``) is merged
into the default's dict key by key. Unknown keywords raise ``TypeError`` (no factory swallows
them). This module imports nothing heavy; building a network imports MindSpore.
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional


@dataclass(frozen=True)
class ModelDefaults:
    """What a registered name stands for besides its code.

    Attributes:
        kwargs: architecture arguments of the factory, e.g. ``{"backbone": "iresnet50",
            "fusion": {"kind": "attention"}}``.
        input_size: square input side S the weights expect.
        norm: input normalisation (``mindface_au.transforms.NORMS`` key).
        resize: eval resize at S = 112 before the centre crop S (:func:`mindface_au.transforms.eval_resize`).
        url: where the published weights are (``file://`` works too); empty until published.
        file: a local weights file (``.ckpt``); empty until published.
    """

    kwargs: dict = field(default_factory=dict)
    input_size: int = 112
    norm: str = "imagenet"
    resize: int = 128
    url: str = ""
    file: str = ""

    def config_values(self) -> Dict[str, object]:
        """The config keys this name decides, as dotted paths -> values (``model.backbone``, ``data.norm``, ...)."""
        out: Dict[str, object] = {"model.input_size": self.input_size, "data.norm": self.norm,
                                  "data.resize": self.resize}
        for key, value in self.kwargs.items():
            if isinstance(value, dict):
                out.update({f"model.{key}.{k}": v for k, v in value.items()})
            else:
                out[f"model.{key}"] = value
        return out


@dataclass(frozen=True)
class _Entry:
    factory: Callable
    kind: str
    defaults: ModelDefaults


_MODELS: Dict[str, _Entry] = {}


def register_model(name: Optional[str] = None, kind: str = "network",
                   defaults: Optional[ModelDefaults] = None) -> Callable:
    """Decorator: register a factory under ``name`` (default: the function's name).

    ``kind`` is ``'network'`` (an AU detector) or ``'backbone'``; ``defaults`` its
    :class:`ModelDefaults` (the factory's own defaults when omitted).
    """

    def wrap(fn: Callable) -> Callable:
        key = name or fn.__name__
        if key in _MODELS:
            raise ValueError(f"model {key!r} is registered twice")
        _MODELS[key] = _Entry(fn, kind, defaults or ModelDefaults())
        return fn

    return wrap


def list_models(kind: Optional[str] = None) -> list:
    """Registered names, optionally only those of one kind ('backbone' or 'network')."""
    return sorted(k for k, e in _MODELS.items() if kind is None or e.kind == kind)


def _entry(name: str) -> _Entry:
    if name not in _MODELS:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(list_models())}")
    return _MODELS[name]


def model_defaults(name: str) -> ModelDefaults:
    """The :class:`ModelDefaults` of a registered name."""
    return _entry(name).defaults


def merge_kwargs(base: dict, update: dict) -> dict:
    """``base`` updated by ``update``; dict values are merged one level deep (section keys)."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def create_model(name: str, pretrained: bool = False, checkpoint_path: Optional[str] = None, **kwargs):
    """Build a registered model; ``kwargs`` override its :class:`ModelDefaults` ``kwargs``.

    Args:
        name: a name of :func:`list_models`.
        pretrained: load the name's published weights (``defaults.file`` or ``defaults.url``);
            an error when the name has none yet.
        checkpoint_path: a ``.ckpt`` (ours, or converted with ``mindface-au convert``) loaded
            strictly after building (and after ``pretrained``).
        kwargs: the factory's arguments; unknown ones raise ``TypeError``.

    Returns:
        The Cell, with ``default_cfg`` (its :class:`ModelDefaults`) attached.
    """
    entry = _entry(name)
    args = merge_kwargs(entry.defaults.kwargs, kwargs)
    args.setdefault("input_size", entry.defaults.input_size)  # every registered factory takes it
    net = entry.factory(**args)
    net.default_cfg = entry.defaults
    if pretrained:
        from ..weights import load_pretrained

        load_pretrained(net, name, entry.defaults)
    if checkpoint_path:
        from ..weights import load_weights

        load_weights(net, os.fspath(checkpoint_path))
    return net


__all__ = ["ModelDefaults", "register_model", "list_models", "model_defaults", "create_model", "merge_kwargs"]
