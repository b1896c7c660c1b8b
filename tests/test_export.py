"""tools/export.py: MindIR and ONNX with a dynamic batch, checked in a fresh process; bad checkpoints refused."""
import os

import numpy as np
import pytest

import mindspore as ms

from mindface_au import build_model
from mindface_au.checkpoint import save_checkpoint
from mindface_au.export import load_exported

from testlib import ROOT, tiny_config
from testlib.run import run_command

pytestmark = pytest.mark.slow  # runs of the tools

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


def test_export_without_checkpoint_warns_random_weights(tmp_path):
    res = run_tool("--out", str(tmp_path / "r"), "--check-batches", "", *TINY)
    assert res.returncode == 0, res.stderr
    assert "RANDOM weights" in res.stderr
    assert os.path.isfile(tmp_path / "r.mindir")
