"""pytest fixtures for every test (helpers live in ``testlib``; test modules never import this file)."""
import numpy as np
import pytest

import mindface_au  # noqa: F401  (sets ONEDNN_MAX_CPU_ISA before MindSpore's first op)
import mindspore as ms

from testlib import tiny_config

ms.set_device("CPU")  # once: MindSpore refuses to change it after the first kernel ran


@pytest.fixture(autouse=True)
def _cpu_context():
    """Every test starts on CPU in PyNative mode with fixed seeds; tests that need graph mode set it."""
    ms.set_context(mode=ms.PYNATIVE_MODE)
    ms.set_seed(0)
    np.random.seed(0)
    yield
    ms.set_context(mode=ms.PYNATIVE_MODE)


@pytest.fixture
def tiny_cfg():
    return tiny_config()
