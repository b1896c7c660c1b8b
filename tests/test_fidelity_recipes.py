"""The authors' recipe turns every choice of their code on; the paper recipe takes the code's values."""
import os

import pytest

from mindface_au.config import load_config

from testlib import ROOT

AUTHORS = {("optim", "decay_norm_and_bias"): True, ("model", "lrp", "mad"): "authors", ("model", "lrp", "mad_p"): 1.0,
           ("train", "best_by"): "f1_best_thresholds", ("eval", "smooth_edges"): "keep",
           ("loss", "bce_reduction"): "sum_aus"}


def get(cfg, keys):
    for k in keys:
        cfg = cfg[k]
    return cfg


@pytest.mark.parametrize("recipe,layers", [("authors_r100_attention.yaml", 4), ("paper_r100_attention.yaml", 2),
                                           ("paper_r100_fixed.yaml", 2)])
def test_recipes_take_the_authors_code_choices(recipe, layers):
    cfg = load_config(os.path.join(ROOT, "configs", recipe))
    for keys, value in AUTHORS.items():
        assert get(cfg, keys) == value, (recipe, keys)
    assert cfg["model"]["fusion"]["num_layers"] == layers
    assert cfg["model"]["arl"]["node_bn_relu"] is False  # the authors' nodes: no BN + ReLU


def test_schema_defaults_are_the_intended_readings():
    cfg = load_config(None)
    assert (cfg["optim"]["decay_norm_and_bias"], cfg["model"]["lrp"]["mad"], cfg["eval"]["smooth_edges"],
            cfg["model"]["arl"]["node_bn_relu"]) == (False, "per_sample", "clip", False)
