"""The network layer by layer against the spec (shapes, FGG, LRP/MAD, fusion, ARL order)."""
import numpy as np
import pytest

import mindspore as ms
import mindspore.ops as ops

from mindface_au import build_model, create_model, list_models
from mindface_au.models.fusion import AttentionFusion, FixedFusion, TransformerEncoderLayer
from mindface_au.models.graph import FGG, AURelationLearning, knn_adjacency, normalize_adjacency, similarity
from mindface_au.models.iresnet import count_params, feature_map_size
from mindface_au.models.lrp import LocalRegionPerception, MapDropout

from testlib import T, tiny_config



# ---------------------------------------------------------------- backbone
def test_iresnet100_has_insightface_parameter_count():
    net = create_model("iresnet100")
    assert round(count_params(net) / 1e6, 2) == 65.16
    names = {n for n, _ in net.parameters_and_names()}
    for key in ("conv1.weight", "bn1.gamma", "prelu.w", "layer1.0.downsample.0.weight",
                "layer1.0.downsample.1.moving_variance", "layer3.29.conv2.weight", "bn2.beta",
                "fc.weight", "fc.bias", "features.gamma", "features.moving_mean"):
        assert key in names, key
    assert "layer3.30.conv1.weight" not in names  # 30 blocks in stage 3


def test_registry_lists_every_arch_and_refuses_unknown():
    assert {"iresnet18", "iresnet34", "iresnet50", "iresnet100", "iresnet200", "iresnet_mini"} <= set(
        list_models("backbone"))
    with pytest.raises(KeyError, match="unknown model"):
        create_model("iresnet7")


@pytest.mark.parametrize("arch", ["iresnet18", "iresnet100"])
def test_shapes_at_every_stage_112(arch):
    cfg = tiny_config(**{"model.backbone": arch, "model.input_size": 112, "model.fusion.ffn_dim": 64})
    net = build_model(cfg)
    net.set_train(False)
    x = T(np.random.randn(2, 3, 112, 112))
    bb = net.backbone
    h = bb.prelu(bb.bn1(bb.conv1(x)))
    assert h.shape == (2, 64, 112, 112)
    for i, (c, s) in enumerate([(64, 56), (128, 28), (256, 14), (512, 7)]):
        h = getattr(bb, f"layer{i + 1}")(h)
        assert h.shape == (2, c, s, s), (i, h.shape)
    out = net.forward_intermediates(x)
    assert out["feature_map"].shape == (2, 512, 7, 7)
    assert out["embedding"].shape == (2, 512)
    assert out["attention_maps"].shape == (2, 12, 7, 7)
    assert out["weighted_feature_map"].shape == (2, 512, 7, 7)
    assert out["node_features"].shape == (2, 12, 512)
    assert out["nodes"].shape == (2, 12, 512)
    assert out["au_logits"].shape == (2, 12)
    assert out["backbone_logits"].shape == (2, 12)
    assert out["fusion_weights"].shape == (2, 12)
    assert out["logits"].shape == (2, 12)
    assert np.isfinite(out["logits"].asnumpy()).all()


def test_feature_map_size_rounds_up():
    assert [feature_map_size(s) for s in (112, 64, 32, 100)] == [7, 4, 2, 7]


def test_embedding_bn_gamma_is_frozen():
    net = create_model("iresnet_mini")
    trainable = {p.name for p in net.trainable_params()}
    assert "features.gamma" not in trainable and "features.beta" in trainable
    assert np.all(net.features.gamma.asnumpy() == 1.0)


# ---------------------------------------------------------------- FGG graph
def np_similarity(f, metric):
    if metric == "dots":
        return f @ f.transpose(0, 2, 1)
    if metric == "cosine":
        g = f / np.maximum(np.linalg.norm(f, axis=-1, keepdims=True), 1e-12)
        return g @ g.transpose(0, 2, 1)
    return np.abs(f[:, :, None, :] - f[:, None, :, :]).sum(-1)


def np_fgg_adjacency(f, k, metric, s=None):
    """Reference k-NN adjacency and D^-1/2 adj D^-1/2 (``s``: similarity to threshold, else computed)."""
    s = np_similarity(f, metric) if s is None else s
    adj = np.zeros_like(s)
    for b in range(s.shape[0]):
        for i in range(s.shape[1]):
            row = s[b, i]
            if metric == "l1":
                kth = np.sort(row)[k - 1]
                adj[b, i] = row <= kth
            else:
                kth = np.sort(row)[::-1][k - 1]
                adj[b, i] = row >= kth
    d = adj.sum(-1)
    a = np.zeros_like(adj)
    for b in range(s.shape[0]):
        dm = np.diag(d[b] ** -0.5)
        a[b] = dm @ adj[b] @ dm
    return adj, a


