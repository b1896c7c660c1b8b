"""``mindface-au cv``: three folds of a tiny synthetic DISFA release trained one after the other, the
per-AU F1 table (3 folds + mean), an interrupted cross-validation resumed without retraining a finished
fold; the table and intensity plumbing on made-up fold results."""
import json
import os

import numpy as np
import pytest
from mindspore.train import Callback

from mindface_au.engine.cv import (FoldInterrupted, fold_config, fold_scores, format_cv_table, run_cv,
                                   summarise_folds, write_cv_results)

from testlib.run import run_command

AUS8 = ["AU1", "AU2", "AU4", "AU6", "AU9", "AU12", "AU25", "AU26"]


def tiny_disfa_sets(root):
    """``--set`` strings of a seconds-long fold: iresnet_mini at 32 px, 1 epoch, a 6-subject synthetic DISFA
    release of 12 frames a subject (8 AUs; no rare-AU resampling), last.ckpt saved every step."""
    sets = {"model.backbone": "iresnet_mini", "model.input_size": 32, "model.fusion.ffn_dim": 64,
            "model.lrp.mad_p": 0.0, "model.fusion.dropout": 0.0, "data.aus": "disfa8", "model.arl.neighbor_num": 4,
            "data.root": root, "data.format": "disfa", "data.synthetic": "true", "data.synthetic_frames": 12,
            "data.rare_aus": "[]", "data.uniform_fraction": 1.0, "data.augment": "false", "data.num_workers": 1,
            "train.epochs": 1, "train.batch_size": 8, "train.lr_steps": "[1]", "train.ckpt_interval": 1,
            "train.log_interval": 1, "eval.batch_size": 64}
    return [f"{k}={v}" for k, v in sets.items()]


class StopInSecondRun(Callback):
    """Stop the second training run (fold 2) after two steps."""

    def __init__(self):
        super().__init__()
        self.runs, self.steps = 0, 0

    def on_train_begin(self, run_context):
        self.runs += 1

    def on_train_step_end(self, run_context):
        if self.runs == 2:
            self.steps += 1
            if self.steps >= 2:
                run_context.request_stop()


def mtimes(work):
    return {n: os.stat(os.path.join(work, n)).st_mtime_ns for n in ("last.ckpt", "best.ckpt", "log.jsonl",
                                                                     "cv_fold.json")}


def table_rows(text):
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines()
            if line.startswith("|")]


@pytest.mark.slow  # three tiny training runs and a synthetic DISFA release: about 2 minutes on 2 cores
def test_cv_three_folds_interrupted_then_resumed(tmp_path):
    sets = tiny_disfa_sets(str(tmp_path / "disfa"))
    out = str(tmp_path / "cv")
    with pytest.raises(FoldInterrupted, match="fold 2"):
        run_cv(None, sets, out, progress=False, callbacks=[StopInSecondRun()])
    fold1 = mtimes(os.path.join(out, "fold1"))
    assert os.path.isfile(os.path.join(out, "fold2", "last.ckpt"))  # saved at step 2 (ckpt_interval 1)
    assert not os.path.exists(os.path.join(out, "fold3"))

    args = ["--out", out, "--no-progress", *(a for s in sets for a in ("--set", s))]
    res = run_command("cv", *args)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "fold 1: finished, its score read" in res.stdout
    assert "resumed from" in res.stdout and "step 2 of" in res.stdout  # fold 2 went on where it stopped
    assert mtimes(os.path.join(out, "fold1")) == fold1  # fold 1 was not retrained nor rescored

    summary = json.load(open(os.path.join(out, "cv_results.json")))
    assert [r["fold"] for r in summary["folds"]] == [1, 2, 3] and summary["au_names"] == AUS8
    rows = table_rows(open(os.path.join(out, "cv_f1.md")).read())
    assert rows[0] == ["fold", *AUS8, "mean"] and [r[0] for r in rows[2:]] == ["fold 1", "fold 2", "fold 3", "mean"]
    mean = np.mean([r["per_au_f1"] for r in summary["folds"]], axis=0)
    assert rows[-1][1:] == [f"{100 * v:.2f}" for v in mean] + [f"{100 * mean.mean():.2f}"]
    assert os.path.getsize(os.path.join(out, "cv_f1.png")) > 0
    assert "intensity" not in summary  # the model has no intensity output yet

    # each fold's score is its best.ckpt on the test part: the validation F1 training saved with it
    from mindface_au.checkpoint import load_checkpoint_meta
    from mindface_au.data import read_index

    for r in summary["folds"]:
        meta = load_checkpoint_meta(os.path.join(out, f"fold{r['fold']}", "best.ckpt"))
        np.testing.assert_allclose(r["per_au_f1"], meta["per_au_f1"], atol=1e-9)
    # every subject is tested exactly once over the three folds
    cfg = fold_config(None, sets, out, 1)
    assert sum(r["frames"] for r in summary["folds"]) == len(read_index(cfg, "train")) + len(read_index(cfg, "val"))

    # a third call trains and scores nothing again
    before = {k: mtimes(os.path.join(out, f"fold{k}")) for k in (1, 2, 3)}
    again = run_command("cv", *args)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count("finished, its score read") == 3
    assert {k: mtimes(os.path.join(out, f"fold{k}")) for k in (1, 2, 3)} == before
    assert json.load(open(os.path.join(out, "cv_results.json"))) == summary


