"""Plots of data/ (fold balance, AU montage) go through mindface_au.plots: object API, atomic, backend untouched."""
import glob
import os

import matplotlib
import pytest
from matplotlib.image import imread

from mindface_au.constants import AU_NAMES, NUM_AUS, RARE_AUS
from mindface_au.data.face_renderer import SIZE, au_montage
from mindface_au.data.synthetic import save_montage
from mindface_au.plots import plot_folds


@pytest.fixture
def svg_backend():
    """A backend the old ``matplotlib.use('Agg')`` calls would have switched away from."""
    before = matplotlib.get_backend()
    matplotlib.use("svg")
    yield
    matplotlib.use(before)


def test_montage_png_has_a_column_per_au_and_leaves_the_backend_alone(tmp_path, svg_backend):
    grid = au_montage(n_identities=2, seed=0)
    assert grid.shape == (2 * SIZE, (NUM_AUS + 1) * SIZE, 3)
    path = save_montage(str(tmp_path / "montage.png"), n_identities=2, seed=0)
    img = imread(path)
    assert img.shape[1] >= 2 * grid.shape[1] * 0.9 and img[..., :3].std() > 0.05  # scale 2, not blank
    assert matplotlib.get_backend() == "svg"
    assert glob.glob(str(tmp_path / ".*partial*")) == []  # written through fileio's temp file


def test_fold_plot_from_a_summary(tmp_path, svg_backend):
    folds = {f"fold{i}": {"frames": 100 + i, "videos": ["a", "b"], "positives": {a: 10 * (i + 1) for a in AU_NAMES}}
             for i in range(3)}
    path = plot_folds({"folds": folds, "rare_aus": list(RARE_AUS)}, str(tmp_path / "folds.png"))
    assert os.path.isfile(path) and imread(path)[..., :3].std() > 0.01
    assert matplotlib.get_backend() == "svg"
