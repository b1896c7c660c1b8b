"""YAML recipes: one schema, validated on load, with ``--set key=value`` overrides.

A recipe is a YAML mapping whose keys are those of :data:`SCHEMA` (nested sections, dotted
paths in messages and overrides). A recipe may name ``_base_: other.yaml`` (relative to
itself); its keys then override the base's. Every key that is not given takes the schema's
default, so ``load_config(None)`` is the full default configuration (the paper's recipe).

Errors are :class:`ConfigError` and name the key and the file::

    configs/x.yaml: model.arl.neighbor_num: must be >= 1, got 0
"""
from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence

import yaml

from .constants import AU_NAMES, FORMAT_AUS, LIST_PREFIX_AUS, RARE_AUS, au_set
from .presets import model_defaults, preset_names


class ConfigError(ValueError):
    """A recipe or an override that does not fit the schema."""


class Config(dict):
    """The resolved configuration: a plain nested dict plus ``sources``, where each key was set.

    ``sources`` maps a dotted key (``'device'``, ``'train.epochs'``) to the recipe file, the
    ``--set key=value`` override or the checkpoint whose layer set it last; keys left at their
    schema default are absent. Messages about a value name its source
    (e.g. :func:`mindface_au.runtime.resolve_device`). It dumps to YAML and JSON as a dict.
    """

    def __init__(self, *args, sources: Optional[dict] = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.sources = dict(sources or {})


yaml.SafeDumper.add_representer(Config, yaml.representer.SafeRepresenter.represent_dict)


@dataclass(frozen=True)
class Field:
    """One leaf of the schema: its type(s), default and allowed values."""

    types: tuple
    default: Any
    choices: Optional[Sequence] = None
    min: Optional[float] = None
    max: Optional[float] = None
    nullable: bool = False
    items: Optional[tuple] = None  # element types of a list
    help: str = ""


def F(types, default, **kw) -> Field:
    if not isinstance(types, tuple):
        types = (types,)
    if "items" in kw and kw["items"] is not None and not isinstance(kw["items"], tuple):
        kw["items"] = (kw["items"],)
    return Field(types, default, **kw)


NUM = (int, float)

DEVICES = ("auto", "Ascend", "GPU", "CPU")  # auto: the first of Ascend, GPU, CPU that is present

SCHEMA: dict = {
    "device": F(str, "auto", choices=DEVICES,
                help="MindSpore device target; auto: Ascend, else GPU, else CPU, whichever is present"),
    "mode": F(str, "graph", choices=("graph", "pynative"), help="GRAPH_MODE (default) or PYNATIVE_MODE"),
    "seed": F(int, 0, min=0),
    "model": {
        "name": F(str, "au_net", help="registered network name"),
        "backbone": F(str, "iresnet100", help="registered backbone name (iresnet18/34/50/100/200, iresnet_mini)"),
        "input_size": F(int, 112, min=16, help="square input side in pixels"),
        "num_aus": F(int, 12, min=1, help="number of AU outputs; follows data.aus (set it only to the same number)"),
        "dropout": F(NUM, 0.0, min=0.0, max=1.0, help="dropout before the embedding fc"),
        "backbone_init": F(str, None, nullable=True, help="converted backbone checkpoint to start from"),
        "intensity": F(bool, False, help="an intensity head beside the occurrence head: one 0-5 output per AU "
                                         "(5 * sigmoid of a Dense on the embedding), trained with MSE"),
        "node_classifier": F(str, "shared", choices=("shared", "per_au"),
                             help="AU-node logits: shared: one Dense(C -> 1) for every node (the authors' code); "
                                  "per_au: a weight vector and bias per AU"),
        "lrp": {
            "enabled": F(bool, True),
            "n_maps": F(int, 12, min=1),
            "reduction": F(int, 2, min=1),
            "bn_relu": F(bool, False, help="LANet-paper BN+ReLU between the two 1x1 convs"),
            "mad_p": F(NUM, 1.0, min=0.0, max=1.0, help="per-sample probability of dropping one map"),
            "mad": F(str, "per_sample", choices=("per_sample", "authors"),
                     help="per_sample: each sample loses one map with probability mad_p; authors: only the "
                          "last sample of each per-device batch whose coin (mad_p) passes loses one (their loop)"),
        },
        "arl": {
            "enabled": F(bool, True),
            "neighbor_num": F(int, 4, min=1),
            "metric": F(str, "dots", choices=("dots", "cosine", "l1")),
            "node_bn_relu": F(bool, False, help="ME-GraphAU's BN + ReLU after the global and per-AU linears, "
                                                "per token, before the token mean (off: the authors' code)"),
        },
        "fusion": {
            "kind": F(str, "attention", choices=("attention", "fixed", "none")),
            "lam": F(NUM, 0.7, min=0.0, max=1.0, help="fixed fusion weight of the backbone logits"),
            "num_layers": F(int, 2, min=1),
            "num_heads": F(int, 1, min=1),
            "ffn_dim": F(int, 3072, min=1),
            "dropout": F(NUM, 0.1, min=0.0, max=1.0),
        },
    },
    "loss": {
        "bce_weight": F(NUM, 1.0, min=0.0),
        "circle_weight": F(NUM, 1.0, min=0.0, help="0 turns the circle loss off"),
        "bce_reduction": F(str, "sum_aus", choices=("sum_aus", "mean"),
                           help="sum_aus: sum over AUs, mean over batch (authors' code); mean: Eq. 1"),
        "intensity_weight": F(NUM, 1.0, min=0.0, help="weight of the intensity MSE (model.intensity: true): "
                                                      "mean over the coded (frame, AU) entries of the 0-5 scale"),
    },
    "data": {
        "aus": F((str, list), "affwild2", help="the model's AUs, in output order: a preset (affwild2, bp4d, disfa8, "
                                               "disfa12) or a list of names ([AU1, AU2, ...])"),
        "format": F(str, "abaw", choices=("abaw", "list", "bp4d", "disfa", "megraphau_list"),
                    help="abaw splits; list files; a BP4D or DISFA release; ME-GraphAU's list pairs"),
        "fold": F(int, 1, min=1, max=3, help="bp4d / disfa / megraphau_list: the field's 3-fold subject split "
                                             "(fold 1 tests part 3, fold 2 part 2, fold 3 part 1)"),
        "occurrence_threshold": F(int, 2, min=1, max=5, help="disfa: an AU occurs when its intensity is >= this"),
        "root": F(str, None, nullable=True, help="ABAW root, or image root of list files"),
        "synthetic": F(bool, False, help="create synthetic ABAW data under root when absent"),
        "synthetic_videos": F(int, 24, min=2),
        "synthetic_frames": F(int, 300, min=10),
        "train_split": F(str, "Train_Set"),
        "val_split": F(str, "Validation_Set"),
        "train_list": F(str, None, nullable=True),
        "val_list": F(str, None, nullable=True),
        "strict": F(bool, True, help="malformed annotation file: error (true) or skip video (false)"),
        "cache_dir": F(str, None, nullable=True, help="where the frame index cache goes (default <root>/.index_cache)"),
        "norm": F(str, "imagenet", choices=("imagenet", "arcface")),
        "resize": F(int, 128, min=16, help="eval resize before the centre crop"),
        "uniform_fraction": F(NUM, 0.1, min=0.0, max=1.0),
        "rare_fraction": F(NUM, 0.2, min=0.0, max=1.0),
        "rare_aus": F((list, str), list(RARE_AUS),
                      help="AUs of the rare part of the resample: a list of names of data.aus, or 'rarest:<k>', the "
                           "k AUs with the lowest positive rate on the training index; default: the paper's five "
                           "for affwild2, else rarest:<5/12 of the set>"),
        "augment": F(bool, True),
        "color_jitter_p": F(NUM, 0.3, min=0.0, max=1.0),
        "color_jitter": F(list, [0.2, 0.2, 0.2, 0.2], items=NUM,
                          help="brightness, contrast, saturation, hue of the colour jitter (authors: 0.2 each)"),
        "crop_scale": F(list, [0.08, 1.0], items=NUM, help="RandomResizedCrop area range (mmcls default, authors)"),
        "crop_ratio": F(list, [0.75, 1.3333333], items=NUM, help="RandomResizedCrop aspect-ratio range"),
        "flip_p": F(NUM, 0.5, min=0.0, max=1.0, help="horizontal flip probability"),
        "check_images": F(bool, True, help="drop frames whose image file is missing (lists each image folder once)"),
        "num_workers": F(int, 2, min=1),
    },
    "train": {
        "epochs": F(int, 15, min=1),
        "batch_size": F(int, 64, min=1, help="per device"),
        "lr": F(NUM, 1e-3, min=0.0),
        "momentum": F(NUM, 0.9, min=0.0, max=1.0),
        "weight_decay": F(NUM, 1e-4, min=0.0),
        "lr_steps": F(list, [4, 6, 8], items=int),
        "lr_gamma": F(NUM, 0.1, min=0.0),
        "amp_level": F(str, "auto", choices=("auto", "O0", "O1", "O2", "O3")),
        "loss_scale": F(str, "dynamic", choices=("dynamic", "fixed", "none")),
        "work_dir": F(str, "work_dirs/run"),
        "log_interval": F(int, 10, min=1),
        "ckpt_interval": F(int, 0, min=0, help="also save last.ckpt every N steps (0: at epoch ends only)"),
        "freeze_bn": F(bool, False, help="BatchNorm keeps its statistics fixed during training"),
        "save_rank_states": F(bool, False, help="data-parallel: every rank also writes last_rank<r>.ckpt"),
        "best_by": F(str, "f1_at_0.5", choices=("f1_at_0.5", "f1_best_thresholds"),
                     help="best.ckpt is the epoch with the highest mean F1 at eval.threshold (f1_at_0.5) "
                          "or at the per-AU best thresholds (f1_best_thresholds, the authors' code)"),
    },
    "eval": {
        "threshold": F(NUM, 0.5, min=0.0, max=1.0),
        "smooth_edges": F(str, "clip", choices=("clip", "keep"),
                          help="smoothing near video ends: clip the window (clip) or leave the frame "
                               "unsmoothed (keep, the authors' script)"),
        "batch_size": F(int, 128, min=1),
    },
    "optim": {
        "decay_norm_and_bias": F(bool, False, help="true: weight decay on every parameter (the authors' mmcv "
                                                   "optimiser); false: BN, LayerNorm, PReLU and biases exempt"),
    },
}


def defaults(schema: dict = SCHEMA) -> dict:
    """The schema's defaults as a nested dict."""
    out = {}
    for key, node in schema.items():
        out[key] = defaults(node) if isinstance(node, dict) else copy.deepcopy(node.default)
    return out


def _check_leaf(field: Field, value: Any, path: str, where: str) -> Any:
    def fail(msg):
        raise ConfigError(f"{where}: {path}: {msg}")

    if value is None:
        if field.nullable:
            return None
        fail("may not be null")
    if isinstance(value, str) and float in field.types and str not in field.types:
        try:  # PyYAML reads 1e-3 (no dot) as a string
            value = float(value)
        except ValueError:
            pass
    if bool not in field.types and isinstance(value, bool):
        fail(f"expected {'/'.join(t.__name__ for t in field.types)}, got bool {value!r}")
    if not isinstance(value, field.types):
        fail(f"expected {'/'.join(t.__name__ for t in field.types)}, got {type(value).__name__} {value!r}")
    if field.choices is not None and value not in field.choices:
        fail(f"must be one of {list(field.choices)}, got {value!r}")
    if field.min is not None and value < field.min:
        fail(f"must be >= {field.min}, got {value!r}")
    if field.max is not None and value > field.max:
        fail(f"must be <= {field.max}, got {value!r}")
    if field.items is not None:
        for i, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, field.items):
                fail(f"item {i} must be {'/'.join(t.__name__ for t in field.items)}, got {item!r}")
    return value


