"""tools/train.py and the trainer on tiny synthetic ABAW data: work dir contents, LR steps, resume, SIGKILL."""
import json
import os
import signal
import subprocess
import time

import numpy as np
import pytest

from mindface_au.checkpoint import load_checkpoint
from mindface_au.engine.optim import build_optimizer, is_decayed, lr_per_step, lr_schedule

from testlib import ROOT
from testlib.stop import StopAfterSteps
from testlib.run import command_line, run_command, subprocess_env
from testlib.train import overrides, partial_files, read_log, tiny_train_args

@pytest.fixture(scope="module")
def full_run(tiny_run):
    """One uninterrupted 2-epoch run from a clean data cache (the demo path at a reduced budget)."""
    work, res, _ = tiny_run
    return work, res


@pytest.fixture(scope="module")
def synthetic_root(tiny_run):
    """The synthetic data that :func:`full_run` made."""
    return tiny_run[2]


def test_lr_schedule_decays_at_configured_epochs():
    lr = lr_per_step(1e-3, steps_per_epoch=3, epochs=10, lr_steps=[4, 6, 8])
    per_epoch = lr.reshape(10, 3)
    assert (per_epoch == per_epoch[:, :1]).all()  # constant inside an epoch
    np.testing.assert_allclose(per_epoch[:, 0], [1e-3] * 4 + [1e-4] * 2 + [1e-5] * 2 + [1e-6] * 2, rtol=1e-5)


def test_weight_decay_spares_bn_bias_and_prelu(tiny_cfg):
    from mindface_au import build_model

    net = build_model(tiny_cfg)
    decayed = {p.name for p in net.trainable_params() if is_decayed(p)}
    assert "backbone.conv1.weight" in decayed and "backbone.fc.weight" in decayed
    assert not any(n.endswith(("gamma", "beta", "bias", ".w")) for n in decayed)
    opt = build_optimizer(tiny_cfg, net, steps_per_epoch=5)
    wd = {p.name: float(w.asnumpy()) for p, w in zip(opt.parameters, opt.weight_decay)}
    assert len(wd) == len(net.trainable_params())
    assert wd["backbone.conv1.weight"] == pytest.approx(1e-4) and wd["arl.graph.U.weight"] == pytest.approx(1e-4)
    assert wd["backbone.bn1.gamma"] == 0.0 and wd["arl.graph.U.bias"] == 0.0 and wd["backbone.prelu.w"] == 0.0
    assert lr_schedule(tiny_cfg, 5).shape == (5 * tiny_cfg["train"]["epochs"],)


