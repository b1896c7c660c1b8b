"""The model factory: a registered name, a config, a checkpoint or a conversion -> a network with its weights.

Layer 4 (assembly): it joins the registry's code (:mod:`mindface_au.models`), the names'
defaults (:mod:`mindface_au.presets`), the configs (:mod:`mindface_au.config`), weight loading
(:mod:`mindface_au.weights`) and the ``.pth`` mapping (:mod:`mindface_au.convert`)::

    net = create_model("au_net_r50_attention")                       # the preset as registered
    net = create_model("au_net_r50_attention", fusion={"dropout": 0.0})   # one section key changed
    net = create_model("au_net", checkpoint_path="best.ckpt")         # weights loaded, strict
    create_model("iresnet100", num_clases=5)                          # TypeError: a typo never passes

Keyword arguments override the defaults; a dict argument (``lrp``, ``arl``, ``fusion``) is merged
into the default's dict key by key. Unknown keywords raise ``TypeError`` (no factory swallows
them). Building a network imports MindSpore.
"""
from __future__ import annotations

import copy
import os
import warnings
from typing import Iterable, Optional

from .checkpoint import check_au_names, checkpoint_au_names, load_checkpoint_meta
from .config import ConfigError, config_au_names, load_config
from .convert import KINDS, convert_state_dict, read_state_dict, resolve_arch, sha256_file
from .models import model_defaults, model_entrypoint
from .presets import ModelDefaults
from .weights import download_weights, is_torch_file, load_weights


def _merge_kwargs(base: dict, update: dict) -> dict:
    """``base`` updated by ``update``; dict values are merged one level deep (section keys)."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def create_model(name: str, pretrained: bool = False, checkpoint_path: Optional[str] = None, **kwargs):
    """Build a registered model; ``kwargs`` override its :class:`~mindface_au.presets.ModelDefaults` ``kwargs``.

    Args:
        name: a name of :func:`mindface_au.models.list_models`.
        pretrained: load the name's published weights (``defaults.file`` or ``defaults.url``);
            an error when the name has none yet.
        checkpoint_path: a ``.ckpt`` (ours, or converted with ``mindface-au convert``) or a
            ``.pth`` loaded strictly after building (and after ``pretrained``).
        kwargs: the factory's arguments; unknown ones raise ``TypeError``.

    Returns:
        The Cell, with ``default_cfg`` (its ``ModelDefaults``) attached.
    """
    factory = model_entrypoint(name)
    defaults = model_defaults(name)
    args = _merge_kwargs(defaults.kwargs, kwargs)
    args.setdefault("input_size", defaults.input_size)  # every registered factory takes it
    net = factory(**args)
    net.default_cfg = defaults
    if pretrained:
        load_pretrained(net, name, defaults)
    if checkpoint_path:
        load_weights(net, os.fspath(checkpoint_path))
    return net


def load_pretrained(net, name: str, defaults: ModelDefaults) -> dict:
    """The published weights of the registered ``name`` (``defaults.file``, else ``defaults.url``) into ``net``."""
    if defaults.file:
        path = defaults.file
    elif defaults.url:
        path = download_weights(defaults.url)
    else:
        raise ValueError(f"create_model({name!r}, pretrained=True): no weights are published for {name!r} yet "
                         "(its ModelDefaults has an empty url and file); pass checkpoint_path=FILE, a checkpoint "
                         "of yours or one converted with `mindface-au convert`, or pretrained=False")
    return load_weights(net, path)


#: ``cfg['model']`` keys that are not arguments of the network factory.
NOT_ARCHITECTURE = ("name", "backbone_init")


def build_model(cfg: dict):
    """The network of a loaded config: ``create_model(cfg['model']['name'], **architecture keys)``.

    :func:`mindface_au.config.load_config` has already put the preset's choices into every
    ``model`` key the recipe, its bases and ``--set`` left unset, so the config says what is built.
    """
    m = cfg["model"]
    return create_model(m["name"], **{k: v for k, v in m.items() if k not in NOT_ARCHITECTURE})


def restore_model(cfg: dict, ckpt_path: Optional[str] = None):
    """``(net, meta)``: the config's network with the checkpoint's weights (strict), in eval mode.

    Without ``ckpt_path`` the weights stay random and a warning says so. A ``.ckpt`` whose AUs are
    not the config's ``data.aus`` is refused (ValueError naming both sets) before any weight is read.
    """
    if ckpt_path and os.path.isfile(ckpt_path) and not is_torch_file(ckpt_path):
        check_au_names(checkpoint_au_names(load_checkpoint_meta(ckpt_path)), config_au_names(cfg), ckpt_path)
    net = build_model(cfg)
    meta: dict = {}
    if ckpt_path:
        meta = load_weights(net, ckpt_path)["meta"]
    else:
        warnings.warn("no checkpoint given: the network has RANDOM weights", stacklevel=2)
    net.set_train(False)
    return net, meta


def config_from_checkpoint(ckpt_path: Optional[str], config_path: Optional[str], overrides=()) -> dict:
    """The config to rebuild a checkpoint's network: ``--config`` if given, else the one saved in it."""
    if config_path or not ckpt_path:
        return load_config(config_path, overrides)
    meta = load_checkpoint_meta(ckpt_path)
    if "config" not in meta:
        raise ValueError(f"{ckpt_path} holds no config: pass --config")
    return load_config(None, overrides, initial=meta["config"], initial_source=f"{ckpt_path} (saved config)")