@pytest.mark.parametrize("metric", ["dots", "cosine", "l1"])
def test_fgg_adjacency_matches_numpy(metric):
    rng = np.random.default_rng(1)
    f = rng.integers(-2, 3, size=(3, 6, 4)).astype(np.float32)  # small integers: many ties
    f[0, 1] = f[0, 2] = f[0, 3]  # exact duplicates: ties at the threshold
    k = 2
    sim = similarity(T(f), metric)
    np.testing.assert_allclose(sim.asnumpy(), np_similarity(f, metric), rtol=1e-5, atol=1e-5)
    # threshold the same float values (cosine ties differ in the last bit between libraries)
    adj_ref, a_ref = np_fgg_adjacency(f, k, metric, s=sim.asnumpy())
    adj = knn_adjacency(sim, k, largest=metric != "l1").asnumpy()
    np.testing.assert_array_equal(adj, adj_ref)
    assert (adj.sum(-1) >= k).all() and (adj.sum(-1) > k).any()  # ties give more than k edges
    np.testing.assert_allclose(normalize_adjacency(T(adj_ref)).asnumpy(), a_ref, rtol=1e-6, atol=1e-6)
    fgg = FGG(4, 6, neighbor_num=k, metric=metric)
    np.testing.assert_allclose(fgg.adjacency(T(f)).asnumpy(), a_ref, rtol=1e-5, atol=1e-6)


def test_fgg_hand_case():
    # 3 nodes, k = 1: with dots every node's best match is itself unless another dominates.
    f = np.array([[[1, 0], [0, 1], [2, 0]]], np.float32)
    s = f[0] @ f[0].T  # [[1,0,2],[0,1,0],[2,0,4]]
    adj = knn_adjacency(T(s[None]), 1).asnumpy()[0]
    np.testing.assert_array_equal(adj, [[0, 0, 1], [0, 1, 0], [0, 0, 1]])
    a = normalize_adjacency(T(adj[None])).asnumpy()[0]
    np.testing.assert_allclose(a, adj)  # every row sum is 1 -> D = I


def test_fgg_layer_output_formula():
    rng = np.random.default_rng(2)
    f = rng.standard_normal((4, 5, 8)).astype(np.float32)
    fgg = FGG(8, 5, neighbor_num=3, metric="dots")
    fgg.set_train(False)  # BN uses moving stats (mean 0, var 1): an affine map
    _, a = np_fgg_adjacency(f, 3, "dots")
    U = fgg.U.weight.asnumpy(), fgg.U.bias.asnumpy()
    V = fgg.V.weight.asnumpy(), fgg.V.bias.asnumpy()
    agg = a @ (f @ V[0].T + V[1]) + (f @ U[0].T + U[1])
    ref = np.maximum(f + agg / np.sqrt(1 + 1e-5), 0)
    np.testing.assert_allclose(fgg(T(f)).asnumpy(), ref, rtol=1e-4, atol=1e-4)