def _merge(base: dict, update: dict, schema: dict, where: str, prefix: str = "",
           sources: Optional[dict] = None) -> dict:
    for key, value in update.items():
        path = f"{prefix}{key}"
        if key not in schema:
            known = ", ".join(sorted(schema))
            raise ConfigError(f"{where}: {path}: unknown key (known here: {known})")
        node = schema[key]
        if isinstance(node, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: {path}: expected a mapping, got {type(value).__name__} {value!r}")
            _merge(base[key], value, node, where, path + ".", sources)
        else:
            base[key] = _check_leaf(node, value, path, where)
            if sources is not None:
                sources[path] = where
    return base


def _read_yaml(path: str, seen: tuple = ()) -> list:
    """Layers of a recipe, base first: [(file, mapping), ...]."""
    path = os.path.abspath(path)
    if path in seen:
        raise ConfigError(f"{path}: _base_ cycle")
    if not os.path.isfile(path):
        raise ConfigError(f"{path}: config file not found")
    with open(path, encoding="utf-8") as f:
        try:
            data = yaml.safe_load(f) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    layers = []
    base = data.pop("_base_", None)
    if base is not None:
        layers += _read_yaml(os.path.join(os.path.dirname(path), base), seen + (path,))
    layers.append((path, data))
    return layers


def parse_override(text: str) -> tuple:
    """``'a.b=3'`` -> (['a', 'b'], 3); the value is read as YAML (numbers, bools, lists, null)."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected key=value")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def _nest(keys: list, value: Any) -> dict:
    out: Any = value
    for k in reversed(keys):
        out = {k: out}
    return out


def load_config(path: Optional[str] = None, overrides: Iterable[str] = (), initial: Optional[dict] = None,
                initial_source: str = "<initial>") -> Config:
    """Defaults <- ``initial`` (e.g. a checkpoint's saved config) <- recipe (and its bases) <- ``--set``.

    Every layer is validated; errors name the key and where it came from. ``model.name`` must
    be a network of :mod:`mindface_au.presets`; the keys it decides (its backbone, fusion, input size,
    normalisation, eval resize: :meth:`mindface_au.presets.ModelDefaults.config_values`) take its
    values wherever no layer set them, so ``--set model.name=au_net_r50_attention`` builds an
    IResNet50 and the resolved config says so. The result is a
    :class:`Config` (a dict) whose ``sources`` tell which layer set each key.
    """
    cfg = Config(defaults())
    if initial is not None:
        _merge(cfg, initial, SCHEMA, initial_source, sources=cfg.sources)
        # derived from data.aus, which a later layer may change: num_aus always, rare_aus when at its default
        cfg.sources.pop("model.num_aus", None)
        if cfg["data"]["rare_aus"] == _saved_default_rare_aus(cfg["data"]["aus"]):
            cfg.sources.pop("data.rare_aus", None)
    if path is not None:
        for file, data in _read_yaml(path):
            _merge(cfg, data, SCHEMA, file, sources=cfg.sources)
    for text in overrides or ():
        keys, value = parse_override(text)
        _merge(cfg, _nest(keys, value), SCHEMA, f"--set {text}", sources=cfg.sources)
    apply_model_defaults(cfg, cfg.sources)
    apply_au_set(cfg, cfg.sources)
    check_consistency(cfg, path or "<defaults>")
    return cfg


RAREST = re.compile(r"^rarest:([0-9]+)$")


def config_au_names(cfg: dict) -> tuple:
    """The AU names of a config's model, in output order (``data.aus``; Aff-Wild2's 12 when absent)."""
    return au_set(cfg["data"].get("aus", "affwild2"))


def default_rare_aus(au_names) -> object:
    """``data.rare_aus`` when no layer sets it: the paper's five for Aff-Wild2's AUs, else the same
    share (5 of 12) of the set's rarest AUs on the training index (``'rarest:<k>'``)."""
    if tuple(au_names) == AU_NAMES:
        return list(RARE_AUS)
    return f"rarest:{max(1, round(len(au_names) * len(RARE_AUS) / len(AU_NAMES)))}"


def _saved_default_rare_aus(aus):
    """:func:`default_rare_aus` of a saved ``data.aus`` (None when it is no AU set: reported later)."""
    try:
        return default_rare_aus(au_set(aus))
    except ValueError:
        return None


def apply_au_set(cfg: dict, explicit: dict) -> None:
    """Resolve ``data.aus`` (canonical names; a ConfigError naming the key and its source), make
    ``model.num_aus`` follow it, and check ``data.rare_aus`` against it (its default when unset)."""
    d, m = cfg["data"], cfg["model"]
    where = explicit.get("data.aus", f"<the AU set of data.format {d['format']}>")
    if "data.aus" not in explicit:
        d["aus"] = format_aus(d, explicit)
    try:
        names = au_set(d["aus"])
    except ValueError as exc:
        raise ConfigError(f"{where}: data.aus: {exc}") from None
    if not isinstance(d["aus"], str):
        d["aus"] = list(names)
    if "model.num_aus" in explicit and m["num_aus"] != len(names):
        raise ConfigError(f"{explicit['model.num_aus']}: model.num_aus: {m['num_aus']} does not match data.aus "
                          f"({len(names)} AUs: {', '.join(names)}, set by {where}); drop model.num_aus, it follows "
                          "data.aus")
    m["num_aus"] = len(names)
    if "data.rare_aus" not in explicit:
        d["rare_aus"] = default_rare_aus(names)
    d["rare_aus"] = check_rare_aus(d["rare_aus"], names, explicit.get("data.rare_aus", "<defaults>"))


def format_aus(data: dict, explicit: dict) -> str:
    """The AU set of a recipe that names none: its ``data.format``'s (ME-GraphAU lists: from the data set
    their file names start with, ``BP4D_...`` or ``DISFA_...``)."""
    if data["format"] in FORMAT_AUS:
        return FORMAT_AUS[data["format"]]
    for key in ("train_list", "val_list"):
        path = os.path.expanduser(data.get(key) or "")
        names = sorted(os.listdir(path)) if os.path.isdir(path) else [os.path.basename(path)]  # a folder of lists
        prefixes = {n.split("_")[0].upper() for n in names if "_img_path_" in n or not os.path.isdir(path)}
        if len(prefixes) == 1 and next(iter(prefixes)) in LIST_PREFIX_AUS:
            return LIST_PREFIX_AUS[prefixes.pop()]
    where = explicit.get("data.format", "<defaults>")
    raise ConfigError(f"{where}: data.aus: not set, and the AU set of data.format {data['format']} cannot be told "
                      f"from data.train_list / data.val_list (no {' or '.join(LIST_PREFIX_AUS)}_ prefix): set data.aus")


def check_rare_aus(spec, au_names, where: str):
    """``data.rare_aus`` checked against the AU set: a list of its names (canonical) or ``'rarest:<k>'``
    with 1 <= k <= the number of AUs; anything else is a ConfigError naming the key and ``where``."""
    if isinstance(spec, str):
        match = RAREST.match(spec)
        if not match or not 1 <= int(match.group(1)) <= len(au_names):
            raise ConfigError(f"{where}: data.rare_aus: expected a list of AU names or 'rarest:<k>' with "
                              f"1 <= k <= {len(au_names)}, got {spec!r}")
        return spec
    try:
        names = au_set(spec) if spec else ()
    except ValueError as exc:
        raise ConfigError(f"{where}: data.rare_aus: {exc}") from None
    unknown = [au for au in names if au not in au_names]
    if unknown:
        raise ConfigError(f"{where}: data.rare_aus: unknown AU(s) {unknown}; known: {list(au_names)}")
    return list(names)


def apply_model_defaults(cfg: dict, explicit: dict) -> None:
    """Check ``model.name`` and fill the keys its defaults decide unless ``explicit`` (path -> source) has them."""
    name = cfg["model"]["name"]
    networks = preset_names("network")
    if name not in networks:
        raise ConfigError(f"{explicit.get('model.name', '<defaults>')}: model.name: unknown network {name!r}; "
                          f"registered: {', '.join(networks)}")
    for dotted, value in model_defaults(name).config_values().items():
        if dotted in explicit:
            continue
        node, section = SCHEMA, cfg
        *parents, leaf = dotted.split(".")
        for key in parents:
            node, section = node[key], section[key]
        section[leaf] = _check_leaf(node[leaf], copy.deepcopy(value), dotted, f"model {name!r} defaults")


def check_consistency(cfg: dict, where: str) -> None:
    """Cross-key rules that a single field cannot express."""
    m = cfg["model"]
    if m["arl"]["neighbor_num"] > m["num_aus"]:
        raise ConfigError(f"{where}: model.arl.neighbor_num: must be <= model.num_aus ({m['num_aus']})")
    if m["fusion"]["kind"] != "none" and not m["arl"]["enabled"]:
        raise ConfigError(f"{where}: model.fusion.kind: {m['fusion']['kind']!r} needs model.arl.enabled "
                          "(it fuses the AU-node logits with the backbone logits); use 'none'")
    if m["lrp"]["enabled"] and not m["arl"]["enabled"]:
        raise ConfigError(f"{where}: model.lrp.enabled: LRP feeds only the AU relationship branch; "
                          "enable model.arl.enabled or disable LRP")
    if sorted(cfg["train"]["lr_steps"]) != list(cfg["train"]["lr_steps"]):
        raise ConfigError(f"{where}: train.lr_steps: must be increasing, got {cfg['train']['lr_steps']}")


def dump_config(cfg: dict, path: str) -> None:
    """Write the resolved configuration (atomic: :func:`mindface_au.fileio.atomic_write_text`)."""
    from .fileio import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(cfg, sort_keys=False))


def add_config_args(parser, default_config: Optional[str] = None) -> None:
    """The ``--config FILE`` and ``--set key=value`` options every tool shares."""
    parser.add_argument("--config", default=default_config, help="YAML recipe (configs/*.yaml)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. --set train.epochs=3 (repeatable)")
