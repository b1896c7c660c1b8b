"""The epoch end of the training loop on scripted evaluation results: which epoch ``best.ckpt`` holds
under each ``train.best_by``, what summary.json derives from it, the order of the writes (last.ckpt
last), and what a checkpoint records it was trained on."""
import json
import os
from types import SimpleNamespace

import numpy as np
import pytest

from mindface_au.checkpoint import load_checkpoint_meta
from mindface_au.config import ConfigError, load_config
from mindface_au.engine import callbacks
from mindface_au.engine.state import INITIAL_STATE, selection_score, trained_on

# (mean F1 at 0.5, mean F1 at the per-AU best thresholds) of epochs 1..4
SCRIPT = [(0.30, 0.40), (0.50, 0.45), (0.45, 0.60), (0.50, 0.55)]
STEPS = 3


def scripted_result(epoch):
    at_05, at_best = SCRIPT[epoch - 1]
    return {"mean_f1": at_05, "per_au_f1": [at_05 + 0.01 * epoch] * 12, "thresholds": [0.05 * epoch] * 12,
            "best_threshold_mean_f1": at_best, "best_threshold_per_au_f1": [at_best] * 12,
            "all_positive_mean_f1": 0.25, "frames": 40}


def run_scripted_epochs(tmp_path, monkeypatch, best_by, data_sets=()):
    from mindface_au import build_model
    from mindface_au.engine.optim import build_optimizer

    sets = ["model.backbone=iresnet_mini", "model.input_size=32", "model.fusion.ffn_dim=64",
            f"train.best_by={best_by}", f"train.epochs={len(SCRIPT)}", f"train.work_dir={tmp_path}",
            "data.synthetic=true", "data.root=/data/synthetic_affwild2", *data_sets]
    cfg = load_config(None, sets)
    net = build_model(cfg)
    opt = build_optimizer(cfg, net, STEPS)
    state = dict(INITIAL_STATE)
    epoch_of_eval = {"n": 0}

    def fake_predict(net, dataset, desc="", progress=True):
        epoch_of_eval["n"] += 1
        return np.zeros((1, 12), np.float32), np.zeros((1, 12), np.int8)

    monkeypatch.setattr(callbacks, "predict_probs", fake_predict)
    monkeypatch.setattr(callbacks, "score", lambda probs, labels, threshold: SimpleNamespace(
        as_dict=lambda: scripted_result(epoch_of_eval["n"])))
    writes = []
    original = callbacks.JsonlLog.write
    monkeypatch.setattr(callbacks.JsonlLog, "write", lambda self, r: (writes.append("log.jsonl"), original(self, r)))
    from mindface_au import checkpoint, fileio

    real_atomic_path = fileio.atomic_path

    def recording_atomic_path(path):
        writes.append(os.path.basename(path))
        return real_atomic_path(path)

    monkeypatch.setattr(fileio, "atomic_path", recording_atomic_path)
    monkeypatch.setattr(checkpoint, "atomic_path", recording_atomic_path)
    loop = callbacks.TrainingLoop(cfg, net, opt, val_dataset=None, work_dir=str(tmp_path), steps_per_epoch=STEPS,
                                  state=state, set_train_mode=lambda: net.set_train(True), progress=False)
    ends = []
    for epoch in range(1, len(SCRIPT) + 1):
        state.update(step_in_epoch=STEPS, global_step=STEPS * epoch, loss_sum=3.0 * epoch, loss_count=STEPS)
        writes.clear()
        loop.finish_epoch()
        ends.append(list(writes))
    return loop, ends


@pytest.mark.parametrize("best_by, epoch", [("f1_at_0.5", 2), ("f1_best_thresholds", 3)])
def test_best_checkpoint_is_chosen_by_the_configured_metric(tmp_path, monkeypatch, best_by, epoch):
    loop, _ = run_scripted_epochs(tmp_path, monkeypatch, best_by)
    meta = load_checkpoint_meta(str(tmp_path / "best.ckpt"))
    assert meta["epoch"] == epoch and meta["best_by"] == best_by  # a tie (epoch 4 at 0.5) keeps the earlier
    assert meta["thresholds"] == scripted_result(epoch)["thresholds"]
    assert meta["score"] == selection_score(scripted_result(epoch), best_by)
    summary = json.load(open(tmp_path / "summary.json"))
    assert summary == loop.summary
    assert summary["best_epoch"] == epoch and summary["best_by"] == best_by
    assert summary["best_mean_f1"] == SCRIPT[epoch - 1][0] and summary["best_threshold_mean_f1"] == SCRIPT[epoch - 1][1]
    assert summary["thresholds"] == meta["thresholds"] and summary["epochs_done"] == 4
    last = load_checkpoint_meta(str(tmp_path / "last.ckpt"))
    assert (last["epoch"], last["best_epoch"], last["step_in_epoch"], last["loss_count"]) == (4, epoch, 0, 0)
    records = [r for r in loop.log.read() if r["type"] == "epoch"]
    assert [r["loss"] for r in records] == [1.0, 2.0, 3.0, 4.0]  # the state's loss sums over its step count
    assert [r["best_by"] for r in records] == [best_by] * 4


def test_epoch_end_writes_last_ckpt_last_and_derives_every_file_each_time(tmp_path, monkeypatch):
    _, ends = run_scripted_epochs(tmp_path, monkeypatch, "f1_at_0.5")
    derived = ["summary.json", "f1_per_au.png", "curves.png", "last.ckpt"]
    assert ends[0] == ["log.jsonl", "best.ckpt", *derived]  # epoch 1 improves
    assert ends[1] == ["log.jsonl", "best.ckpt", *derived]  # epoch 2 improves
    assert ends[2] == ["log.jsonl", *derived]  # no improvement: summary and plots are still rewritten
    assert ends[3] == ["log.jsonl", *derived]


def test_checkpoints_record_what_they_were_trained_on(tmp_path, monkeypatch):
    run_scripted_epochs(tmp_path, monkeypatch, "f1_best_thresholds")
    best = load_checkpoint_meta(str(tmp_path / "best.ckpt"))["trained_on"]
    last = load_checkpoint_meta(str(tmp_path / "last.ckpt"))["trained_on"]
    assert best == {"synthetic": True, "format": "abaw", "root": "/data/synthetic_affwild2", "train": "Train_Set",
                    "epochs": 3, "total_epochs": 4}
    assert last == dict(best, epochs=4)


def test_trained_on_names_the_list_file_of_list_data():
    cfg = load_config(None, ["data.format=list", "data.root=/img", "data.train_list=/lists/train.txt",
                             "train.epochs=7"])
    assert trained_on(cfg, 5) == {"synthetic": False, "format": "list", "root": "/img", "train": "/lists/train.txt",
                                  "epochs": 5, "total_epochs": 7}


def test_best_by_is_validated():
    assert load_config(None)["train"]["best_by"] == "f1_at_0.5"
    with pytest.raises(ConfigError, match="train.best_by"):
        load_config(None, ["train.best_by=f1"])
