"""mindface_au.weights: one loader for .ckpt / .pth / backbone init, one mismatch report for all of them."""
import numpy as np
import pytest

from mindface_au import build_model, create_model
from mindface_au.checkpoint import save_checkpoint
from mindface_au.convert.pth_writer import write_pth
from mindface_au.factory import convert_file
from mindface_au.weights import CheckpointMismatch, fit_report, load_backbone_init, load_into, load_weights

from testlib import tiny_config
from testlib.convert import mini_authors_sd


def _params(net):
    return {n: p.asnumpy().copy() for n, p in net.parameters_and_names()}


def test_fit_report_names_every_kind_in_one_message():
    fit = fit_report({"a": (2,), "b": (3, 3), "c": (1,)}, {"a": (2,), "b": (3, 4), "d": (5,)})
    assert (fit.missing, fit.unexpected, fit.mismatched) == (["c"], ["d"], [("b", (3, 4), (3, 3))])
    msg = fit.message("x.ckpt")
    assert msg.splitlines() == ["x.ckpt does not fit the network:", "  missing (1): c", "  unexpected (1): d",
                                "  mismatched (1): b: checkpoint (3, 4) vs network (3, 3)"]
    assert fit_report({"a": (1,)}, {"a": (1,)}).ok


def test_checkpoint_and_backbone_init_misfits_read_the_same(tmp_path):
    small = create_model("iresnet_mini", input_size=32)
    path = str(tmp_path / "mini32.ckpt")
    save_checkpoint(small, path)
    with pytest.raises(CheckpointMismatch) as whole:
        load_weights(create_model("iresnet_mini", input_size=48), path)
    with pytest.raises(CheckpointMismatch) as backbone:
        load_backbone_init(build_model(tiny_config(**{"model.input_size": 48})), path)
    want = "mismatched (1): fc.weight: checkpoint (128, 512) vs network (128, 1152)"
    assert want in str(whole.value) and want in str(backbone.value)
    assert str(whole.value).startswith(f"{path} does not fit the network:")
    assert str(backbone.value).startswith(f"model.backbone_init: {path} does not fit the backbone (AUNet.backbone):")
    assert "hint: the embedding fc" in str(whole.value) and "hint: the embedding fc" in str(backbone.value)


def test_load_into_refuses_unless_lenient_and_then_loads_what_fits():
    net = create_model("iresnet_mini", input_size=32)
    params = _params(net)
    params["fc.weight"] = np.zeros((3, 3), np.float32)
    params["extra"] = np.ones(2, np.float32)
    params["conv1.weight"] = params["conv1.weight"] + 1.0
    with pytest.raises(CheckpointMismatch, match=r"unexpected \(1\): extra"):
        load_into(net, params)
    report = load_into(net, params, strict=False)
    assert report["unexpected"] == ["extra"] and report["mismatched"][0].startswith("fc.weight")
    np.testing.assert_array_equal(net.conv1.weight.asnumpy(), params["conv1.weight"])


def test_a_pth_loads_like_its_converted_checkpoint(tmp_path):
    pth = write_pth(mini_authors_sd(seed=3), str(tmp_path / "authors.pth"))
    sets = ["model.backbone=iresnet_mini", "model.input_size=32", "model.fusion.ffn_dim=64"]
    params, _, _ = convert_file(pth, "authors", overrides=sets, backend="builtin")
    direct = build_model(tiny_config())
    load_weights(direct, pth, backend="builtin")
    got = _params(direct)
    assert set(got) == set(params)
    for name, value in params.items():
        np.testing.assert_array_equal(got[name], value, err_msg=name)


def test_each_name_has_one_home_and_old_paths_are_gone():
    import mindface_au
    import mindface_au.checkpoint as ckpt
    import mindface_au.convert as convert
    import mindface_au.factory as factory
    import mindface_au.models as models
    import mindface_au.weights as weights

    assert mindface_au.create_model is factory.create_model and mindface_au.build_model is factory.build_model
    for module, names in ((ckpt, ("restore_model", "load_into", "CheckpointMismatch", "config_from_checkpoint")),
                          (convert, ("load_backbone_init", "BackboneInitReport", "convert_file", "build_target")),
                          (weights, ("restore_model", "config_from_checkpoint", "load_pretrained")),
                          (models, ("create_model", "build_model"))):
        assert not [n for n in names if hasattr(module, n)], module.__name__


def test_a_pth_needs_a_network_that_names_its_torch_layout(tmp_path):
    import mindspore.nn as nn

    pth = write_pth(mini_authors_sd(seed=3), str(tmp_path / "authors.pth"))
    with pytest.raises(TypeError, match=r"Dense has no checkpoint_filter_fn"):
        load_weights(nn.Dense(2, 2), pth, backend="builtin")
