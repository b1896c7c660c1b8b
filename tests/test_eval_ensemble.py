"""Ensemble weighting."""
import numpy as np
import pytest

from mindface_au.evaluation import AUTHORS_WEIGHTS, weighted_mean


def test_authors_weights():
    assert len(AUTHORS_WEIGHTS) == 5
    assert sum(AUTHORS_WEIGHTS) == pytest.approx(1.0, abs=1e-9)


def test_weighted_mean_by_hand_and_normalised():
    a = np.array([[0.0, 1.0], [0.2, 0.4]])
    b = np.array([[1.0, 1.0], [0.6, 0.0]])
    # weights 1 and 3 -> 0.25 a + 0.75 b
    expected = np.array([[0.75, 1.0], [0.5, 0.1]])
    np.testing.assert_allclose(weighted_mean([a, b], [1, 3]), expected)
    np.testing.assert_allclose(weighted_mean([a, b], [0.25, 0.75]), expected)
    np.testing.assert_allclose(weighted_mean([a, b]), (a + b) / 2)  # equal weights by default
    np.testing.assert_allclose(weighted_mean([a, b], [0, 2]), b)


def test_weighted_mean_with_authors_weights_five_models():
    rng = np.random.default_rng(0)
    probs = [rng.random((30, 12)) for _ in range(5)]
    out = weighted_mean(probs, AUTHORS_WEIGHTS)
    manual = sum(w * p for w, p in zip(AUTHORS_WEIGHTS, probs)) / sum(AUTHORS_WEIGHTS)
    np.testing.assert_allclose(out, manual, atol=1e-12)
    # thresholds (12,) average the same way
    thr = [rng.random(12) for _ in range(5)]
    np.testing.assert_allclose(weighted_mean(thr, AUTHORS_WEIGHTS), sum(w * t for w, t in zip(AUTHORS_WEIGHTS, thr)))


def test_weighted_mean_errors():
    a, b = np.zeros((4, 12)), np.zeros((5, 12))
    with pytest.raises(ValueError, match=r"model 1 predictions have shape \(5, 12\), but model 0's have \(4, 12\)"):
        weighted_mean([a, b])
    with pytest.raises(ValueError, match="3 weights for 2 models"):
        weighted_mean([a, a], [1, 1, 1])
    with pytest.raises(ValueError, match=">= 0"):
        weighted_mean([a, a], [1, -1])
    with pytest.raises(ValueError, match="at least one must be > 0"):
        weighted_mean([a, a], [0, 0])
    with pytest.raises(ValueError, match="at least one"):
        weighted_mean([])
