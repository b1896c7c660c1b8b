"""model.arl.node_bn_relu: ME-GraphAU's BN + ReLU per token before the mean (off = the authors' affine nodes)."""
import numpy as np

import mindspore as ms

from mindface_au import build_model
from mindface_au.models.graph import AURelationLearning

from testlib import tiny_config


def _numpy_nodes(arl, fmap):
    """Token-wise reference: linear -> BN (batch stats over B*h*w) -> ReLU, per-AU linear -> BN -> ReLU, mean."""
    def dense(x, cell):
        return x @ cell.weight.asnumpy().T + cell.bias.asnumpy()

    def bn_relu(x, bn):
        mu, var = x.mean(0), x.var(0)
        return np.maximum((x - mu) / np.sqrt(var + 1e-5) * bn.gamma.asnumpy() + bn.beta.asnumpy(), 0)

    b, c, h, w = fmap.shape
    tokens = fmap.transpose(0, 2, 3, 1).reshape(-1, c)
    g = bn_relu(dense(tokens, arl.global_linear), arl.global_bn)
    per_au = bn_relu(dense(g, arl.au_linears), arl.au_bn)
    return per_au.reshape(b, h * w, arl.num_aus, c).mean(1)


def test_node_bn_relu_matches_a_tokenwise_numpy_reference_and_sees_more_than_channel_means():
    arl = AURelationLearning(8, num_aus=3, neighbor_num=2, node_bn_relu=True)
    arl.set_train(True)
    fmap = np.random.default_rng(0).normal(size=(4, 8, 3, 3)).astype(np.float32)
    nodes = arl.node_features(ms.Tensor(fmap)).asnumpy()
    np.testing.assert_allclose(nodes, _numpy_nodes(arl, fmap), rtol=1e-4, atol=1e-5)
    # the same per-sample channel means, but flat over space: other nodes (off: the same nodes)
    shuffled = np.ascontiguousarray(np.broadcast_to(fmap.mean(axis=(2, 3), keepdims=True), fmap.shape))
    assert not np.allclose(arl.node_features(ms.Tensor(shuffled)).asnumpy(), nodes, atol=1e-4)
    plain = AURelationLearning(8, num_aus=3, neighbor_num=2)
    np.testing.assert_allclose(plain.node_features(ms.Tensor(shuffled)).asnumpy(),
                               plain.node_features(ms.Tensor(fmap)).asnumpy(), rtol=1e-5, atol=1e-6)


def test_config_key_off_by_default_and_adds_bn_when_on():
    off = build_model(tiny_config())
    on = build_model(tiny_config(**{"model.arl.node_bn_relu": True}))
    names_off = {p.name for p in off.get_parameters()}
    extra = {p.name for p in on.get_parameters()} - names_off
    assert not off.arl.node_bn_relu and on.arl.node_bn_relu
    assert extra and all(n.startswith(("arl.global_bn.", "arl.au_bn.")) for n in extra)
    on.set_train(False)
    out = on(ms.Tensor(np.random.rand(2, 3, 32, 32).astype(np.float32)))
    assert out.shape == (2, 12) and np.isfinite(out.asnumpy()).all()


def test_per_au_node_classifier_gives_each_au_its_own_weights_and_shared_stays_the_default():
    shared = build_model(tiny_config())
    per_au = build_model(tiny_config(**{"model.node_classifier": "per_au"}))
    assert shared.au_classifier.weight.shape == (1, shared.arl.channels)
    assert per_au.au_classifier.weight.shape == (12, per_au.arl.channels) and per_au.au_classifier.bias.shape == (12,)
    per_au.set_train(False)
    rng = np.random.default_rng(1)
    per_au.au_classifier.weight.set_data(ms.Tensor(rng.normal(size=(12, per_au.arl.channels)).astype(np.float32)))
    per_au.au_classifier.bias.set_data(ms.Tensor(rng.normal(size=12).astype(np.float32)))
    out = per_au.forward_intermediates(ms.Tensor(rng.random((2, 3, 32, 32)).astype(np.float32)))
    nodes, w, b = out["nodes"].asnumpy(), per_au.au_classifier.weight.asnumpy(), per_au.au_classifier.bias.asnumpy()
    np.testing.assert_allclose(out["au_logits"].asnumpy(), np.einsum("bnc,nc->bn", nodes, w) + b, rtol=1e-5, atol=1e-5)
    # in GRAPH_MODE as training runs it
    graph = ms.jit(per_au.construct)(ms.Tensor(rng.random((2, 3, 32, 32)).astype(np.float32)))
    assert graph.shape == (2, 12)
