import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import mindface_au  # noqa: E402,F401  (sets ONEDNN_MAX_CPU_ISA before MindSpore's first op)
import mindspore as ms  # noqa: E402

ms.set_device("CPU")  # once: MindSpore refuses to change it after the first kernel ran


@pytest.fixture(autouse=True)
def _cpu_context():
    """Every test starts on CPU in PyNative mode with fixed seeds; tests that need graph mode set it."""
    ms.set_context(mode=ms.PYNATIVE_MODE)
    ms.set_seed(0)
    np.random.seed(0)
    yield
    ms.set_context(mode=ms.PYNATIVE_MODE)


def tiny_config(**overrides):
    """The demo architecture shrunk for unit tests: iresnet_mini at 32x32, small FFN."""
    from mindface_au.config import load_config

    sets = ["model.backbone=iresnet_mini", "model.input_size=32", "model.fusion.ffn_dim=64"]
    sets += [f"{k}={v}" for k, v in overrides.items()]
    return load_config(None, sets)


@pytest.fixture
def tiny_cfg():
    return tiny_config()