class _Index:
    def __init__(self, names, intensity):
        self.au_names, self.intensity = tuple(names), intensity


def _fold(k, f1, intensity=None):
    names = ["AU1", "AU2"]
    pred = {"probs": np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.6], [0.1, 0.2]]),
            "labels": np.array([[1, 0], [0, 1], [1, 1], [0, 0]], np.int8)}
    labels = None
    if intensity is not None:
        pred["intensity"] = intensity
        labels = np.array([[3.0, 0.0], [0.0, 2.0], [4.0, np.nan], [1.0, 0.0]])
    r = {"fold": k, **fold_scores(pred, _Index(names, labels), 0.5)}
    r["f1"]["per_au_f1"], r["f1"]["mean_f1"] = f1, float(np.mean(f1))
    return r


def test_cv_table_layout_and_intensity_plug(tmp_path):
    results = [_fold(1, [0.5, 0.25]), _fold(2, [0.75, 0.5]), _fold(3, [1.0, 0.0])]
    assert "intensity" not in results[0]  # no intensity predicted, none scored
    rows = table_rows(format_cv_table(summarise_folds(results)))
    assert rows[0] == ["fold", "AU1", "AU2", "mean"]
    assert rows[2:] == [["fold 1", "50.00", "25.00", "37.50"], ["fold 2", "75.00", "50.00", "62.50"],
                        ["fold 3", "100.00", "0.00", "50.00"], ["mean", "75.00", "25.00", "50.00"]]

    # where the model predicts intensity and the index has it: ICC / PCC / MAE per fold and averaged
    pred_int = np.array([[3.0, 0.0], [0.0, 2.0], [4.0, 5.0], [1.0, 0.0]])  # exact on every coded frame
    with_int = [_fold(k, [0.5, 0.5], pred_int) for k in (1, 2, 3)]
    assert with_int[0]["intensity"]["icc"] == pytest.approx([1.0, 1.0]) and with_int[0]["intensity"]["mae"] == [0, 0]
    assert with_int[0]["intensity"]["frames"] == [4, 3]
    summary = summarise_folds(with_int)
    assert summary["intensity"]["mean"]["pcc"] == pytest.approx([1.0, 1.0])
    assert summary["intensity"]["mean"]["frames"] == [12, 9]
    paths = write_cv_results(summary, str(tmp_path))
    text = open(paths["table"]).read()
    assert table_rows(text.split("Intensity")[1])[0] == ["AU", "ICC", "PCC", "MAE"]
    assert table_rows(text.split("Intensity")[1])[-1] == ["mean", "1.00", "1.00", "0.00"]
    assert json.load(open(paths["json"]))["intensity"]["mean"]["icc"] == pytest.approx([1.0, 1.0])


def test_cv_refuses_a_recipe_without_folds(tmp_path):
    res = run_command("cv", "--out", str(tmp_path), "--set", "data.format=abaw")
    assert res.returncode == 2 and "cv needs data.format bp4d | disfa | megraphau_list" in res.stderr
    res = run_command("cv", "--out", str(tmp_path), "--folds", "1,4", "--set", "data.format=disfa")
    assert res.returncode == 2 and "--folds" in res.stderr
    with pytest.raises(ValueError, match="predicts 8 AUs, the test part has 7"):
        fold_scores({"probs": np.zeros((2, 8)), "labels": np.zeros((2, 8))}, _Index(AUS8[:7], None), 0.5)
