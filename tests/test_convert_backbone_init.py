"""model.backbone_init: converted backbone weights load into an AU net and are reported; the CLI and zoo names."""
import os

import numpy as np
import pytest

import mindspore as ms
import mindspore.nn as nn

from mindface_au import build_model
from mindface_au.convert import (ConversionError, convert_state_dict, export_torch, save_converted, verify_zoo_file,
                                 zoo_filename)
from mindface_au.weights import CheckpointMismatch, load_backbone_init
from mindface_au.convert.pth_writer import write_pth

from testlib import tiny_config
from testlib.run import run_command
from testlib.convert import MINI, iresnet_forward, mini_authors_sd, mini_insightface_sd


def _params(net):
    return {n: p.asnumpy().copy() for n, p in net.parameters_and_names()}


def _check_loaded(net, before, sd):
    """Backbone parameters now hold ``sd``'s values; everything else is unchanged."""
    after = _params(net)
    np.testing.assert_array_equal(after["backbone.layer2.0.conv1.weight"], sd["layer2.0.conv1.weight"])
    np.testing.assert_array_equal(after["backbone.layer3.0.bn2.moving_variance"], sd["layer3.0.bn2.running_var"])
    np.testing.assert_array_equal(after["backbone.features.beta"], sd["features.bias"])
    for name, value in before.items():
        if not name.startswith("backbone."):
            np.testing.assert_array_equal(after[name], value, err_msg=name)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """A mini insightface backbone as .pth and as a converted MindSpore .ckpt."""
    from mindface_au import create_model

    tmp = tmp_path_factory.mktemp("bbinit")
    sd = mini_insightface_sd(input_size=32, seed=11)
    pth = write_pth(sd, str(tmp / "backbone.pth"))
    shapes = {n: tuple(p.shape) for n, p in create_model("iresnet_mini", input_size=32).parameters_and_names()}
    params, _ = convert_state_dict(sd, "insightface", shapes)
    ckpt = save_converted(params, str(tmp / "iresnet_mini_test.ckpt"), {"kind": "insightface",
                                                                        "converted_from": "backbone.pth"})
    return sd, pth, ckpt


def test_backbone_init_from_converted_ckpt(converted):
    sd, _, ckpt = converted
    net = build_model(tiny_config(**{"model.backbone_init": ckpt}))
    before = _params(net)
    report = load_backbone_init(net, ckpt)
    n_backbone = sum(1 for n in before if n.startswith("backbone."))
    assert len(report.loaded) == n_backbone and report.skipped == []
    _check_loaded(net, before, sd)
    text = str(report)
    assert f"loaded {n_backbone} backbone parameters from {ckpt}" in text
    assert "converted from backbone.pth" in text


def test_backbone_init_from_pth_on_the_fly(converted):
    sd, pth, _ = converted
    net = build_model(tiny_config())
    before = _params(net)
    report = load_backbone_init(net, pth, backend="builtin")
    _check_loaded(net, before, sd)
    assert report.source_format == "pytorch insightface backbone"
    assert report.conversion is not None and report.conversion.ok
    assert "mapped" in str(report)  # the conversion table is part of the report


def test_backbone_init_takes_backbone_part_of_authors_pth(tmp_path):
    sd = mini_authors_sd(seed=12)
    pth = write_pth(sd, str(tmp_path / "authors.pth"))
    net = build_model(tiny_config())
    before = _params(net)
    report = load_backbone_init(net, pth, backend="builtin")
    bare = {k[len("backbone."):]: v for k, v in sd.items() if k.startswith("backbone.")}
    _check_loaded(net, before, bare)
    assert report.skipped and all(k.startswith(("neck.", "head.")) for k in report.skipped)


def test_backbone_init_takes_backbone_part_of_whole_network_ckpt(tmp_path):
    donor = build_model(tiny_config())
    ckpt = save_converted(_params(donor), str(tmp_path / "whole.ckpt"))
    net = build_model(tiny_config())
    report = load_backbone_init(net, ckpt)
    after = _params(net)
    donor_params = _params(donor)
    np.testing.assert_array_equal(after["backbone.layer4.0.conv2.weight"], donor_params["backbone.layer4.0.conv2.weight"])
    assert "arl.graph.U.weight" in report.skipped
    assert not np.array_equal(after["arl.graph.U.weight"], donor_params["arl.graph.U.weight"])


def test_backbone_init_refuses_wrong_input_size_naming_fc(converted):
    _, pth, ckpt = converted
    net = build_model(tiny_config(**{"model.input_size": 48}))  # fc input 128*3*3, not 128*2*2
    with pytest.raises(CheckpointMismatch, match=r"fc\.weight: checkpoint \(128, 512\) vs network \(128, 1152\)"):
        load_backbone_init(net, ckpt)
    with pytest.raises(ConversionError, match=r"fc\.weight"):
        load_backbone_init(net, pth, backend="builtin")


