"""device: auto and the fallback of eval/export/infer; an absent device named for training is one clear line."""
import json
import os

import cv2
import numpy as np
import pytest

import mindspore as ms

from mindface_au import build_model, runtime
from mindface_au.checkpoint import save_checkpoint
from mindface_au.cli import make_parser
from mindface_au.config import ConfigError, load_config
from mindface_au.constants import ABAW_HEADER
from mindface_au.data.abaw import ANNOTATION_SUBDIR, FRAME_FORMAT, IMAGE_SUBDIR

from testlib.run import run_command

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["model.backbone=iresnet_mini", "model.input_size=32", "model.fusion.ffn_dim=64", "data.num_workers=1",
        "eval.batch_size=8"]
ABSENT = next((d for d in ("Ascend", "GPU") if d not in runtime.available_devices()), None)
needs_absent = pytest.mark.skipif(ABSENT is None, reason="this machine has both Ascend and GPU")


# the device notice is printed once per process: the commands that print it run in their own
NOTICE_RUN = {"own_process": True}


def notices(stderr):
    return [line for line in stderr.splitlines() if line.startswith("notice: device")]


@pytest.fixture(scope="module")
def ascend_ckpt(tmp_path_factory):
    """A tiny checkpoint whose saved config says ``device: Ascend`` (as every paper recipe did), and a
    2-video ABAW validation tree of 6 frames each."""
    base = tmp_path_factory.mktemp("device")
    rng = np.random.default_rng(0)
    ann = base / "data" / ANNOTATION_SUBDIR / "Validation_Set"
    ann.mkdir(parents=True)
    for video in ("vidA", "vidB"):
        d = base / "data" / IMAGE_SUBDIR / video
        d.mkdir(parents=True)
        labels = rng.integers(0, 2, (6, 12))
        (ann / f"{video}.txt").write_text(ABAW_HEADER + "\n" + "\n".join(",".join(map(str, r)) for r in labels) + "\n")
        for k in range(1, 7):
            cv2.imwrite(str(d / FRAME_FORMAT.format(k)), rng.integers(0, 255, (112, 112, 3), dtype=np.uint8))
    cfg = load_config(None, TINY + ["device=Ascend", f"data.root={base / 'data'}"])
    assert cfg["device"] == "Ascend"
    ms.set_seed(0)
    net = build_model(cfg)
    save_checkpoint(net, str(base / "m.ckpt"), {"config": cfg, "thresholds": [0.5] * 12})
    return base


@needs_absent
@pytest.mark.slow
def test_export_of_an_ascend_checkpoint_runs_here_with_one_notice(ascend_ckpt):
    base = ascend_ckpt
    res = run_command("export", "--ckpt", str(base / "m.ckpt"), "--format", "ONNX", "--out", str(base / "m.onnx"),
                      "--check-batches", "2", **NOTICE_RUN)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    assert os.path.getsize(base / "m.onnx") > 0
    assert len(notices(res.stderr)) == 1 and "'Ascend'" in res.stderr and "m.ckpt" in res.stderr


@needs_absent
@pytest.mark.slow
def test_eval_of_an_ascend_checkpoint_runs_here_with_one_notice(ascend_ckpt):
    base = ascend_ckpt
    res = run_command("eval", "--ckpt", str(base / "m.ckpt"), "--out", str(base / "eval"), **NOTICE_RUN)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    result = json.load(open(base / "eval" / "eval_result.json"))
    assert result["frames"] == 12 and len(result["per_au_f1"]) == 12
    assert len(notices(res.stderr)) == 1


@needs_absent
@pytest.mark.slow
def test_infer_of_an_ascend_checkpoint_runs_here_with_one_notice(ascend_ckpt):
    base = ascend_ckpt
    crops = base / "data" / IMAGE_SUBDIR / "vidA"
    res = run_command("infer", str(crops), "--aligned", "--ckpt", str(base / "m.ckpt"), "--out", str(base / "inf"),
                      "--no-progress", **NOTICE_RUN)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    csvs = [n for n in os.listdir(base / "inf") if n.endswith(".csv")]
    assert len(csvs) == 1
    assert len(open(base / "inf" / csvs[0]).read().strip().splitlines()) == 1 + 6  # header + one row per crop
    assert len(notices(res.stderr)) == 1


