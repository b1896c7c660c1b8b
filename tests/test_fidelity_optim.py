"""optim.decay_norm_and_bias: mmcv's weight decay on every parameter, or weights only."""
import numpy as np
import pytest

import mindspore as ms

from mindface_au import build_model
from mindface_au.engine.optim import build_optimizer, is_decayed, param_groups

from testlib import tiny_config

EXEMPT = ("backbone.bn1.gamma", "backbone.bn1.beta", "backbone.prelu.w", "arl.graph.U.bias",
          "fusion.layers.0.norm1.gamma", "fusion.layers.0.norm2.beta")


def _opt(decay_all):
    cfg = tiny_config(**{"optim.decay_norm_and_bias": decay_all, "train.weight_decay": 0.01})
    net = build_model(cfg)
    return net, build_optimizer(cfg, net, steps_per_epoch=2)


@pytest.mark.parametrize("decay_all", [True, False])
def test_parameter_groups_and_decay_flags(decay_all):
    net, opt = _opt(decay_all)
    names = [p.name for p in opt.parameters]
    assert sorted(names) == sorted(p.name for p in net.trainable_params())
    flags = dict(zip(names, opt.decay_flags))
    wd = {p.name: float(w.asnumpy()) for p, w in zip(opt.parameters, opt.weight_decay)}
    for name in EXEMPT:
        assert name in flags, name
        assert flags[name] is decay_all, name
        assert wd[name] == (pytest.approx(0.01) if decay_all else 0.0), name
    for name in ("backbone.conv1.weight", "arl.graph.U.weight", "fusion.layers.0.linear1.weight"):
        assert flags[name] and wd[name] == pytest.approx(0.01), name
    if decay_all:
        assert all(opt.decay_flags)
    else:
        assert sum(opt.decay_flags) == sum(1 for p in net.trainable_params() if is_decayed(p)) < len(names)


@pytest.mark.parametrize("decay_all", [True, False])
def test_a_step_with_zero_gradients_decays_exactly_the_named_parameters(decay_all):
    """SGD with zero gradients: w <- w - lr * wd * w where decayed, unchanged elsewhere."""
    net, opt = _opt(decay_all)
    before = {p.name: p.asnumpy().copy() for p in opt.parameters}
    opt(tuple(ms.ops.zeros_like(p) for p in opt.parameters))
    lr = 0.001
    changed = 0
    for p in opt.parameters:
        w0 = before[p.name]
        decayed = decay_all or is_decayed(p)
        expect = w0 * (1 - lr * 0.01) if decayed else w0
        np.testing.assert_allclose(p.asnumpy(), expect, rtol=1e-6, atol=1e-12, err_msg=p.name)
        changed += bool(decayed and np.any(w0 != 0))
    assert changed > 0
    gamma = dict((p.name, p.asnumpy()) for p in opt.parameters)["backbone.bn1.gamma"]
    assert np.all(gamma < 1.0) if decay_all else np.all(gamma == 1.0)


def test_groups_never_empty_and_default_is_exempt():
    net = build_model(tiny_config())
    params = net.trainable_params()
    assert [len(g["params"]) for g in param_groups(params, 1e-4, True)] == [len(params)]
    assert len(param_groups(params, 1e-4, False)) == 2
    assert tiny_config()["optim"]["decay_norm_and_bias"] is False
