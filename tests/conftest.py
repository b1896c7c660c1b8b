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


# Under pytest-xdist (``-n 2 --dist loadgroup``, the README's test command) the tests of one module
# run on one worker, so module fixtures (a reference training run, exports) are built once; the
# modules below hold independent minutes-long runs and are spread over the workers test by test.
SPREAD_MODULES = {"test_fidelity_learning"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        name = item.module.__name__.rsplit(".", 1)[-1]
        if name not in SPREAD_MODULES:
            item.add_marker(pytest.mark.xdist_group(name))
