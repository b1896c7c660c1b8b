"""create_model / build_model / list_models: presets keep their choices, typos raise, weights load strictly;
forward_intermediates is the forward pass that gives the logits."""
import numpy as np
import pytest

import mindspore as ms

from mindface_au import build_model, create_model, list_models, load_config, model_defaults
from mindface_au.config import ConfigError
from mindface_au.models import AUNet
from mindface_au.presets import AU_NET_PRESETS as PRESETS
from mindface_au.presets import preset_names
from mindface_au.models.fusion import AttentionFusion, FixedFusion
from mindface_au.models.iresnet import ARCHS
from mindface_au.weights import CheckpointMismatch

from testlib import T, tiny_config

FUSION_CLASS = {"attention": AttentionFusion, "fixed": FixedFusion}


def _stage3_blocks(net):
    return len(net.backbone.layer3)


@pytest.mark.parametrize("name", [pytest.param(n, marks=[] if n.startswith("au_net_r18") else pytest.mark.slow)
                                  for n in sorted(PRESETS)])
def test_create_model_builds_the_presets_backbone_and_fusion(name):
    backbone, kind = PRESETS[name]
    assert name in list_models("network")
    net = create_model(name)
    assert isinstance(net, AUNet) and isinstance(net.fusion, FUSION_CLASS[kind])
    assert _stage3_blocks(net) == ARCHS[backbone][2]  # e.g. 30 for iresnet100, 14 for iresnet50
    assert net.default_cfg is model_defaults(name)
    assert (net.default_cfg.url, net.default_cfg.file) == ("", "")  # no weights published yet


def test_every_name_has_defaults():
    for name in list_models():
        d = model_defaults(name)
        assert d.input_size == 112 and d.norm == "imagenet" and d.resize == 128
    assert set(list_models("network")) == {"au_net", *PRESETS}
    assert list_models() == preset_names()  # the registry's code and the presets' data name the same models


def test_a_registered_user_model_is_a_model_name_configs_accept():
    from mindface_au.models import ModelDefaults, register_model
    from mindface_au.models.registry import _MODELS
    from mindface_au.presets import PRESETS as DEFAULTS

    try:
        @register_model("my_au_net", defaults=ModelDefaults(kwargs={"backbone": "iresnet_mini"}, input_size=32))
        def my_au_net(**kwargs):
            return create_model("au_net", **kwargs)

        cfg = load_config(None, ["model.name=my_au_net", "model.fusion.ffn_dim=64"])
        assert (cfg["model"]["backbone"], cfg["model"]["input_size"]) == ("iresnet_mini", 32)
        assert isinstance(build_model(cfg), AUNet) and "my_au_net" in list_models("network")
        with pytest.raises(ValueError, match="registered twice"):
            register_model("my_au_net")(my_au_net)
        DEFAULTS["listed_net"] = ModelDefaults()  # a name the presets list: its code may not bring other defaults
        with pytest.raises(ValueError, match="'listed_net' already has other defaults"):
            register_model("listed_net", defaults=ModelDefaults(input_size=64))(my_au_net)
    finally:
        for name in ("my_au_net", "listed_net"):
            _MODELS.pop(name, None)
            DEFAULTS.pop(name, None)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["au_net", "iresnet18", "iresnet34", "iresnet50", "iresnet100", "iresnet200"])
def test_create_model_builds_every_other_name(name):
    net = create_model(name)
    backbone = net.backbone if name == "au_net" else net
    arch = "iresnet100" if name == "au_net" else name
    assert len(backbone.layer3) == ARCHS[arch][2] and net.default_cfg is model_defaults(name)
    if name == "au_net":
        assert isinstance(net.fusion, AttentionFusion)


