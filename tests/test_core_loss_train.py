"""Loss against numpy and finite differences; one train step; GRAPH_MODE vs PyNative."""
import numpy as np
import pytest

import mindspore as ms
import mindspore.nn as nn

from mindface_au import build_model
from mindface_au.losses import AULoss, bce_with_logits, build_loss, circle_loss

from testlib import T, tiny_config



def np_bce(s, y, reduction):
    m = (y >= 0).astype(np.float64)
    y = np.clip(y, 0, 1)
    e = np.maximum(s, 0) - s * y + np.log1p(np.exp(-np.abs(s)))
    return (e * m).sum() / (s.shape[0] if reduction == "sum_aus" else max(m.sum(), 1))


def np_circle(s, y):
    out = []
    for row_s, row_y in zip(s, y):
        keep = row_y >= 0
        pos = row_s[keep & (row_y == 1)]
        neg = row_s[keep & (row_y == 0)]
        # log(1 + sum exp(-s_pos)) + log(1 + sum exp(s_neg))
        out.append(np.log1p(np.exp(-pos).sum()) + np.log1p(np.exp(neg).sum()))
    return float(np.mean(out))


def test_loss_hand_case():
    s = np.array([[0.0, 2.0, -1.0]])
    y = np.array([[1.0, 0.0, 1.0]])
    # BCE entries: log 2, 2 + log(1 + e^-2), 1 + log(1 + e^-1)
    bce = np.log(2) + 2 + np.log1p(np.exp(-2)) + 1 + np.log1p(np.exp(-1))
    assert float(bce_with_logits(T(s), T(y), "sum_aus").asnumpy()) == pytest.approx(bce, rel=1e-6)
    assert float(bce_with_logits(T(s), T(y), "mean").asnumpy()) == pytest.approx(bce / 3, rel=1e-6)
    # circle: positives {0, -1} -> log(1 + e^0 + e^1); negatives {2} -> log(1 + e^2)
    circ = np.log(1 + 1 + np.e) + np.log(1 + np.e ** 2)
    assert float(circle_loss(T(s), T(y)).asnumpy()) == pytest.approx(circ, rel=1e-6)
    total = float(AULoss(1.0, 1.0, "sum_aus")(T(s), T(y)).asnumpy())
    assert total == pytest.approx(bce + circ, rel=1e-6)


@pytest.mark.parametrize("reduction", ["sum_aus", "mean"])
def test_loss_matches_numpy_on_random_rows_including_all_zero_all_one_and_masked(reduction):
    rng = np.random.default_rng(0)
    s = rng.standard_normal((6, 12)) * 4
    y = (rng.random((6, 12)) < 0.3).astype(np.float64)
    y[0] = 0  # all negative
    y[1] = 1  # all positive
    y[2, :5] = -1  # partly unannotated
    s[3, 0] = 80.0  # large logits stay finite
    loss = AULoss(0.5, 2.0, reduction)(T(s), T(y)).asnumpy()
    ref = 0.5 * np_bce(s, y, reduction) + 2.0 * np_circle(s, y)
    assert np.isfinite(loss)
    assert float(loss) == pytest.approx(ref, rel=1e-5)


def test_sum_aus_is_twelve_times_eq1_without_mask():
    s, y = np.random.randn(4, 12), (np.random.rand(4, 12) < 0.5).astype(np.float64)
    a = float(bce_with_logits(T(s), T(y), "sum_aus").asnumpy())
    b = float(bce_with_logits(T(s), T(y), "mean").asnumpy())
    assert a == pytest.approx(12 * b, rel=1e-5)


def test_loss_gradient_matches_finite_difference():
    rng = np.random.default_rng(1)
    s = rng.standard_normal((3, 12))
    y = (rng.random((3, 12)) < 0.4).astype(np.float64)
    y[0, 3] = -1
    loss = AULoss(1.0, 1.0, "sum_aus")
    grad = ms.grad(loss, grad_position=0)(T(s), T(y)).asnumpy()
    eps = 1e-5
    num = np.zeros_like(s)
    for idx in np.ndindex(*s.shape):
        sp, sm = s.copy(), s.copy()
        sp[idx] += eps
        sm[idx] -= eps
        num[idx] = (np_bce(sp, y, "sum_aus") + np_circle(sp, y) - np_bce(sm, y, "sum_aus") - np_circle(sm, y)) / (
            2 * eps)
    np.testing.assert_allclose(grad, num, rtol=1e-3, atol=1e-5)
    assert grad[0, 3] == 0.0  # an unannotated AU gets no gradient


def _train_step_grads(net, loss_fn, x, y):
    opt = nn.SGD(net.trainable_params(), learning_rate=0.1)

    def forward(a, b):
        return loss_fn(net(a), b)

    grad_fn = ms.value_and_grad(forward, None, opt.parameters)
    loss, grads = grad_fn(x, y)
    return loss, grads, opt


def test_one_train_step_reaches_every_trainable_parameter_and_not_the_frozen_gamma():
    # 4x4 feature maps x 8 samples: every one of the 12 LANet maps wins the max somewhere
    cfg = tiny_config(**{"model.input_size": 64})
    net = build_model(cfg)
    net.set_train(True)
    loss_fn = build_loss(cfg)
    x = T(np.random.randn(8, 3, 64, 64))
    y = T((np.random.rand(8, 12) < 0.5).astype(np.float32))
    loss, grads, opt = _train_step_grads(net, loss_fn, x, y)
    names = [p.name for p in opt.parameters]
    assert "backbone.features.gamma" not in names
    zero = [n for n, g in zip(names, grads) if not np.any(g.asnumpy() != 0)]
    assert not zero, f"parameters without gradient: {zero}"
    gamma_before = net.backbone.features.gamma.asnumpy().copy()
    opt(grads)
    np.testing.assert_array_equal(net.backbone.features.gamma.asnumpy(), gamma_before)
    assert np.isfinite(float(loss.asnumpy()))


def test_graph_mode_and_pynative_agree_on_forward_and_gradients():
    cfg = tiny_config(**{"model.lrp.mad_p": 0.0, "model.fusion.dropout": 0.0})
    x = T(np.random.randn(3, 3, 32, 32))
    y = T((np.random.rand(3, 12) < 0.5).astype(np.float32))
    results = {}
    ms.set_seed(7)
    net = build_model(cfg)
    weights = {n: p.asnumpy().copy() for n, p in net.parameters_and_names()}
    for mode in (ms.PYNATIVE_MODE, ms.GRAPH_MODE):
        ms.set_context(mode=mode)
        for n, p in net.parameters_and_names():
            p.set_data(ms.Tensor(weights[n]))
        net.set_train(False)
        logits = net(x).asnumpy()
        net.set_train(True)
        loss, grads, _ = _train_step_grads(net, build_loss(cfg), x, y)
        results[mode] = (logits, float(loss.asnumpy()), [g.asnumpy() for g in grads])
    a, b = results[ms.PYNATIVE_MODE], results[ms.GRAPH_MODE]
    np.testing.assert_allclose(a[0], b[0], rtol=1e-4, atol=1e-5)
    assert a[1] == pytest.approx(b[1], rel=1e-5)
    for ga, gb in zip(a[2], b[2]):
        np.testing.assert_allclose(ga, gb, rtol=1e-3, atol=1e-5)
