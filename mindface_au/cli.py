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