@pytest.mark.slow
def test_work_dir_holds_everything_and_is_written_from_a_clean_cache(full_run, synthetic_root):
    work, res = full_run
    assert "creating synthetic" in res.stdout + res.stderr
    for name in ("config.yaml", "log.jsonl", "last.ckpt", "best.ckpt", "summary.json", "curves.png", "f1_per_au.png"):
        assert os.path.isfile(os.path.join(work, name)), name
    assert "| AU1" in res.stdout and "| mean" in res.stdout
    summary = json.load(open(os.path.join(work, "summary.json")))
    assert set(summary) >= {"best_epoch", "best_mean_f1", "per_au_f1", "thresholds"}
    assert len(summary["per_au_f1"]) == 12 and len(summary["thresholds"]) == 12
    log = read_log(work)
    epochs = [r for r in log if r["type"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [1, 2]
    best_epoch = max(epochs, key=lambda r: r["mean_f1"])
    assert summary["best_epoch"] == best_epoch["epoch"]
    assert summary["best_mean_f1"] == pytest.approx(best_epoch["mean_f1"])
    # the learning rate steps down after epoch 1 (lr_steps [1])
    steps = [r for r in log if r["type"] == "step"]
    np.testing.assert_allclose([r["lr"] for r in steps if r["epoch"] == 1], 0.01, rtol=1e-5)
    np.testing.assert_allclose([r["lr"] for r in steps if r["epoch"] == 2], 0.001, rtol=1e-5)


@pytest.mark.slow
def test_checkpoint_contents(full_run):
    work, _ = full_run
    best, meta = load_checkpoint(os.path.join(work, "best.ckpt"))
    assert len(meta["thresholds"]) == 12 and meta["config"]["model"]["backbone"] == "iresnet_mini"
    assert "backbone.conv1.weight" in best and not any(k.startswith("accum.") for k in best)
    last, lmeta = load_checkpoint(os.path.join(work, "last.ckpt"))
    assert lmeta["epoch"] == 2 and lmeta["step_in_epoch"] == 0 and lmeta["global_step"] > 0
    assert "global_step" in last and "accum.backbone.conv1.weight" in last  # SGD momentum buffers
    assert int(last["global_step"].asnumpy().reshape(-1)[0]) == lmeta["global_step"]
    trained_on = {"synthetic": True, "format": "abaw", "root": meta["config"]["data"]["root"], "train": "Train_Set",
                  "epochs": meta["epoch"], "total_epochs": 2}
    assert meta["trained_on"] == trained_on and lmeta["trained_on"] == dict(trained_on, epochs=2)


@pytest.mark.slow
def test_resume_inside_an_epoch_continues_exactly(tmp_path, synthetic_root):
    """Stop after 3 steps (state saved every step) and resume for 2 more: the weights, momentum and
    step counters equal those of a run that did 5 steps without stopping."""
    from mindface_au.engine.trainer import config_for_run, train

    def cfg(name):
        args = tiny_train_args(synthetic_root, str(tmp_path / name), extra=["--set", "train.ckpt_interval=1"])
        return config_for_run(None, overrides(args))

    train(cfg("straight"), progress=False, callbacks=[StopAfterSteps(5)])
    train(cfg("interrupted"), progress=False, callbacks=[StopAfterSteps(3)])
    _, meta = load_checkpoint(str(tmp_path / "interrupted" / "last.ckpt"))
    assert (meta["epoch"], meta["step_in_epoch"], meta["global_step"]) == (0, 3, 3)
    train(cfg("interrupted"), resume=True, progress=False, callbacks=[StopAfterSteps(2)])
    straight, s_meta = load_checkpoint(str(tmp_path / "straight" / "last.ckpt"))
    resumed, r_meta = load_checkpoint(str(tmp_path / "interrupted" / "last.ckpt"))
    assert (r_meta["epoch"], r_meta["step_in_epoch"], r_meta["global_step"]) == (0, 5, 5) == (
        s_meta["epoch"], s_meta["step_in_epoch"], s_meta["global_step"])
    assert set(straight) == set(resumed)
    for name in straight:  # weights, BN statistics, SGD momentum buffers, global_step
        np.testing.assert_allclose(resumed[name].asnumpy(), straight[name].asnumpy(), rtol=0, atol=1e-5,
                                   err_msg=name)
    steps = [r["global_step"] for r in read_log(str(tmp_path / "interrupted")) if r["type"] == "step"]
    assert steps == [1, 2, 3, 4, 5]


@pytest.mark.slow
def test_cli_resume_finishes_the_run(tmp_path, full_run, synthetic_root):
    """Resuming through tools/train.py after a mid-epoch stop ends with the same epochs and steps."""
    from mindface_au.engine.trainer import config_for_run, train

    work = str(tmp_path / "cli")
    args = tiny_train_args(synthetic_root, work, extra=["--set", "train.ckpt_interval=1"])
    train(config_for_run(None, overrides(args)), progress=False, callbacks=[StopAfterSteps(3)])
    res = run_command("train", "--no-progress", "--resume", work)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "resumed from" in res.stdout and "epoch 1, step 3" in res.stdout
    log = read_log(work)
    assert [r["epoch"] for r in log if r["type"] == "epoch"] == [1, 2]
    steps = [r["global_step"] for r in log if r["type"] == "step"]
    full_steps = [r["global_step"] for r in read_log(full_run[0]) if r["type"] == "step"]
    assert steps == full_steps  # every step once, in order, as many as without the stop


def _log_records(work):
    """log.jsonl as it is now (a line being appended is skipped)."""
    path = os.path.join(work, "log.jsonl")
    if not os.path.isfile(path):
        return []
    records = []
    with open(path) as f:
        for line in f:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return records


def _summary_epochs_done(work):
    try:
        with open(os.path.join(work, "summary.json")) as f:
            return json.load(f).get("epochs_done")
    except (OSError, ValueError):
        return None


def _step_logged(n):
    return lambda work: any(r["type"] == "step" and r["global_step"] == n for r in _log_records(work))


def _epoch_logged(n):
    return lambda work: any(r["type"] == "epoch" and r["epoch"] == n for r in _log_records(work))


# Each event is written right before a save: the kill lands in that save or just after it.
KILL_EVENTS = [
    ("step 3 logged (epoch 1, before last.ckpt of step 3)", _step_logged(3), 2),
    ("step 8 logged (epoch 1, before last.ckpt of step 8)", _step_logged(8), 7),
    ("epoch 1 record logged (before best.ckpt, summary, plots, last.ckpt)", _epoch_logged(1), 10),
    ("summary.json of epoch 1 (before the plots and last.ckpt)", lambda w: _summary_epochs_done(w) == 1, 10),
    ("step 15 logged (epoch 2, before last.ckpt of step 15)", _step_logged(15), 14),
]


@pytest.mark.slow
def test_sigkill_at_five_saves_never_leaves_a_truncated_checkpoint(tmp_path, full_run, synthetic_root):
    """SIGKILL five times, each when the event written right before a save appears; every resume
    continues from a whole last.ckpt, and the last one ends as the run that was never killed."""
    work = str(tmp_path / "killed")
    args = tiny_train_args(synthetic_root, work, extra=["--set", "train.ckpt_interval=1"])
    last, best = os.path.join(work, "last.ckpt"), os.path.join(work, "best.ckpt")
    for i, (what, happened, min_step) in enumerate(KILL_EVENTS):
        cmd = command_line("train", "--no-progress", *(args if i == 0 else ["--resume", work]))  # killed: own process
        proc = subprocess.Popen(cmd, cwd=ROOT, env=subprocess_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.time() + 600
        while not happened(work):
            assert proc.poll() is None, f"kill {i + 1}: the run ended (rc {proc.returncode}) before {what}"
            assert time.time() < deadline, f"kill {i + 1}: no {what} within 600 s"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL, f"kill {i + 1} ({what}): the run was not killed"
        _, meta = load_checkpoint(last)  # loads whole, and holds at least the save before the event
        assert meta["global_step"] >= min_step, (what, meta)
        if os.path.isfile(best):
            load_checkpoint(best)
    res = run_command("train", "--no-progress", "--resume", work)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert partial_files(work) == []
    _, meta = load_checkpoint(last)
    assert (meta["epoch"], meta["step_in_epoch"]) == (2, 0)
    log, full_log = read_log(work), read_log(full_run[0])
    assert [r["global_step"] for r in log if r["type"] == "step"] == [
        r["global_step"] for r in full_log if r["type"] == "step"]  # every step once, in order
    epochs, full_epochs = ([r for r in lg if r["type"] == "epoch"] for lg in (log, full_log))
    assert [r["epoch"] for r in epochs] == [1, 2]
    for got, want in zip(epochs, full_epochs):  # losses of whole epochs, across the kills
        assert got["loss_steps"] == 10 and got["loss"] == pytest.approx(want["loss"], rel=1e-4)
    summary = json.load(open(os.path.join(work, "summary.json")))
    best_meta = load_checkpoint(best)[1]
    assert (summary["best_epoch"], summary["best_mean_f1"], summary["thresholds"]) == (
        best_meta["epoch"], best_meta["mean_f1"], best_meta["thresholds"])


@pytest.mark.slow
def test_resume_refuses_a_folder_that_is_not_a_work_dir(tmp_path):
    res = run_command("train", "--no-progress", "--resume", str(tmp_path))
    assert res.returncode == 2 and "not a work dir" in res.stderr


@pytest.mark.slow
def test_backbone_init_is_loaded_and_reported(tmp_path, synthetic_root, capsys):
    """model.backbone_init: the backbone starts from the given weights and the trainer says what it loaded."""
    import mindspore as ms

    from mindface_au import build_model
    from mindface_au.checkpoint import save_checkpoint
    from mindface_au.engine.trainer import config_for_run, train

    extra = ["--set", "train.lr=0.0", "--set", "train.ckpt_interval=1", "--set", "train.freeze_bn=true"]
    args = tiny_train_args(synthetic_root, str(tmp_path / "init"), extra=extra)
    cfg = config_for_run(None, overrides(args))
    ms.set_seed(123)
    donor = build_model(cfg)
    save_checkpoint(donor, str(tmp_path / "donor.ckpt"), {"config": cfg})
    cfg["model"]["backbone_init"] = str(tmp_path / "donor.ckpt")
    train(cfg, progress=False, callbacks=[StopAfterSteps(1)])
    out = capsys.readouterr().out
    assert "backbone_init:" in out and "donor.ckpt" in out
    trained, _ = load_checkpoint(str(tmp_path / "init" / "last.ckpt"))
    # lr 0 and frozen BN: after one step the backbone still holds exactly the donor's weights
    for name in ("backbone.conv1.weight", "backbone.layer4.0.conv2.weight", "backbone.fc.weight"):
        np.testing.assert_array_equal(trained[name].asnumpy(), dict(donor.parameters_and_names())[name].asnumpy())
