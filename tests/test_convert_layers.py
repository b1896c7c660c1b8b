"""Converted weights compute what PyTorch computes: single layers and whole networks against numpy."""
import numpy as np
import pytest

import mindspore as ms

from mindface_au import build_model, create_model
from mindface_au.weights import load_into
from mindface_au.convert import convert_state_dict

from testlib import T, tiny_config
from testlib.convert import (MINI, authors_forward, batchnorm, conv2d, encoder_layer, iresnet_forward, linear,
                             mini_authors_sd, mini_insightface_sd, prelu)


def _load(net, sd, kind):
    shapes = {n: tuple(p.shape) for n, p in net.parameters_and_names()}
    params, report = convert_state_dict(sd, kind, shapes)
    load_into(net, {n: ms.Parameter(ms.Tensor(a), name=n) for n, a in params.items()}, strict=True)
    net.set_train(False)
    return net



def _close(got, want, rtol=1e-4):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    scale = max(np.abs(want).max(), 1e-6)
    assert np.abs(got - want).max() <= rtol * scale, (np.abs(got - want).max(), scale)


@pytest.fixture(scope="module")
def mini_backbone():
    sd = mini_insightface_sd(input_size=32, seed=1)
    return _load(create_model("iresnet_mini", input_size=32), sd, "insightface"), sd


def test_conv_layers(mini_backbone):
    net, sd = mini_backbone
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 12, 12))
    _close(net.conv1(T(x)).asnumpy(), conv2d(x, sd["conv1.weight"], pad=1))
    h = rng.standard_normal((2, 16, 10, 10))
    _close(net.layer1[0].conv2(T(h)).asnumpy(), conv2d(h, sd["layer1.0.conv2.weight"], stride=2, pad=1))
    _close(net.layer1[0].downsample[0](T(h)).asnumpy(), conv2d(h, sd["layer1.0.downsample.0.weight"], stride=2))


def test_batchnorm_eval_and_prelu_layers(mini_backbone):
    net, sd = mini_backbone
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 16, 5, 5)) * 2 + 0.5
    _close(net.bn1(T(x)).asnumpy(), batchnorm(x, sd, "bn1"))
    y = rng.standard_normal((3, 16, 4, 4))
    _close(net.layer1[0].downsample[1](T(y)).asnumpy(), batchnorm(y, sd, "layer1.0.downsample.1"))
    e = rng.standard_normal((4, 128))
    _close(net.features(T(e)).asnumpy(), batchnorm(e, sd, "features"))  # BatchNorm1d, eval
    _close(net.prelu(T(x)).asnumpy(), prelu(x, sd["prelu.weight"]))
    z = rng.standard_normal((2, 32, 3, 3))
    _close(net.layer2[0].prelu(T(z)).asnumpy(), prelu(z, sd["layer2.0.prelu.weight"]))


def test_linear_layer(mini_backbone):
    net, sd = mini_backbone
    x = np.random.default_rng(4).standard_normal((3, 128 * 2 * 2))
    _close(net.fc(T(x)).asnumpy(), linear(x, sd, "fc"))


def test_whole_backbone_equals_numpy_reference(mini_backbone):
    net, sd = mini_backbone
    x = np.random.default_rng(5).standard_normal((2, 3, 32, 32))
    fmap, emb = net(T(x))
    ref_fmap, ref_emb = iresnet_forward(sd, x, MINI["layers"])
    _close(fmap.asnumpy(), ref_fmap)
    _close(emb.asnumpy(), ref_emb)


@pytest.fixture(scope="module")
def mini_au_net():
    sd = mini_authors_sd(input_size=32, enc_layers=2, ffn=64, seed=6)
    return _load(build_model(tiny_config()), sd, "authors"), sd


def test_encoder_layer_equals_torch_semantics(mini_au_net):
    net, sd = mini_au_net
    x = np.random.default_rng(7).standard_normal((3, 14, 128))
    for j in range(2):
        got = net.fusion.layers[j](T(x)).asnumpy()
        _close(got, encoder_layer(x, sd, f"neck.encoder_layers.neck_transformer_layer{j}"))


def test_whole_authors_model_equals_numpy_reference(mini_au_net):
    net, sd = mini_au_net
    x = np.random.default_rng(8).standard_normal((3, 3, 32, 32))
    probs = 1 / (1 + np.exp(-net(T(x)).asnumpy().astype(np.float64)))
    ref = authors_forward(sd, x, MINI["layers"])
    assert ref.std() > 1e-3  # not saturated: the comparison means something
    assert np.abs(probs - ref).max() < 1e-5, np.abs(probs - ref).max()


def test_swapped_per_au_linears_are_detected(mini_au_net):
    """The numpy check is sharp enough to catch a wrong stacking order."""
    net, sd = mini_au_net
    x = np.random.default_rng(9).standard_normal((2, 3, 32, 32))
    swapped = dict(sd)
    swapped["neck.class_linears.0.fc.weight"], swapped["neck.class_linears.1.fc.weight"] = (
        sd["neck.class_linears.1.fc.weight"], sd["neck.class_linears.0.fc.weight"])
    probs = 1 / (1 + np.exp(-net(T(x)).asnumpy().astype(np.float64)))
    assert np.abs(probs - authors_forward(swapped, x, MINI["layers"])).max() > 1e-4
