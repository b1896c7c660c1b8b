"""tools/eval.py end to end on a small synthetic ABAW tree: table, smoothing, sweep, ensembles, re-scoring."""
import json
import os

import numpy as np
import pytest

import mindspore as ms

from mindface_au import build_model
from mindface_au.checkpoint import save_checkpoint
from mindface_au.evaluation import apply_postprocess, binary_f1
from mindface_au.evaluation.predictions import load_predictions

from testlib import tiny_config
from testlib.run import run_command

pytestmark = pytest.mark.slow  # runs of the tools


@pytest.fixture(scope="module")
def setup(tmp_path_factory, synthetic_abaw):
    base = tmp_path_factory.mktemp("evaltool")
    root = synthetic_abaw(4, 30, seed=1)
    cfg = tiny_config(**{"data.root": root, "data.num_workers": 1,
                          "eval.batch_size": 32})  # the 21 validation frames in one batch: one graph per eval
    ckpts = []
    for seed in (1, 2):
        ms.set_seed(seed)
        net = build_model(cfg)
        path = str(base / f"m{seed}.ckpt")
        save_checkpoint(net, path, {"config": cfg, "thresholds": [0.4] * 12})
        ckpts.append(path)
    return base, ckpts


def run(*args):
    res = run_command("eval", *args)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return res.stdout


def test_eval_table_save_and_rescore_agree(setup):
    base, (ck1, _) = setup
    out = str(base / "o1")
    text = run("--ckpt", ck1, "--save-probs", str(base / "p1.npz"), "--out", out)
    assert "| AU1" in text and "| mean" in text and "all-positive baseline" in text
    first = json.load(open(os.path.join(out, "eval_result.json")))
    assert os.path.isfile(os.path.join(out, "eval_f1_per_au.png"))
    pred = load_predictions(str(base / "p1.npz"))
    assert pred["probs"].shape == (len(pred["labels"]), 12) and pred["video_ids"].dtype.kind == "U"
    np.testing.assert_allclose(first["mean_f1"], binary_f1((pred["probs"] >= 0.5).astype(np.int8),
                                                           pred["labels"]).mean(), atol=1e-9)
    run("--probs", str(base / "p1.npz"), "--out", str(base / "o1b"))
    again = json.load(open(os.path.join(base / "o1b", "eval_result.json")))
    assert again["mean_f1"] == pytest.approx(first["mean_f1"])


def test_eval_smoothing_matches_the_library_with_video_boundaries(setup):
    base, (ck1, _) = setup
    run("--ckpt", ck1, "--save-probs", str(base / "p.npz"), "--out", str(base / "o0"))
    pred = load_predictions(str(base / "p.npz"))
    run("--probs", str(base / "p.npz"), "--smooth", "prob=3,label=2", "--thresholds", "0.45",
        "--out", str(base / "o2"))
    got = json.load(open(os.path.join(base / "o2", "eval_result.json")))
    ref = binary_f1(apply_postprocess(pred["probs"], pred["video_ids"], 3, 2, 0.45), pred["labels"]).mean()
    assert got["mean_f1"] == pytest.approx(ref) and (got["prob_k"], got["label_k"]) == (3, 2)


def test_sweep_writes_the_table2_layout(setup):
    base, (ck1, _) = setup
    text = run("--ckpt", ck1, "--sweep", "--thresholds", "ckpt", "--out", str(base / "o3"))
    lines = open(os.path.join(base / "o3", "smoothing_sweep.csv")).read().strip().splitlines()
    assert len(lines) == 1 + 1 + 3 * 10  # header, none, prob/label/prob+label for k = 1..10
    assert os.path.isfile(os.path.join(base / "o3", "smoothing_sweep.png"))
    assert "prob+label" in text


def test_ensemble_is_the_weighted_mean_of_the_members(setup):
    base, (ck1, ck2) = setup
    run("--ckpt", ck1, "--save-probs", str(base / "a.npz"), "--out", str(base / "oa"))
    run("--ckpt", ck2, "--save-probs", str(base / "b.npz"), "--out", str(base / "ob"))
    run("--ensemble", f"{ck1},{ck2}", "--weights", "3,1", "--save-probs", str(base / "e.npz"), "--out",
        str(base / "oe"))
    a, b, e = (load_predictions(str(base / f"{n}.npz"))["probs"] for n in "abe")
    assert np.abs(a - b).max() > 1e-3  # the members differ
    np.testing.assert_allclose(e, 0.75 * a + 0.25 * b, rtol=1e-5, atol=1e-6)


def test_bad_smooth_argument_is_refused(setup):
    base, (ck1, _) = setup
    res = run_command("eval", "--ckpt", ck1, "--smooth", "prob=x")
    assert res.returncode == 2 and "--smooth" in res.stderr
