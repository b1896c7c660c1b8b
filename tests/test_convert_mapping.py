"""Key maps both ways: every torch key of r18/r50/r100 placed, every MindSpore parameter filled; bad keys named."""
import numpy as np
import pytest

from mindface_au import build_model, create_model
from mindface_au.convert import (ConversionError, convert_state_dict, to_torch_state_dict)
from mindface_au.convert.mapping import match_torch_key, torch_keys_for

from testlib import tiny_config
from testlib.convert import LAYERS, arcface_keys, authors_keys, mini_authors_sd, mini_insightface_sd


def _shapes(net):
    return {n: tuple(p.shape) for n, p in net.parameters_and_names()}


@pytest.mark.parametrize("arch", ["r18", "r50", "r100"])
def test_insightface_keys_map_onto_iresnet_both_ways(arch):
    net_shapes = _shapes(create_model(f"iresnet{arch[1:]}"))
    keys = arcface_keys(LAYERS[arch])
    torch_names = [k for k, _ in keys]
    mapped = {}
    for key, shape in keys:
        m = match_torch_key(key, "insightface")
        if key.endswith("num_batches_tracked"):
            assert m.ms_name is None and m.reason == "ignored"
            continue
        assert m.ms_name in net_shapes, (key, m)
        assert net_shapes[m.ms_name] == shape, key
        assert m.ms_name not in mapped, f"{key} and {mapped.get(m.ms_name)} both map to {m.ms_name}"
        mapped[m.ms_name] = key
    assert set(mapped) == set(net_shapes)  # every parameter filled
    # reverse: every MindSpore name goes back to the key it came from
    for ms_name, key in mapped.items():
        assert torch_keys_for(ms_name, "insightface") == [key]
    # the reverse state_dict has exactly the torch key set, num_batches_tracked included
    back = to_torch_state_dict({n: np.zeros(s, np.float32) for n, s in net_shapes.items()}, "insightface")
    assert sorted(back) == sorted(torch_names)
    assert {k: back[k].shape for k in back} == {k: s for k, s in keys}


@pytest.mark.parametrize("arch,layers", [("r18", 2), ("r50", 4)])
def test_authors_keys_map_onto_au_net_both_ways(arch, layers):
    cfg = tiny_config(**{"model.backbone": f"iresnet{arch[1:]}", "model.input_size": 112,
                         "model.fusion.num_layers": layers, "model.fusion.ffn_dim": 3072})
    net_shapes = _shapes(build_model(cfg))
    keys = authors_keys(LAYERS[arch], enc_layers=layers)
    sd = {k: np.zeros(s, np.int64 if k.endswith("num_batches_tracked") else np.float32) for k, s in keys}
    params, report = convert_state_dict(sd, "authors", net_shapes)
    assert report.ok and set(params) == set(net_shapes)
    assert report.counts()["ignored"] == sum(k.endswith("num_batches_tracked") for k in sd)
    assert report.counts()["mapped"] == len(sd) - report.counts()["ignored"]
    back = to_torch_state_dict(params, "authors")
    assert sorted(back) == sorted(sd)
    assert all(back[k].shape == sd[k].shape for k in sd)


def test_values_land_where_they_belong_and_au_linears_stack_in_order():
    sd = mini_authors_sd()
    net_shapes = _shapes(build_model(tiny_config()))
    params, report = convert_state_dict(sd, "authors", net_shapes)
    c = 128
    for i in range(12):
        np.testing.assert_array_equal(params["arl.au_linears.weight"][i * c:(i + 1) * c],
                                      sd[f"neck.class_linears.{i}.fc.weight"])
        np.testing.assert_array_equal(params["arl.au_linears.bias"][i * c:(i + 1) * c],
                                      sd[f"neck.class_linears.{i}.fc.bias"])
    pairs = {
        "backbone.layer2.0.bn1.gamma": "backbone.layer2.0.bn1.weight",
        "backbone.layer2.0.bn1.moving_variance": "backbone.layer2.0.bn1.running_var",
        "backbone.layer3.0.prelu.w": "backbone.layer3.0.prelu.weight",
        "backbone.features.beta": "backbone.features.bias",
        "lrp.lanets.7.body.1.weight": "neck.lanets.neck_lanets7.1.weight",
        "arl.graph.bn.moving_mean": "neck.gnn.bnv.running_mean",
        "fusion.weight_token": "neck.fusion_weight_token",
        "fusion.layers.1.attn.in_proj.weight": "neck.encoder_layers.neck_transformer_layer1.self_attn.in_proj_weight",
        "fusion.layers.0.attn.out_proj.bias": "neck.encoder_layers.neck_transformer_layer0.self_attn.out_proj.bias",
        "fusion.layers.0.norm2.gamma": "neck.encoder_layers.neck_transformer_layer0.norm2.weight",
        "au_classifier.weight": "head.fc.weight",
        "backbone_head.bias": "head.fc_backbone_out.bias",
        "fusion.weight_head.weight": "head.fc_fusion_weight.weight",
    }
    for ms_name, key in pairs.items():
        np.testing.assert_array_equal(params[ms_name], sd[key], err_msg=ms_name)
    # the reverse map returns the very same arrays
    back = to_torch_state_dict(params, "authors")
    for key, value in sd.items():
        if not key.endswith("num_batches_tracked"):
            np.testing.assert_array_equal(back[key], value, err_msg=key)
    assert any(m.note == "rows 256:384" for m in report.mapped)