def test_backbone_init_refuses_incomplete_checkpoint(tmp_path, converted):
    sd, _, _ = converted
    partial = {k: v for k, v in sd.items() if not k.startswith("layer4.")}
    pth = write_pth(partial, str(tmp_path / "partial.pth"))
    with pytest.raises(ConversionError, match=r"layer4\.0\.conv1\.weight \(expects torch key layer4\.0\.conv1\.weight\)"):
        load_backbone_init(build_model(tiny_config()), pth, backend="builtin")
    with pytest.raises(FileNotFoundError, match="backbone_init"):
        load_backbone_init(build_model(tiny_config()), str(tmp_path / "absent.ckpt"))


def test_export_torch_round_trip(tmp_path):
    sd = mini_authors_sd(seed=13)
    net = build_model(tiny_config())
    shapes = {n: tuple(p.shape) for n, p in net.parameters_and_names()}
    params, _ = convert_state_dict(sd, "authors", shapes)
    out = export_torch(params, "authors", str(tmp_path / "back.pth"))
    from mindface_au.convert import read_state_dict

    back = read_state_dict(out, backend="builtin")
    assert sorted(back) == sorted(sd)
    for k in sd:
        if not k.endswith("num_batches_tracked"):
            np.testing.assert_array_equal(back[k], sd[k], err_msg=k)


def test_zoo_names(tmp_path):
    p = tmp_path / "model.ckpt"
    p.write_bytes(b"weights")
    name = zoo_filename(str(p), "au_net_r100_attention_affwild2")
    import hashlib

    assert name == f"au_net_r100_attention_affwild2-{hashlib.sha256(b'weights').hexdigest()[:8]}.ckpt"
    (tmp_path / name).write_bytes(b"weights")
    assert verify_zoo_file(str(tmp_path / name))
    (tmp_path / name).write_bytes(b"tampered")
    assert not verify_zoo_file(str(tmp_path / name))
    with pytest.raises(ValueError, match="must look like"):
        zoo_filename(str(p), "nounderscore")


def _tool(*args):
    return run_command("convert", *args)


@pytest.mark.slow
def test_cli_converts_prints_table_and_renames_to_zoo(tmp_path):
    sd = mini_insightface_sd(input_size=32, seed=14)
    src = write_pth(sd, str(tmp_path / "backbone.pth"))
    out = tmp_path / "conv.ckpt"
    res = _tool("--src", src, "--kind", "insightface", "--arch", "iresnet_mini", "--set", "model.input_size=32",
                "--out", str(out), "--backend", "builtin", "--zoo-name", "iresnet_mini_test")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "OK: every key placed" in res.stdout and "TOTAL" in res.stdout
    written = [f for f in os.listdir(tmp_path) if f.startswith("iresnet_mini_test-")]
    assert len(written) == 1 and verify_zoo_file(str(tmp_path / written[0]))
    # a bad key: exit status 2 and the key's name on stderr, no output file
    sd["layer1.0.conv1.weight"] = np.zeros((16, 16, 1, 1), np.float32)
    bad = write_pth(sd, str(tmp_path / "bad.pth"))
    res = _tool("--src", bad, "--kind", "insightface", "--arch", "iresnet_mini", "--set", "model.input_size=32",
                "--out", str(tmp_path / "bad.ckpt"), "--backend", "builtin")
    assert res.returncode == 2
    assert "layer1.0.conv1.weight" in res.stderr and "FAILED" in res.stderr
    assert not (tmp_path / "bad.ckpt").exists()


class _Embedding(nn.Cell):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def construct(self, x):
        return self.net.backbone(x)[1]


def test_backbone_init_in_graph_mode_after_compilation(converted):
    """Weights loaded into an already compiled GRAPH_MODE network are the ones it computes with."""
    sd, _, ckpt = converted
    ms.set_context(mode=ms.GRAPH_MODE)
    net = build_model(tiny_config())
    net.set_train(False)
    emb = _Embedding(net)
    x = np.random.default_rng(15).standard_normal((2, 3, 32, 32)).astype(np.float32)
    before = emb(ms.Tensor(x)).asnumpy()
    load_backbone_init(net, ckpt)
    after = emb(ms.Tensor(x)).asnumpy()
    ref = iresnet_forward(sd, x.astype(np.float64), MINI["layers"])[1]
    assert np.abs(before - ref).max() > 1e-2
    assert np.abs(after - ref).max() <= 1e-4 * np.abs(ref).max()
