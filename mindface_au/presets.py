"""What every registered model name stands for, as plain data (no MindSpore, nothing built).

A name's :class:`ModelDefaults` (timm's ``pretrained_cfg``) holds its kind (an AU ``network``
or a ``backbone``), the architecture arguments it stands for (``au_net_r50_attention`` -> an
IResNet50 with attention fusion), its input size, normalisation, eval resize and where its
published weights are. :mod:`mindface_au.config` reads these to validate ``model.name`` and fill
the keys the name decides; :mod:`mindface_au.models.registry` pairs each name with the code
that builds it; :func:`mindface_au.factory.create_model` builds it with these defaults.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

KINDS = ("network", "backbone")


@dataclass(frozen=True)
class ModelDefaults:
    """What a registered name stands for besides its code.

    Attributes:
        kind: ``'network'`` (an AU detector) or ``'backbone'``.
        kwargs: architecture arguments of the factory, e.g. ``{"backbone": "iresnet50",
            "fusion": {"kind": "attention"}}``.
        input_size: square input side S the weights expect.
        norm: input normalisation (``mindface_au.transforms.NORMS`` key).
        resize: eval resize at S = 112 before the centre crop S (:func:`mindface_au.transforms.eval_resize`).
        url: where the published weights are (``file://`` works too); empty until published.
        file: a local weights file (``.ckpt``); empty until published.
    """

    kind: str = "network"
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


#: The AU-network presets: name -> (backbone, fusion kind). Each is ``au_net`` with these defaults.
AU_NET_PRESETS = {
    "au_net_r100_attention": ("iresnet100", "attention"),
    "au_net_r100_fixed": ("iresnet100", "fixed"),
    "au_net_r50_attention": ("iresnet50", "attention"),
    "au_net_r18_attention": ("iresnet18", "attention"),
}

BACKBONES = ("iresnet18", "iresnet34", "iresnet50", "iresnet100", "iresnet200", "iresnet_mini")

#: Every name the package registers -> its defaults. ``register_model`` adds the names of user code.
PRESETS: Dict[str, ModelDefaults] = {
    "au_net": ModelDefaults(),
    **{name: ModelDefaults(kwargs={"backbone": backbone, "fusion": {"kind": fusion}})
       for name, (backbone, fusion) in AU_NET_PRESETS.items()},
    **{name: ModelDefaults(kind="backbone") for name in BACKBONES},
}


def preset_names(kind: Optional[str] = None) -> List[str]:
    """Names with a preset, optionally only those of one kind ('network' or 'backbone')."""
    return sorted(n for n, d in PRESETS.items() if kind is None or d.kind == kind)


def model_defaults(name: str) -> ModelDefaults:
    """The :class:`ModelDefaults` of a name; ``KeyError`` naming the known ones."""
    if name not in PRESETS:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(preset_names())}")
    return PRESETS[name]


def add_preset(name: str, defaults: ModelDefaults) -> None:
    """Give a new name its defaults (``register_model`` of a name this module does not list)."""
    if defaults.kind not in KINDS:
        raise ValueError(f"model {name!r}: kind must be one of {KINDS}, got {defaults.kind!r}")
    if name in PRESETS and PRESETS[name] != defaults:
        raise ValueError(f"model {name!r} already has other defaults: {PRESETS[name]}")
    PRESETS[name] = defaults


__all__ = ["ModelDefaults", "AU_NET_PRESETS", "BACKBONES", "PRESETS", "preset_names", "model_defaults",
           "add_preset"]