def build_conversion_target(kind: str, arch: Optional[str] = None, config: Optional[str] = None,
                            overrides: Iterable[str] = ()):
    """``(net, cfg)``: the MindSpore network a conversion fills, and the resolved config.

    ``insightface``: the bare backbone (``--arch``, or the config's ``model.backbone``) at the
    config's ``model.input_size``. ``authors``: the whole AU net of the config (defaults = the
    paper's model) with ``model.backbone`` set from ``arch``. A config naming another backbone
    than ``arch`` is an error.
    """
    cfg = load_config(config, overrides)
    if arch is not None:
        backbone = resolve_arch(arch)
        if config is not None and cfg["model"]["backbone"] != backbone:
            raise ConfigError(f"{config}: model.backbone is {cfg['model']['backbone']!r} but --arch says "
                              f"{arch!r} ({backbone}); drop one of them")
        cfg["model"]["backbone"] = backbone
    if kind == "insightface":
        net = create_model(cfg["model"]["backbone"], input_size=cfg["model"]["input_size"])
    elif kind == "authors":
        net = build_model(cfg)
    else:
        raise ValueError(f"unknown source kind {kind!r}; expected one of {KINDS}")
    return net, cfg


def convert_file(src: str, kind: str, arch: Optional[str] = None, config: Optional[str] = None,
                 overrides: Iterable[str] = (), backend: str = "auto", strict: bool = True):
    """Read ``src`` (.pth) and convert it for the network of (kind, arch, config).

    Returns ``(params, report, meta)``; ``meta`` records the source file, its sha256, the
    kind, the backbone and (for ``authors``) the resolved config, for
    :func:`mindface_au.convert.save_converted`.
    """
    state_dict = read_state_dict(src, backend)
    net, cfg = build_conversion_target(kind, arch, config, overrides)
    params, report = convert_state_dict(state_dict, kind, net, strict=strict, source=src)
    meta = {"kind": kind, "converted_from": os.path.basename(src), "source_sha256": sha256_file(src),
            "backbone": cfg["model"]["backbone"], "input_size": cfg["model"]["input_size"],
            "conversion": report.counts()}
    if kind == "authors":
        meta["config"] = cfg
    return params, report, meta


__all__ = ["create_model", "build_model", "restore_model", "config_from_checkpoint", "load_pretrained",
           "build_conversion_target", "convert_file", "NOT_ARCHITECTURE"]
