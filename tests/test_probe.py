"""Linear probe of backbone inits: per-AU ROC AUC, the probe's fit, and the command end to end."""
import json

import numpy as np
import pytest

from mindface_au.config import load_config
from mindface_au.data import read_index
from mindface_au.engine.probe import fit_probe
from mindface_au.evaluation import roc_auc_per_au

from testlib import TINY_SETS
from testlib.run import run_command


def test_roc_auc_per_au_by_hand_with_uncoded_frames_and_one_class_aus():
    scores = [[0.1, 0.9, 0.5], [0.4, 0.2, 0.5], [0.35, 0.8, 0.5], [0.8, 0.1, 0.5]]
    labels = [[0, 1, 1], [0, 0, 1], [1, -1, 1], [1, 0, -1]]
    auc = roc_auc_per_au(scores, labels)
    # AU 0: positives 0.35, 0.8 against negatives 0.1, 0.4: 3 of 4 pairs ordered; AU 1: row 2 not coded,
    # 0.9 above 0.2 and 0.1; AU 2: every coded frame positive
    assert auc[0] == 0.75 and auc[1] == 1.0 and np.isnan(auc[2])


def test_the_probe_finds_a_feature_that_carries_the_labels_and_not_noise():
    rng = np.random.default_rng(0)
    y = (rng.random((800, 3)) < 0.4).astype(np.int8)
    noise = rng.standard_normal((800, 6))
    informative = noise.copy()
    informative[:, :2] += 2.0 * y[:, :2]  # columns 0, 1 carry AU 0, 1
    y[:400, 2] = 0  # AU 2: one class among the training frames (both in validation): not scored, NaN
    y[:100, 0] = -1  # not coded: left out of AU 0's fit (as labels they would break the binary fit)
    tr, va = slice(0, 400), slice(400, 800)
    carried = fit_probe(informative[tr], y[tr], informative[va], y[va])
    chance = fit_probe(noise[tr], y[tr], noise[va], y[va])
    assert carried[0] > 0.9 and carried[1] > 0.9 and np.isnan(carried[2])
    assert np.all(np.abs(chance[:2] - 0.5) < 0.1) and np.isnan(chance[2])


@pytest.mark.slow
def test_probe_command_writes_a_row_per_init_and_names_a_missing_file(tmp_path, synthetic_abaw, tiny_ckpt):
    sets = [*TINY_SETS, f"data.root={synthetic_abaw(4, 30)}", "data.num_workers=1", "eval.batch_size=128"]
    args = [a for s in sets for a in ("--set", s)]
    out = tmp_path / "probe"
    res = run_command("probe", *args, "--init", "random", "--init", tiny_ckpt, "--out", str(out), "--no-progress")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    rows = json.load(open(out / "probe.json"))
    assert [r["init"] for r in rows] == ["random", tiny_ckpt]
    for r in rows:
        assert set(r["per_au_auc"]) == {"pooled_map", "embedding"} and r["train_frames"] > 0 and r["val_frames"] > 0
        for name, values in r["per_au_auc"].items():
            assert len(values) == 12 and all(v is None or 0 <= v <= 1 for v in values)
            assert 0 <= r["mean_auc"][name] <= 1
    assert rows[0]["per_au_auc"] != rows[1]["per_au_auc"]  # the checkpoint's backbone was loaded
    assert (out / "probe.png").stat().st_size > 0 and "| random |" in (out / "probe.md").read_text()
    assert "| backbone init |" in res.stdout

    bad = run_command("probe", *args, "--init", str(tmp_path / "missing.ckpt"), "--out", str(out))
    assert bad.returncode == 2 and f"probe init: file not found: {tmp_path / 'missing.ckpt'}" in bad.stderr

    # a DISFA release with the intensity head: the format's own folds, and only the 8 occurrence labels
    disfa = {"model.intensity": "true", "data.format": "disfa", "data.aus": "disfa8", "data.root": tmp_path / "disfa",
             "data.synthetic": "true", "data.synthetic_frames": 12, "data.rare_aus": "[]", "data.num_workers": 1}
    disfa_args = [a for s in [*TINY_SETS, *(f"{k}={v}" for k, v in disfa.items())] for a in ("--set", s)]
    res = run_command("probe", *disfa_args, "--init", "random", "--out", str(tmp_path / "disfa_probe"), "--no-progress")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    row, = json.load(open(tmp_path / "disfa_probe" / "probe.json"))
    assert all(len(v) == 8 for v in row["per_au_auc"].values())
    cfg = load_config(None, [f"{k}={v}" for k, v in disfa.items()])
    assert (row["train_frames"], row["val_frames"]) == (len(read_index(cfg, "train")), len(read_index(cfg, "val")))
