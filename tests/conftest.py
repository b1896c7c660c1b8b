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


# Session fixtures: built once per pytest process (per xdist worker) and shared by the modules that
# only read them. Tests that change a file copy it first.

@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory) -> str:
    """A checkpoint of the tiny network (random weights, non-trivial BN statistics), per-AU thresholds
    0.3 ... 0.7 (:data:`testlib.infer.THRESHOLDS`), ``data.synthetic: true`` in its saved config."""
    from testlib.infer import make_tiny_ckpt

    return make_tiny_ckpt(str(tmp_path_factory.mktemp("tiny_ckpt") / "tiny.ckpt"), synthetic=True)


@pytest.fixture(scope="session")
def tiny_ckpt_real_data(tmp_path_factory) -> str:
    """:func:`tiny_ckpt` with ``data.synthetic: false`` in its saved config (as a real recipe has)."""
    from testlib.infer import make_tiny_ckpt

    return make_tiny_ckpt(str(tmp_path_factory.mktemp("tiny_ckpt") / "real.ckpt"), synthetic=False)


@pytest.fixture(scope="session")
def synthetic_abaw(tmp_path_factory):
    """``synthetic_abaw(videos, frames, seed=0)``: the path of a synthetic Aff-Wild2 root of that size,
    made once per session for each size and seed."""
    from mindface_au.data import make_synthetic_affwild2

    made = {}

    def root(videos: int, frames: int, seed: int = 0) -> str:
        key = (videos, frames, seed)
        if key not in made:
            path = str(tmp_path_factory.mktemp(f"abaw_{videos}x{frames}_s{seed}") / "affwild2")
            make_synthetic_affwild2(path, videos=videos, frames=frames, seed=seed, workers=1, progress=False)
            made[key] = path
        return made[key]

    return root


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One uninterrupted 2-epoch run of :func:`testlib.train.tiny_train_args` from a clean data cache
    (the train command in this process): (work dir, its CompletedProcess, the synthetic root it made)."""
    from testlib.run import run_command
    from testlib.train import tiny_train_args

    base = tmp_path_factory.mktemp("tiny_run")
    root, work = str(base / "affwild2"), str(base / "run")
    res = run_command("train", "--no-progress", *tiny_train_args(root, work))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return work, res, root


# Under pytest-xdist (``-n 2 --dist loadgroup``, the README's test command) the tests of one module
# run on one worker, so module fixtures (a reference training run, exports) are built once; the
# modules below hold independent minutes-long runs and are spread over the workers test by test.
SPREAD_MODULES = {"test_fidelity_learning"}

# The workers take the groups in collection order (xdist's own reordering, by number of tests, is
# turned off in pytest_configure, since it put the single-test minutes-long groups last): the longest
# groups go first, so that the run ends with short modules on both workers instead of one worker
# alone in a minutes-long one. Longest first, as measured on 2 cores (pytest --durations); the other
# modules follow, those with more slow tests first.
LONGEST_FIRST = ("test_fidelity_learning", "test_infer_corpus", "test_train_kill", "test_speed_backends",
                 "test_infer_memory", "test_export", "test_cv", "test_train_distributed")


def pytest_configure(config):
    if hasattr(config.option, "loadscopereorder"):  # pytest-xdist is installed
        config.option.loadscopereorder = False


def _module_name(item) -> str:
    return item.module.__name__.rsplit(".", 1)[-1]


def _longest_first(items) -> list:
    """``items`` with whole modules moved: :data:`LONGEST_FIRST` in its order, then the others by their
    number of slow tests (more first); tests keep their order inside a module."""
    slow = {}
    for item in items:
        slow[_module_name(item)] = slow.get(_module_name(item), 0) + (item.get_closest_marker("slow") is not None)

    def rank(item):
        name = _module_name(item)
        return (LONGEST_FIRST.index(name), 0) if name in LONGEST_FIRST else (len(LONGEST_FIRST), -slow[name])

    return sorted(items, key=rank)  # stable: the modules' own order otherwise


# tryfirst: pytest-xdist's worker hook turns the xdist_group marks into node ids (``...@group``) and runs
# before a plain conftest hook, which left every test ungrouped (modules split over the workers, their
# module fixtures built on both).
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    items[:] = _longest_first(items)
    for item in items:
        if _module_name(item) not in SPREAD_MODULES:
            item.add_marker(pytest.mark.xdist_group(_module_name(item)))