def test_arl_mean_first_equals_tokenwise_order():
    rng = np.random.default_rng(3)
    fmap = rng.standard_normal((2, 16, 3, 3)).astype(np.float32)
    arl = AURelationLearning(16, num_aus=4, neighbor_num=2)
    tokens = fmap.reshape(2, 16, 9).transpose(0, 2, 1)  # (B, 9, C)
    g = tokens @ arl.global_linear.weight.asnumpy().T + arl.global_linear.bias.asnumpy()
    w = arl.au_linears.weight.asnumpy().reshape(4, 16, 16)
    b = arl.au_linears.bias.asnumpy().reshape(4, 16)
    per_au = np.einsum("btc,noc->bnto", g, w) + b[None, :, None, :]  # (B, n, 9, C)
    ref = per_au.mean(axis=2)
    np.testing.assert_allclose(arl.node_features(T(fmap)).asnumpy(), ref, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- LRP / MAD
def test_map_dropout_zeroes_exactly_one_map_per_hit_sample():
    mad = MapDropout(12, p=1.0)
    mad.set_train(True)
    maps = T(np.random.rand(64, 12, 3, 3) + 0.1)
    out = mad(maps).asnumpy()
    zeroed = (out.reshape(64, 12, -1) == 0).all(-1)
    assert (zeroed.sum(1) == 1).all()
    assert len(set(zeroed.argmax(1))) > 3  # the dropped map varies between samples
    kept = ~zeroed
    np.testing.assert_array_equal(out[kept], maps.asnumpy()[kept])


def test_map_dropout_probability_and_eval_identity():
    mad = MapDropout(12, p=0.25)
    mad.set_train(True)
    maps = T(np.ones((4000, 12, 1, 1)))
    hit = (mad(maps).asnumpy().reshape(4000, 12) == 0).any(1)
    assert 0.2 < hit.mean() < 0.3
    mad.set_train(False)
    np.testing.assert_array_equal(mad(maps).asnumpy(), maps.asnumpy())


def test_lrp_is_max_of_sigmoid_maps_times_features():
    lrp = LocalRegionPerception(8, n_maps=3, reduction=2, mad_p=1.0)
    lrp.set_train(False)
    x = np.random.randn(2, 8, 4, 4).astype(np.float32)
    maps = []
    for lanet in lrp.lanets:
        c1, c2 = lanet.body[0], lanet.body[1]
        h = np.einsum("oc,bchw->bohw", c1.weight.asnumpy()[:, :, 0, 0], x) + c1.bias.asnumpy()[None, :, None, None]
        m = np.einsum("oc,bchw->bohw", c2.weight.asnumpy()[:, :, 0, 0], h) + c2.bias.asnumpy()[None, :, None, None]
        maps.append(m)
    sig = 1 / (1 + np.exp(-np.concatenate(maps, 1)))
    ref = x * sig.max(1, keepdims=True)
    np.testing.assert_allclose(lrp(T(x)).asnumpy(), ref, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- fusion
def test_fixed_fusion_formula():
    au, bb = np.random.randn(3, 12).astype(np.float32), np.random.randn(3, 12).astype(np.float32)
    out = FixedFusion(0.7)(T(au), T(bb)).asnumpy()
    np.testing.assert_allclose(out, 0.3 * au + 0.7 * bb, rtol=1e-6)


def test_attention_fusion_weights_in_open_interval_and_mix():
    fusion = AttentionFusion(16, num_aus=12, num_layers=2, num_heads=2, ffn_dim=32, dropout=0.1)
    fusion.set_train(False)
    emb = T(np.random.randn(5, 16) * 5)
    nodes = T(np.random.randn(5, 12, 16) * 5)
    w = fusion.weights(emb, nodes).asnumpy()
    assert w.shape == (5, 12) and (w > 0).all() and (w < 1).all()
    au, bb = np.random.randn(5, 12).astype(np.float32), np.random.randn(5, 12).astype(np.float32)
    out = fusion(T(au), T(bb), emb, nodes).asnumpy()
    np.testing.assert_allclose(out, (1 - w) * au + w * bb, rtol=1e-5, atol=1e-6)


def test_encoder_layer_matches_numpy_post_norm():
    d, h, L = 8, 2, 5
    layer = TransformerEncoderLayer(d, h, ffn_dim=16, dropout=0.1)
    layer.set_train(False)
    x = np.random.randn(3, L, d).astype(np.float32)
    W = {n: p.asnumpy() for n, p in layer.parameters_and_names()}

    def ln(v, g, b):
        mu, var = v.mean(-1, keepdims=True), v.var(-1, keepdims=True)
        return (v - mu) / np.sqrt(var + 1e-5) * g + b

    qkv = x @ W["attn.in_proj.weight"].T + W["attn.in_proj.bias"]
    q, k, v = np.split(qkv, 3, axis=-1)
    heads = lambda t: t.reshape(3, L, h, d // h).transpose(0, 2, 1, 3)  # noqa: E731
    s = heads(q) @ heads(k).transpose(0, 1, 3, 2) / np.sqrt(d // h)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    att = (p @ heads(v)).transpose(0, 2, 1, 3).reshape(3, L, d) @ W["attn.out_proj.weight"].T + W["attn.out_proj.bias"]
    y = ln(x + att, W["norm1.gamma"], W["norm1.beta"])
    ffn = np.maximum(y @ W["linear1.weight"].T + W["linear1.bias"], 0) @ W["linear2.weight"].T + W["linear2.bias"]
    ref = ln(y + ffn, W["norm2.gamma"], W["norm2.beta"])
    np.testing.assert_allclose(layer(T(x)).asnumpy(), ref, rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------- ablation switches
@pytest.mark.parametrize("sets,expect", [
    ({"model.lrp.enabled": False, "model.arl.enabled": False, "model.fusion.kind": "none"}, "backbone"),
    ({"model.lrp.enabled": False, "model.fusion.kind": "none"}, "au"),
    ({"model.fusion.kind": "none"}, "au"),
    ({"model.fusion.kind": "fixed"}, "fixed"),
])
def test_ablation_rows_compute_the_stated_logits(sets, expect):
    net = build_model(tiny_config(**sets))
    net.set_train(False)
    out = net.forward_intermediates(T(np.random.randn(2, 3, 32, 32)))
    if expect == "backbone":
        assert "nodes" not in out and "attention_maps" not in out
        ref = out["backbone_logits"]
    elif expect == "au":
        ref = out["au_logits"]
        assert ("attention_maps" in out) == sets.get("model.lrp.enabled", True)
    else:
        ref = 0.3 * out["au_logits"] + 0.7 * out["backbone_logits"]
    np.testing.assert_allclose(out["logits"].asnumpy(), ref.asnumpy(), rtol=1e-5, atol=1e-6)


def test_sigmoid_wrapper_gives_probabilities(tiny_cfg):
    from mindface_au.models import WithSigmoid

    net = build_model(tiny_cfg)
    net.set_train(False)
    x = T(np.random.randn(2, 3, 32, 32))
    names = [p.name for p in net.get_parameters()]
    np.testing.assert_allclose(WithSigmoid(net)(x).asnumpy(), ops.sigmoid(net(x)).asnumpy(), rtol=1e-6)
    assert [p.name for p in net.get_parameters()] == names  # wrapping does not rename the parameters
