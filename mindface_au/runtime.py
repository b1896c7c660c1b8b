"""MindSpore context: device target (``auto`` = the best one present), execution mode, seeds, data-parallel init.

``device: auto`` (the default) picks Ascend, then GPU, then CPU, whichever this MindSpore build and
machine have (:func:`available_devices`, from ``mindspore.device_context.<target>.is_available()``
and ``device_count()``, which answer without touching a device and do not fail on a CPU-only
build). A device that is named but absent is

* an error for training (:func:`resolve_device` with ``fallback=False``): one
  :class:`~mindface_au.config.ConfigError` line naming ``device`` and the file (or ``--set``) it
  came from;
* one notice and the best available device for evaluation, export and inference
  (``fallback=True``): every paper recipe trained on Ascend, and its checkpoints carry that config.
"""
from __future__ import annotations

import functools
import logging
import os
import random
import sys
from typing import Optional, Tuple

import numpy as np

from . import _env  # noqa: F401  (ONEDNN_MAX_CPU_ISA before MindSpore's first op)
import mindspore as ms

from .config import DEVICES, ConfigError  # noqa: E402

AUTO = "auto"
_NOTICES = set()  # (requested, chosen, source) already announced in this process


@functools.lru_cache(maxsize=None)
def available_devices() -> Tuple[str, ...]:
    """The device targets this MindSpore build and machine can run, best first, e.g. ``('GPU', 'CPU')``.

    CPU is always last. A build without the Ascend / GPU plugin, or a machine without such a
    device, leaves that target out; MindSpore's own "not available" log lines are silenced.
    """
    from mindspore import device_context
    from mindspore import log as ms_log

    logger = ms_log._get_logger()  # is_available() logs a warning for every absent plugin
    level = logger.level
    logger.setLevel(logging.ERROR)
    found = []
    try:
        for name, module in (("Ascend", device_context.ascend), ("GPU", device_context.gpu)):
            try:
                if module.is_available() and module.device_count() > 0:
                    found.append(name)
            except (RuntimeError, ValueError):  # plugin present, no device (or its driver) on this machine
                pass
    finally:
        logger.setLevel(level)
    return tuple(found) + ("CPU",)


def resolve_device(requested: str = AUTO, fallback: bool = False, source: str = "the config") -> str:
    """The device target to run on for ``requested`` (``'auto'``, ``'CPU'``, ``'GPU'`` or ``'Ascend'``).

    Args:
        requested: ``auto`` -> the first of :func:`available_devices`; a named target -> itself
            when present.
        fallback: a named target that is absent -> the best available one with one notice on
            stderr (True), or :class:`ConfigError` (False).
        source: where ``requested`` came from (a recipe path, ``--set device=...``, a checkpoint),
            for the messages.
    """
    if requested not in DEVICES:
        raise ConfigError(f"{source}: device: must be one of {list(DEVICES)}, got {requested!r}")
    have = available_devices()
    if requested == AUTO:
        return have[0]
    if requested in have:
        return requested
    if not fallback:
        raise ConfigError(f"{source}: device: {requested!r} is not available here (this MindSpore build and "
                          f"machine have {', '.join(have)}); use device: auto or one of them, e.g. --device auto")
    key = (requested, have[0], source)
    if key not in _NOTICES:
        _NOTICES.add(key)
        print(f"notice: device {requested!r} (from {source}) is not available here; running on {have[0]}",
              file=sys.stderr)
    return have[0]


def setup_context(device: str = AUTO, mode: str = "graph", seed: Optional[int] = None, fallback: bool = False,
                  source: str = "the config") -> str:
    """Set the device target (resolved by :func:`resolve_device`) and GRAPH/PYNATIVE mode; returns the target.

    ``mode`` is 'graph' or 'pynative'. MindSpore fixes the target at its first kernel: setting the
    same one again is a no-op, another one is an error.
    """
    target = resolve_device(device, fallback, source)
    ms.set_context(mode=ms.GRAPH_MODE if mode == "graph" else ms.PYNATIVE_MODE)
    try:
        ms.set_device(target)
    except RuntimeError:  # already set (MindSpore allows it once, before the first kernel)
        if ms.get_context("device_target") != target:
            raise
    if seed is not None:
        set_seed(seed)
    return target


def setup_for_config(cfg: dict, fallback: bool = False, seed: bool = True) -> str:
    """:func:`setup_context` from a config's ``device``, ``mode`` and ``seed``; returns the target.

    The resolved target is written back to ``cfg['device']``, so what reads the config afterwards
    (AMP level, loss scaling, the saved ``config.yaml``) sees the device that really runs.
    ``fallback``: see :func:`resolve_device` (False for training, True for eval/export/inference).
    """
    source = getattr(cfg, "sources", {}).get("device", "the config")
    target = setup_context(cfg["device"], cfg["mode"], cfg["seed"] if seed else None, fallback, source)
    cfg["device"] = target
    return target


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    ms.set_seed(seed)


def default_amp_level(device: str) -> str:
    """O0 on CPU (fp16 is slower there), O2 with dynamic loss scale on GPU/Ascend (``auto``: the resolved target)."""
    if device == AUTO:
        device = available_devices()[0]
    return "O0" if device == "CPU" else "O2"


def distributed_env() -> tuple:
    """(rank, group_size) when launched by ``msrun`` (or mpirun), else (0, 1)."""
    if "RANK_ID" in os.environ or "MS_WORKER_NUM" in os.environ or "RANK_SIZE" in os.environ:
        size = int(os.environ.get("MS_WORKER_NUM", os.environ.get("RANK_SIZE", "1")))
        if size > 1:
            from mindspore.communication import get_group_size, get_rank, init

            init()
            ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True)
            return get_rank(), get_group_size()
    return 0, 1
