"""What every command-line tool shares: config options, context setup, error reporting."""
from __future__ import annotations

import argparse
import sys
from typing import Callable, Optional

from .config import ConfigError, add_config_args, load_config


def make_parser(description: str, default_config: Optional[str] = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_config_args(parser, default_config)
    return parser


def setup_from_config(cfg: dict) -> None:
    """Device target, GRAPH/PYNATIVE mode and seeds from the config."""
    from .runtime import setup_context

    setup_context(cfg["device"], cfg["mode"], cfg["seed"])


def load_args_config(args) -> dict:
    return load_config(args.config, args.overrides)


def run_main(main: Callable[[], int]) -> None:
    """Run a tool's main; config and input errors become one clear line and exit status 2."""
    try:
        sys.exit(main())
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


def add_model_args(parser) -> None:
    """``--ckpt`` / ``--ensemble`` / ``--weights`` / ``--thresholds`` of the tools that score checkpoints."""
    parser.add_argument("--ckpt", help="checkpoint (its saved config is used unless --config)")
    parser.add_argument("--ensemble", help="comma-separated checkpoints whose probabilities are averaged")
    parser.add_argument("--weights", help="comma-separated ensemble weights (default: equal)")
    parser.add_argument("--thresholds", default="0.5", help="0.5 (the ABAW metric), a number, or 'ckpt' for the "
                        "per-AU thresholds saved with the (first) checkpoint")


def model_args(args) -> tuple:
    """``(checkpoints, weights or None)`` from :func:`add_model_args`' options."""
    ckpts = [c for c in (args.ensemble.split(",") if args.ensemble else [args.ckpt]) if c]
    weights = [float(w) for w in args.weights.split(",")] if args.weights else None
    return ckpts, weights


def thresholds_arg(args, ckpts):
    """``--thresholds``: a float, or with 'ckpt' the (n,) per-AU thresholds of the first checkpoint."""
    if args.thresholds != "ckpt":
        return float(args.thresholds)
    if not ckpts:
        raise ValueError("--thresholds ckpt needs --ckpt or --ensemble")
    import numpy as np

    from .checkpoint import load_checkpoint_meta

    return np.asarray(load_checkpoint_meta(ckpts[0]).get("thresholds", 0.5))