def _mini_shapes():
    return _shapes(create_model("iresnet_mini", input_size=32))


def test_mis_shaped_key_is_refused_with_its_name():
    sd = mini_insightface_sd()
    sd["layer2.0.conv1.weight"] = np.zeros((32, 16, 3, 1), np.float32)
    with pytest.raises(ConversionError, match=r"layer2\.0\.conv1\.weight.*\(32, 16, 3, 1\).*\(32, 16, 3, 3\)"):
        convert_state_dict(sd, "insightface", _mini_shapes())


def test_unknown_key_is_refused_with_its_name():
    sd = mini_insightface_sd()
    sd["layer2.0.se.fc1.weight"] = np.zeros((4, 32), np.float32)
    with pytest.raises(ConversionError) as err:
        convert_state_dict(sd, "insightface", _mini_shapes())
    assert "layer2.0.se.fc1.weight: unknown insightface key" in str(err.value)
    assert err.value.report.unused == [("layer2.0.se.fc1.weight", "unknown insightface key (no mapping rule)")]


def test_missing_key_is_named_with_the_torch_key_it_needs():
    sd = mini_insightface_sd()
    del sd["layer3.0.prelu.weight"]
    with pytest.raises(ConversionError, match=r"layer3\.0\.prelu\.w \(expects torch key layer3\.0\.prelu\.weight\)"):
        convert_state_dict(sd, "insightface", _mini_shapes())


def test_key_for_a_layer_the_network_lacks_is_refused():
    sd = mini_insightface_sd()
    sd["layer4.1.prelu.weight"] = np.zeros(128, np.float32)  # a second block the mini net does not have
    with pytest.raises(ConversionError, match=r"layer4\.1\.prelu\.weight: maps to layer4\.1\.prelu\.w, which this"):
        convert_state_dict(sd, "insightface", _mini_shapes())


def test_integer_tensor_for_a_weight_is_refused():
    sd = mini_insightface_sd()
    sd["fc.bias"] = np.zeros(128, np.int64)
    with pytest.raises(ConversionError, match="fc.bias: holds int64"):
        convert_state_dict(sd, "insightface", _mini_shapes())


def test_float16_weights_are_cast_and_noted():
    sd = mini_insightface_sd()
    sd["fc.weight"] = sd["fc.weight"].astype(np.float16)
    params, report = convert_state_dict(sd, "insightface", _mini_shapes())
    assert params["fc.weight"].dtype == np.float32
    assert [m.note for m in report.mapped if m.torch_key == "fc.weight"] == ["float16 -> float32"]


def test_extra_encoder_layers_are_refused_with_a_hint():
    sd = mini_authors_sd(enc_layers=4)
    with pytest.raises(ConversionError) as err:
        convert_state_dict(sd, "authors", _shapes(build_model(tiny_config())))
    text = str(err.value)
    assert "neck.encoder_layers.neck_transformer_layer3.linear1.weight" in text
    assert "model.fusion.num_layers=4" in text


def test_missing_per_au_linear_is_named():
    sd = mini_authors_sd()
    del sd["neck.class_linears.5.fc.bias"]
    with pytest.raises(ConversionError, match=r"arl\.au_linears\.bias \(expects torch key neck\.class_linears\.5\.fc\.bias\)"):
        convert_state_dict(sd, "authors", _shapes(build_model(tiny_config())))


def test_unsupported_authors_variant_is_explained():
    sd = mini_authors_sd()
    sd["neck.residual_attention.csra_heads.0.head.weight"] = np.zeros((12, 128, 1, 1), np.float32)
    with pytest.raises(ConversionError, match="CSRA"):
        convert_state_dict(sd, "authors", _shapes(build_model(tiny_config())))


def test_wrong_kind_gets_a_hint():
    sd = mini_authors_sd()
    with pytest.raises(ConversionError, match="use --kind authors"):
        convert_state_dict(sd, "insightface", _mini_shapes())


def test_report_table_counts():
    params, report = convert_state_dict(mini_insightface_sd(), "insightface", _mini_shapes())
    table = report.format()
    assert "OK: every key placed" in table
    n_bn = sum(1 for n in _mini_shapes() if n.endswith("moving_mean"))
    assert report.counts() == {"torch_keys": len(_mini_shapes()) + n_bn, "mapped": len(_mini_shapes()),
                               "ignored": n_bn, "unused": 0, "missing": 0, "mismatched": 0}
    assert any(line.startswith("layer1") and line.split()[1:3] == ["20", "4"] for line in table.splitlines())
