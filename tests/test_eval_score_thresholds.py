"""evaluation.score (one AUScore for every caller) and evaluation.thresholds (one resolver of
``0.5|NUMBER|ckpt|FILE``), numpy only."""
import json
import subprocess
import sys

import numpy as np
import pytest

from mindface_au.constants import AU_NAMES, THRESHOLD_GRID
from mindface_au.evaluation import (AUScore, all_positive_f1, as_thresholds, best_thresholds, binary_f1, f1_per_au,
                                    resolve_thresholds, score)


def _data(seed=0, n=60):
    rng = np.random.default_rng(seed)
    labels = (rng.random((n, 12)) < 0.35).astype(np.int8)
    labels[rng.random((n, 12)) < 0.05] = -1
    probs = np.clip(0.5 * (labels == 1) + 0.5 * rng.random((n, 12)), 0, 1).astype(np.float32)
    return probs, labels


def test_score_holds_every_quantity_once():
    probs, labels = _data()
    thr = np.linspace(0.3, 0.6, 12)
    s = score(probs, labels, thr)
    assert isinstance(s, AUScore) and s.frames == 60
    np.testing.assert_array_equal(s.per_au_f1, f1_per_au(probs, labels, thr))
    np.testing.assert_array_equal(s.decision_thresholds, thr)
    best, best_f1 = best_thresholds(probs, labels, THRESHOLD_GRID)
    np.testing.assert_array_equal(s.thresholds, best)
    np.testing.assert_array_equal(s.best_threshold_per_au_f1, best_f1)
    np.testing.assert_array_equal(s.all_positive_per_au_f1, all_positive_f1(labels))
    assert s.mean_f1 == pytest.approx(f1_per_au(probs, labels, thr).mean())
    assert s.best_threshold_mean_f1 == pytest.approx(best_f1.mean())
    d = s.as_dict()
    assert set(d) == {"mean_f1", "per_au_f1", "decision_thresholds", "thresholds", "best_threshold_mean_f1",
                      "best_threshold_per_au_f1", "all_positive_mean_f1", "frames"}
    assert json.loads(json.dumps(d)) == d  # plain JSON


def test_score_of_given_decisions_and_scalar_threshold():
    probs, labels = _data(1)
    decisions = (probs >= 0.7).astype(np.int8)
    s = score(probs, labels, 0.5, decisions=decisions)
    np.testing.assert_array_equal(s.per_au_f1, binary_f1(decisions, labels))
    assert s.decision_thresholds.tolist() == [0.5] * 12
    np.testing.assert_array_equal(s.thresholds, score(probs, labels).thresholds)  # searched on probs
    with pytest.raises(ValueError, match="does not match"):
        score(probs, labels[:5])


def test_resolve_numbers_arrays_ckpt_and_files(tmp_path):
    assert resolve_thresholds("0.5").tolist() == [0.5] * 12
    assert resolve_thresholds(0.3, au_names=AU_NAMES[:3]).dtype == np.float32
    assert resolve_thresholds(np.float32(0.25), au_names=["AU1", "AU2"]).tolist() == [0.25, 0.25]
    assert resolve_thresholds(np.array(0.5)).shape == (12,)
    np.testing.assert_allclose(resolve_thresholds([0.1] * 12), [0.1] * 12)
    np.testing.assert_allclose(resolve_thresholds("ckpt", saved=[0.2] * 12), [0.2] * 12)
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([0.4] * 12))
    np.testing.assert_allclose(resolve_thresholds(str(listed)), [0.4] * 12)
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({au: 0.1 * (i % 10) for i, au in enumerate(AU_NAMES)}))
    np.testing.assert_allclose(resolve_thresholds(mapping), [0.1 * (i % 10) for i in range(12)], atol=1e-7)
    sidecar = tmp_path / "model.onnx.json"
    sidecar.write_text(json.dumps({"thresholds": [0.35] * 12, "config": {}}))
    np.testing.assert_allclose(resolve_thresholds(str(sidecar)), [0.35] * 12)


def test_resolve_errors_name_the_source(tmp_path):
    with pytest.raises(ValueError, match=r"--threshold 1.5: must be in \[0, 1\]"):
        resolve_thresholds("1.5")
    with pytest.raises(ValueError, match="--threshold ckpt: m.ckpt holds no per-AU thresholds"):
        resolve_thresholds("ckpt", None, saved_source="m.ckpt")
    with pytest.raises(ValueError, match=r"m.ckpt: expected 12 thresholds, got shape \(3,\)"):
        resolve_thresholds("ckpt", [0.5] * 3, saved_source="m.ckpt")
    with pytest.raises(FileNotFoundError, match="not a number, 'ckpt' or an existing JSON file"):
        resolve_thresholds(str(tmp_path / "absent.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{\n oops")
    with pytest.raises(ValueError, match="line 2: not valid JSON"):
        resolve_thresholds(str(bad))
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"AU1": 0.5}))
    with pytest.raises(ValueError, match=r"no threshold for \['AU2'"):
        resolve_thresholds(str(partial))
    empty = tmp_path / "sidecar.json"
    empty.write_text(json.dumps({"thresholds": None}))
    with pytest.raises(ValueError, match="holds no per-AU thresholds"):
        resolve_thresholds(str(empty))
    with pytest.raises(ValueError, match=r"thresholds must lie in \[0, 1\], got"):
        resolve_thresholds([2.0] * 12)
    with pytest.raises(ValueError, match=r"expected 12 thresholds, got shape \(2,\)"):
        resolve_thresholds([0.5, 0.5])
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        as_thresholds([0.5, 0.5], 3)
    with pytest.raises(ValueError, match="finite"):
        as_thresholds(np.nan, 2)


def test_evaluation_imports_no_mindspore():
    code = ("import sys, mindface_au.evaluation, mindface_au.evaluation.evaluate; "
            "assert 'mindspore' not in sys.modules, 'mindspore imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
