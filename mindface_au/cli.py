"""What every command-line tool shares: config options, context setup, error reporting."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Optional

from .config import DEVICES, ConfigError, add_config_args, load_config


REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def config_path(name: str) -> str:
    """A recipe (or folder of recipes) of the project's ``configs/``, e.g. ``config_path('demo_cpu.yaml')``.

    The recipes live beside the package in a checkout or an editable install (``pip install -e .``).
    """
    path = os.path.join(REPO_ROOT, "configs", name)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: the project's recipes are not beside this install of mindface_au; "
                                "pass --config FILE (or install from a checkout with pip install -e .)")
    return path


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults in the options' help, and the description (a tool's docstring, with its examples) as written."""


def make_parser(description: str, default_config: Optional[str] = None, config: bool = True,
                device: bool = True) -> argparse.ArgumentParser:
    """The parser of a tool: its docstring as description, ``--config``/``--set`` and ``--device``.

    ``config=False`` for tools that read no recipe; ``device=False`` for tools that run no network.
    """
    parser = argparse.ArgumentParser(description=description, formatter_class=HelpFormatter)
    if config:
        add_config_args(parser, default_config)
    if device:
        add_device_arg(parser)
    return parser


class _DeviceAction(argparse.Action):
    """``--device X`` is ``--set device=X`` (the later of the two wins)."""

    def __call__(self, parser, namespace, values, option_string=None):
        overrides = list(getattr(namespace, "overrides", None) or [])
        overrides.append(f"device={values}")
        namespace.overrides = overrides
        setattr(namespace, self.dest, values)


def add_device_arg(parser) -> None:
    """``--device auto|Ascend|GPU|CPU``: the config's ``device`` (default: the recipe's or checkpoint's, else auto)."""
    if not any(a.dest == "overrides" for a in parser._actions):
        parser.set_defaults(overrides=[])
    parser.add_argument("--device", choices=DEVICES, action=_DeviceAction, default=None,
                        help="device target (same as --set device=...); auto: Ascend, else GPU, else CPU, whichever "
                             "is present. Training fails on an absent device; eval, export and inference fall back "
                             "to the available one with a notice. Default: the recipe's or checkpoint's (auto)")


def setup_from_config(cfg: dict, fallback: bool = True) -> str:
    """Device target, GRAPH/PYNATIVE mode and seeds from the config; returns the device that runs.

    ``fallback`` (evaluation, export, inference): a device the config names but this machine lacks
    gives one notice and the best available device; without it, a :class:`ConfigError` naming
    ``device`` and its source. ``cfg['device']`` becomes the resolved target.
    """
    from .runtime import setup_for_config

    return setup_for_config(cfg, fallback=fallback)


def load_args_config(args) -> dict:
    return load_config(args.config, args.overrides)


def run_main(main: Callable[[], int]) -> None:
    """Run a tool's main; config and input errors become one clear line and exit status 2."""
    try:
        sys.exit(main())
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


THRESHOLD_HELP = ("decision thresholds: 0.5 (the default everywhere: the ABAW metric), any number, 'ckpt' for the "
                  "per-AU thresholds saved with the (first) checkpoint or export, or FILE: a JSON list of one value "
                  "per AU, a mapping AU name -> value, or a summary.json / eval_result.json / export sidecar holding "
                  "'thresholds'")


def add_threshold_arg(parser) -> None:
    """``--threshold 0.5|NUMBER|ckpt|FILE`` (``--thresholds`` is the same option), default 0.5."""
    parser.add_argument("--threshold", "--thresholds", dest="threshold", default="0.5", metavar="0.5|ckpt|FILE",
                        help=THRESHOLD_HELP)


def add_model_args(parser) -> None:
    """``--ckpt`` / ``--ensemble`` / ``--weights`` / ``--threshold`` of the tools that score checkpoints."""
    parser.add_argument("--ckpt", help="checkpoint (its saved config is used unless --config)")
    parser.add_argument("--ensemble", help="comma-separated checkpoints whose probabilities are averaged")
    parser.add_argument("--weights", help="comma-separated ensemble weights (default: equal)")
    add_threshold_arg(parser)


def model_args(args) -> tuple:
    """``(checkpoints, weights or None)`` from :func:`add_model_args`' options."""
    ckpts = [c for c in (args.ensemble.split(",") if args.ensemble else [args.ckpt]) if c]
    weights = [float(w) for w in args.weights.split(",")] if args.weights else None
    return ckpts, weights


def thresholds_arg(args, ckpts, au_names):
    """``--threshold`` of a checkpoint-scoring tool: the (n,) per-AU decision thresholds of the model's
    n ``au_names`` (:func:`mindface_au.evaluation.resolve_thresholds`; 'ckpt' reads the first checkpoint's)."""
    from .evaluation.thresholds import resolve_thresholds

    saved = None
    if args.threshold == "ckpt":
        if not ckpts:
            raise ValueError("--threshold ckpt needs --ckpt or --ensemble")
        from .checkpoint import load_checkpoint_meta

        saved = load_checkpoint_meta(ckpts[0]).get("thresholds")
    return resolve_thresholds(args.threshold, saved, list(au_names),
                              saved_source=ckpts[0] if ckpts else "the checkpoint")
