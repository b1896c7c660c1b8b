"""Shared by the tests of infer's outputs and API: a tiny checkpoint and running the infer tool."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from conftest import ROOT, tiny_config

THRESHOLDS = [float(t) for t in np.linspace(0.3, 0.7, 12)]


def make_tiny_ckpt(path: str, synthetic: bool = True) -> str:
    """The tiny network (random weights, non-trivial BN statistics), per-AU thresholds 0.3 ... 0.7 and
    ``data.synthetic`` in its saved config."""
    import mindspore as ms

    from mindface_au import build_model
    from mindface_au.checkpoint import save_checkpoint

    cfg = tiny_config(**{"data.synthetic": str(bool(synthetic)).lower()})
    ms.set_seed(3)
    net = build_model(cfg)
    rng = np.random.default_rng(0)
    for name, p in net.parameters_and_names():
        if name.endswith("moving_variance"):
            p.set_data(ms.Tensor((1 + rng.random(p.shape)).astype(np.float32)))
    save_checkpoint(net, path, {"config": cfg, "thresholds": THRESHOLDS})
    return path


def infer_command(*args) -> list:
    return [sys.executable, os.path.join(ROOT, "tools", "infer.py"), "--no-progress", *map(str, args)]


def run_infer(*args, timeout: int = 900) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(infer_command(*args), capture_output=True, text=True, cwd=ROOT, timeout=timeout, env=env)