@pytest.mark.parametrize("how", ["yaml", "set"])
def test_config_naming_a_preset_and_no_backbone_gets_the_presets_backbone(tmp_path, how):
    if how == "yaml":
        path = tmp_path / "r18.yaml"
        path.write_text("model:\n  name: au_net_r18_attention\n  fusion:\n    ffn_dim: 64\n")
        cfg = load_config(str(path))
    else:
        cfg = load_config(None, ["model.name=au_net_r18_attention", "model.fusion.ffn_dim=64"])
    assert cfg["model"]["backbone"] == "iresnet18" and cfg["model"]["fusion"]["kind"] == "attention"
    net = build_model(cfg)
    assert _stage3_blocks(net) == ARCHS["iresnet18"][2]
    assert net.fusion.layers[0].linear1.weight.shape == (64, 512)  # the recipe's key reached the cell


def test_what_the_recipe_sets_wins_over_the_preset(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("model:\n  backbone: iresnet_mini\n  input_size: 32\n")
    child = tmp_path / "child.yaml"
    child.write_text("_base_: base.yaml\nmodel:\n  name: au_net_r100_fixed\n")
    cfg = load_config(str(child))
    assert (cfg["model"]["backbone"], cfg["model"]["input_size"], cfg["model"]["fusion"]["kind"]) == (
        "iresnet_mini", 32, "fixed")
    net = build_model(cfg)
    assert isinstance(net.fusion, FixedFusion) and net.backbone.out_channels == 128
    # a checkpoint's saved config rebuilds what it says, whatever the name's defaults
    again = load_config(None, ["model.name=au_net_r50_attention"], initial=cfg)
    assert again["model"]["backbone"] == "iresnet_mini"


def test_unknown_model_name_is_a_config_error_naming_key_and_file(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("model:\n  name: au_net_r50_atention\n")
    with pytest.raises(ConfigError, match=r"typo\.yaml: model\.name: unknown network 'au_net_r50_atention'"):
        load_config(str(path))
    with pytest.raises(ConfigError, match=r"--set model\.name=iresnet50: model\.name: unknown network"):
        load_config(None, ["model.name=iresnet50"])  # a backbone is no AU network


@pytest.mark.parametrize("name,kwargs", [
    ("iresnet_mini", {"num_clases": 5}),
    ("au_net", {"backbone": "iresnet_mini", "input_size": 32, "num_au": 12}),
    ("au_net", {"backbone": "iresnet_mini", "input_size": 32, "lrp": {"n_map": 4}}),
    ("au_net", {"backbone": "iresnet_mini", "input_size": 32, "arl": {"neighbour_num": 4}}),
    ("au_net_r18_attention", {"backbone": "iresnet_mini", "input_size": 32, "fusion": {"lamda": 0.5}}),
])
def test_a_typo_in_a_keyword_raises_type_error(name, kwargs):
    with pytest.raises(TypeError):
        create_model(name, **kwargs)


def test_section_keywords_reach_the_cells():
    net = create_model("au_net", backbone="iresnet_mini", input_size=32,
                       lrp={"n_maps": 3, "reduction": 4, "mad_p": 0.25}, arl={"neighbor_num": 2, "metric": "cosine"},
                       fusion={"kind": "fixed", "lam": 0.4, "ffn_dim": 8})  # ffn_dim: attention's key, unused here
    assert len(net.lrp.lanets) == 3 and net.lrp.mad.p == 0.25
    assert net.lrp.lanets[0].body[0].out_channels == 128 // 4
    assert (net.arl.graph.neighbor_num, net.arl.graph.metric) == (2, "cosine")
    assert isinstance(net.fusion, FixedFusion) and net.fusion.lam == 0.4


def test_pretrained_without_published_weights_says_so():
    with pytest.raises(ValueError, match=r"no weights are published for 'au_net_r50_attention'"):
        create_model("au_net_r50_attention", pretrained=True)


def test_checkpoint_path_and_published_file_url_load_strictly(tmp_path, monkeypatch):
    from mindface_au.checkpoint import save_checkpoint
    from dataclasses import replace

    from mindface_au.fileio import cache_dir
    from mindface_au.presets import PRESETS as DEFAULTS

    donor = create_model("iresnet_mini", input_size=32)
    path = str(tmp_path / "mini.ckpt")
    save_checkpoint(donor, path)
    want = {n: p.asnumpy() for n, p in donor.parameters_and_names()}

    def same(net):
        return all(np.array_equal(p.asnumpy(), want[n]) for n, p in net.parameters_and_names())

    assert same(create_model("iresnet_mini", input_size=32, checkpoint_path=path))
    assert not same(create_model("iresnet_mini", input_size=32))
    with pytest.raises(CheckpointMismatch, match=r"mismatched \(1\): fc\.weight"):
        create_model("iresnet_mini", input_size=48, checkpoint_path=path)

    monkeypatch.setenv("MINDFACE_AU_CACHE", str(tmp_path / "cache"))
    published = replace(DEFAULTS["iresnet_mini"], input_size=32, url=(tmp_path / "mini.ckpt").as_uri())
    monkeypatch.setitem(DEFAULTS, "iresnet_mini", published)
    assert same(create_model("iresnet_mini", pretrained=True))
    assert (tmp_path / "cache" / "weights" / "mini.ckpt").is_file() and cache_dir("weights").startswith(str(tmp_path))


def _count_calls(cell):
    calls = []
    original = cell.construct

    def counted(*args):
        calls.append(1)
        return original(*args)

    object.__setattr__(cell, "construct", counted)
    return calls


def test_forward_intermediates_is_the_pass_that_gives_the_logits():
    net = build_model(tiny_config())
    x = T(np.random.randn(3, 3, 32, 32))
    net.set_train(False)
    expect = net(x).asnumpy()
    calls = _count_calls(net.backbone)
    out = net.forward_intermediates(x)
    assert len(calls) == 1  # one pass through the backbone
    np.testing.assert_allclose(out["logits"].asnumpy(), expect, rtol=1e-6, atol=1e-7)
    assert out["attention_maps"].shape == (3, 12, 2, 2) and out["adjacency"].shape == (3, 12, 12)
    assert out["nodes"].shape == (3, 12, 128) and out["fusion_weights"].shape == (3, 12)
    adj = out["adjacency"].asnumpy()
    assert (adj >= 0).all() and (np.count_nonzero(adj, axis=-1) >= 4).all()  # k = 4 neighbours, normalised
    fmap, emb = net.forward_features(x)
    np.testing.assert_allclose(net.forward_head(fmap, emb).asnumpy(), expect, rtol=1e-6, atol=1e-7)


def test_forward_intermediates_agree_with_its_logits_in_training_mode():
    """MAD draws once: the maps, nodes and weights returned are those the logits came from."""
    net = build_model(tiny_config(**{"model.lrp.mad_p": 1.0, "model.fusion.dropout": 0.0}))
    net.set_train(True)
    out = net.forward_intermediates(T(np.random.randn(4, 3, 32, 32)))
    w = out["fusion_weights"].asnumpy()
    fused = (1 - w) * out["au_logits"].asnumpy() + w * out["backbone_logits"].asnumpy()
    np.testing.assert_allclose(out["logits"].asnumpy(), fused, rtol=1e-5, atol=1e-6)
    maps, weighted, fmap = (out[k].asnumpy() for k in ("attention_maps", "weighted_feature_map", "feature_map"))
    ratio = weighted / np.where(fmap == 0, 1, fmap)  # = max over the kept maps: one map dropped per sample
    kept_max = ratio[:, 0]
    all_max = maps.max(1)
    assert (kept_max <= all_max + 1e-5).all() and not np.allclose(kept_max, all_max)


def test_graph_mode_construct_equals_forward_intermediates():
    net = build_model(tiny_config())
    net.set_train(False)
    x = T(np.random.randn(2, 3, 32, 32))
    eager = net.forward_intermediates(x)["logits"].asnumpy()
    ms.set_context(mode=ms.GRAPH_MODE)
    np.testing.assert_allclose(net(x).asnumpy(), eager, rtol=1e-5, atol=1e-6)
