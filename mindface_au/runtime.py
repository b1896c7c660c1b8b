"""MindSpore context: device target, execution mode, seeds and data-parallel init."""
from __future__ import annotations

import os
import random

import numpy as np

from . import _env  # noqa: F401  (ONEDNN_MAX_CPU_ISA before MindSpore's first op)
import mindspore as ms


def setup_context(device: str = "CPU", mode: str = "graph", seed: int | None = None) -> None:
    """Set device target and GRAPH/PYNATIVE mode (``mode`` in {'graph', 'pynative'})."""
    ms.set_context(mode=ms.GRAPH_MODE if mode == "graph" else ms.PYNATIVE_MODE)
    try:
        ms.set_device(device)
    except RuntimeError:  # already set (MindSpore allows it once, before the first kernel)
        if ms.get_context("device_target") != device:
            raise
    if seed is not None:
        set_seed(seed)


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    ms.set_seed(seed)


def default_amp_level(device: str) -> str:
    """O0 on CPU (fp16 is slower there), O2 with dynamic loss scale on GPU/Ascend."""
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