@needs_absent
def test_training_on_an_absent_device_is_one_line_naming_device_and_the_recipe(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"_base_: {os.path.join(ROOT, 'configs', 'demo_cpu.yaml')}\ndevice: {ABSENT}\n"
                      f"train: {{work_dir: {tmp_path / 'run'}}}\n")
    res = run_command("train", "--config", str(recipe), "--no-progress")
    assert res.returncode == 2, res.stdout[-2000:] + res.stderr[-3000:]
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"error: {recipe}: device: '{ABSENT}' is not available"), lines[0]
    assert not os.path.exists(tmp_path / "run" / "config.yaml")  # nothing started


@needs_absent
def test_device_flag_of_train_is_named_in_the_error(tmp_path):
    res = run_command("train", "--device", ABSENT, "--set", f"train.work_dir={tmp_path / 'run'}")
    assert res.returncode == 2
    assert res.stderr.strip() == (f"error: --set device={ABSENT}: device: '{ABSENT}' is not available here "
                                  f"(this MindSpore build and machine have {', '.join(runtime.available_devices())}); "
                                  "use device: auto or one of them, e.g. --device auto")


def test_auto_is_the_default_and_resolves_to_the_best_present(monkeypatch):
    assert load_config(None)["device"] == "auto"
    assert load_config(os.path.join(ROOT, "configs", "paper_r100_attention.yaml"))["device"] == "auto"
    monkeypatch.setattr(runtime, "available_devices", lambda: ("GPU", "CPU"))
    assert runtime.resolve_device("auto") == "GPU"
    assert runtime.resolve_device("CPU") == "CPU"
    assert runtime.default_amp_level("auto") == "O2"
    with pytest.raises(ConfigError, match=r"^a\.yaml: device: 'Ascend' is not available here \(this MindSpore "
                                          r"build and machine have GPU, CPU\)"):
        runtime.resolve_device("Ascend", source="a.yaml")


def test_fallback_gives_one_notice_per_source(monkeypatch, capsys):
    monkeypatch.setattr(runtime, "available_devices", lambda: ("CPU",))
    monkeypatch.setattr(runtime, "_NOTICES", set())
    assert [runtime.resolve_device("Ascend", fallback=True, source="m.ckpt") for _ in range(3)] == ["CPU"] * 3
    err = capsys.readouterr().err.splitlines()
    assert err == ["notice: device 'Ascend' (from m.ckpt) is not available here; running on CPU"]


def test_setup_for_config_writes_back_the_device_that_runs_and_names_the_recipe(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("device: auto\n")
    cfg = load_config(str(recipe), ["mode=pynative"])
    assert cfg.sources["device"] == str(recipe) and cfg.sources["mode"] == "--set mode=pynative"
    assert runtime.setup_for_config(cfg, seed=False) == runtime.available_devices()[0] == cfg["device"]
    if ABSENT is not None:
        recipe.write_text(f"device: {ABSENT}\n")
        with pytest.raises(ConfigError, match=f"^{recipe}: device: '{ABSENT}'"):
            runtime.setup_for_config(load_config(str(recipe), ["mode=pynative"]), seed=False)


def test_device_option_is_an_override_and_the_last_one_wins():
    parser = make_parser("x")
    args = parser.parse_args(["--set", "device=GPU", "--device", "CPU", "--set", "seed=3"])
    assert args.overrides == ["device=GPU", "device=CPU", "seed=3"] and args.device == "CPU"
    assert load_config(None, args.overrides)["device"] == "CPU"
    assert make_parser("x").parse_args([]).overrides == []
    with pytest.raises(SystemExit):
        make_parser("x").parse_args(["--device", "TPU"])
