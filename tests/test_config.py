"""Recipes load, are validated with errors naming key and file, and take --set overrides."""
import glob
import os

import pytest

from mindface_au.config import ConfigError, defaults, dump_config, load_config

from testlib import ROOT


PRETRAIN = os.path.join(ROOT, "configs", "pretrain")  # face-pretraining settings, not AU recipes
RECIPES = sorted(p for p in glob.glob(os.path.join(ROOT, "configs", "**", "*.yaml"), recursive=True)
                 if not p.startswith(PRETRAIN + os.sep))


#: recipes whose data.aus is not Aff-Wild2's 12 AUs, and their number of AUs
OTHER_AU_SETS = {"demo_disfa_cpu.yaml": 8}


@pytest.mark.parametrize("path", RECIPES)
def test_every_recipe_loads(path):
    cfg = load_config(path)
    assert cfg["model"]["num_aus"] == OTHER_AU_SETS.get(os.path.basename(path), 12)


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(PRETRAIN, "*.yaml"))))
def test_every_pretraining_file_loads_and_unknown_keys_are_named(path, tmp_path):
    from mindface_au.engine.pretrain import load_pretrain_settings

    assert load_pretrain_settings(path).epochs >= 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("epoch: 3\n")
    with pytest.raises(ValueError, match=r"bad.yaml: unknown key 'epoch'"):
        load_pretrain_settings(str(bad))


def test_paper_recipes_say_what_the_paper_says():
    cfg = load_config(os.path.join(ROOT, "configs", "paper_r100_attention.yaml"))
    m = cfg["model"]
    assert (m["backbone"], m["arl"]["neighbor_num"], m["arl"]["metric"]) == ("iresnet100", 4, "dots")
    assert (m["fusion"]["kind"], m["fusion"]["num_layers"], m["fusion"]["num_heads"]) == ("attention", 2, 1)
    assert cfg["train"]["lr_steps"] == [4, 6, 8] and cfg["train"]["epochs"] == 15
    fixed = load_config(os.path.join(ROOT, "configs", "paper_r100_fixed.yaml"))
    assert fixed["model"]["fusion"]["kind"] == "fixed" and fixed["model"]["fusion"]["lam"] == 0.7
    assert fixed["model"]["backbone"] == "iresnet100"  # inherited through _base_


def write(tmp_path, text, name="r.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize("text,needle", [
    ("model:\n  arl:\n    neighbour_num: 3\n", "model.arl.neighbour_num: unknown key"),
    ("model:\n  arl:\n    neighbor_num: three\n", "model.arl.neighbor_num: expected int"),
    ("model:\n  arl:\n    neighbor_num: 0\n", "model.arl.neighbor_num: must be >= 1"),
    ("model:\n  fusion:\n    kind: mlp\n", "model.fusion.kind: must be one of"),
    ("train:\n  lr: -1\n", "train.lr: must be >= 0"),
    ("model:\n  lrp: true\n", "model.lrp: expected a mapping"),
    ("data:\n  rare_aus: [AU99]\n", "data.rare_aus"),
])
def test_bad_recipes_name_the_key_and_the_file(tmp_path, text, needle):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert needle in str(err.value)
    assert "r.yaml" in str(err.value)


def test_overrides_apply_and_are_validated(tmp_path):
    cfg = load_config(None, ["train.lr=1e-3", "model.arl.metric=cosine", "train.lr_steps=[2,3]", "data.root=null"])
    assert cfg["train"]["lr"] == 0.001 and cfg["model"]["arl"]["metric"] == "cosine"
    assert cfg["train"]["lr_steps"] == [2, 3] and cfg["data"]["root"] is None
    with pytest.raises(ConfigError, match=r"--set model.arl.metric=l2: model.arl.metric"):
        load_config(None, ["model.arl.metric=l2"])
    with pytest.raises(ConfigError, match="expected key=value"):
        load_config(None, ["train.lr"])


def test_cross_key_rules():
    with pytest.raises(ConfigError, match="model.fusion.kind"):
        load_config(None, ["model.arl.enabled=false", "model.lrp.enabled=false"])
    with pytest.raises(ConfigError, match="model.lrp.enabled"):
        load_config(None, ["model.arl.enabled=false", "model.fusion.kind=none"])


def test_dump_and_reload_round_trip(tmp_path):
    cfg = load_config(None, ["seed=5"])
    path = str(tmp_path / "c.yaml")
    dump_config(cfg, path)
    assert load_config(path) == cfg
    assert defaults()["seed"] == 0
