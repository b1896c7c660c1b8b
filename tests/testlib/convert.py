"""Test helpers for the weight converter: torch-style key sets, random state_dicts, a numpy reference.

Written from the PyTorch side's module layout (insightface ``arcface_torch`` IResNet; the
authors' ``Anfl_Neck`` + ``MultiLabelLinearClsHead``), independently of
``mindface_au.convert.mapping``, so that the tests compare two separate descriptions.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

BN_KEYS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")

LAYERS = {"r18": (2, 2, 2, 2), "r34": (3, 4, 6, 3), "r50": (3, 4, 14, 3), "r100": (3, 13, 30, 3)}


def _bn(prefix, c):
    return [(f"{prefix}.{k}", () if k == "num_batches_tracked" else (c,)) for k in BN_KEYS]


def arcface_keys(layers, widths=(64, 128, 256, 512), emb=512, fmap=7, prefix=""):
    """[(key, shape)] of an arcface_torch IResNet state_dict, in its module order."""
    p = prefix
    out = [(f"{p}conv1.weight", (widths[0], 3, 3, 3))] + _bn(f"{p}bn1", widths[0]) + [
        (f"{p}prelu.weight", (widths[0],))]
    cin = widths[0]
    for s, (n, w) in enumerate(zip(layers, widths), start=1):
        for b in range(n):
            blk = f"{p}layer{s}.{b}"
            i = cin if b == 0 else w
            out += _bn(f"{blk}.bn1", i) + [(f"{blk}.conv1.weight", (w, i, 3, 3))] + _bn(f"{blk}.bn2", w)
            out += [(f"{blk}.prelu.weight", (w,)), (f"{blk}.conv2.weight", (w, w, 3, 3))] + _bn(f"{blk}.bn3", w)
            if b == 0:
                out += [(f"{blk}.downsample.0.weight", (w, i, 1, 1))] + _bn(f"{blk}.downsample.1", w)
        cin = w
    out += _bn(f"{p}bn2", widths[-1])
    out += [(f"{p}fc.weight", (emb, widths[-1] * fmap * fmap)), (f"{p}fc.bias", (emb,))]
    out += _bn(f"{p}features", emb)
    return out


def authors_keys(layers, widths=(64, 128, 256, 512), emb=512, fmap=7, n_aus=12, enc_layers=2, ffn=3072):
    """[(key, shape)] of the authors' mmcls AU model state_dict (backbone / neck / head)."""
    c = widths[-1]
    out = arcface_keys(layers, widths, emb, fmap, prefix="backbone.")
    for i in range(n_aus):
        out += [(f"neck.class_linears.{i}.fc.weight", (c, c)), (f"neck.class_linears.{i}.fc.bias", (c,))]
    out += [("neck.gnn.U.weight", (c, c)), ("neck.gnn.U.bias", (c,)), ("neck.gnn.V.weight", (c, c)),
            ("neck.gnn.V.bias", (c,))] + _bn("neck.gnn.bnv", n_aus)
    out += [("neck.global_linear.fc.weight", (c, c)), ("neck.global_linear.fc.bias", (c,))]
    for i in range(12):
        lan = f"neck.lanets.neck_lanets{i}"
        out += [(f"{lan}.0.weight", (c // 2, c, 1, 1)), (f"{lan}.0.bias", (c // 2,)),
                (f"{lan}.1.weight", (1, c // 2, 1, 1)), (f"{lan}.1.bias", (1,))]
    out += [("neck.fusion_weight_token", (1, 1, c))]
    for j in range(enc_layers):
        e = f"neck.encoder_layers.neck_transformer_layer{j}"
        out += [(f"{e}.self_attn.in_proj_weight", (3 * c, c)), (f"{e}.self_attn.in_proj_bias", (3 * c,)),
                (f"{e}.self_attn.out_proj.weight", (c, c)), (f"{e}.self_attn.out_proj.bias", (c,)),
                (f"{e}.linear1.weight", (ffn, c)), (f"{e}.linear1.bias", (ffn,)),
                (f"{e}.linear2.weight", (c, ffn)), (f"{e}.linear2.bias", (c,)),
                (f"{e}.norm1.weight", (c,)), (f"{e}.norm1.bias", (c,)),
                (f"{e}.norm2.weight", (c,)), (f"{e}.norm2.bias", (c,))]
    out += [("head.fc.weight", (1, c)), ("head.fc.bias", (1,)), ("head.fc_backbone_out.weight", (n_aus, emb)),
            ("head.fc_backbone_out.bias", (n_aus,)), ("head.fc_fusion_weight.weight", (n_aus, c)),
            ("head.fc_fusion_weight.bias", (n_aus,))]
    return out


def random_state_dict(keys, seed=0):
    """Plausible random values: He-scaled weights, positive running variances, int64 counters."""
    rng = np.random.default_rng(seed)
    sd = OrderedDict()
    for key, shape in keys:
        if key.endswith("num_batches_tracked"):
            sd[key] = np.array(7, dtype=np.int64)
        elif key.endswith("running_var"):
            sd[key] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        elif key.endswith("running_mean"):
            sd[key] = rng.normal(0, 0.1, shape).astype(np.float32)
        elif (key.endswith(("bn1.weight", "bn2.weight", "bn3.weight", "downsample.1.weight", "features.weight",
                            "bnv.weight", "norm1.weight", "norm2.weight"))):
            sd[key] = rng.uniform(0.8, 1.2, shape).astype(np.float32)
        elif key.endswith("prelu.weight"):
            sd[key] = rng.uniform(0.1, 0.3, shape).astype(np.float32)
        elif len(shape) >= 2 and not key.endswith("fusion_weight_token"):
            fan_in = int(np.prod(shape[1:]))
            sd[key] = rng.normal(0, np.sqrt(1.0 / fan_in), shape).astype(np.float32)
        else:
            sd[key] = rng.normal(0, 0.1, shape).astype(np.float32)
    return sd


# ------------------------------------------------------------------ numpy reference (PyTorch semantics)
def conv2d(x, w, b=None, stride=1, pad=0):
    """(B, Cin, H, W) x (Cout, Cin, kh, kw) -> (B, Cout, Ho, Wo), cross-correlation as torch computes it."""
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = np.lib.stride_tricks.sliding_window_view(x, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.einsum("bchwij,ocij->bohw", win, w, optimize=True)
    return out if b is None else out + b[None, :, None, None]


def batchnorm(x, sd, prefix, eps=1e-5):
    """Eval-mode BatchNorm over axis 1 (any rank)."""
    shape = [1, -1] + [1] * (x.ndim - 2)
    m, v = sd[f"{prefix}.running_mean"].reshape(shape), sd[f"{prefix}.running_var"].reshape(shape)
    g, b = sd[f"{prefix}.weight"].reshape(shape), sd[f"{prefix}.bias"].reshape(shape)
    return (x - m) / np.sqrt(v + eps) * g + b


def prelu(x, w):
    return np.where(x > 0, x, w.reshape(1, -1, *([1] * (x.ndim - 2))) * x)


def linear(x, sd, prefix):
    return x @ sd[f"{prefix}.weight"].T + sd[f"{prefix}.bias"]


def layernorm(x, sd, prefix, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * sd[f"{prefix}.weight"] + sd[f"{prefix}.bias"]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def iresnet_forward(sd, x, layers, prefix=""):
    """arcface_torch IResNet in eval mode: (feature map, embedding)."""
    p = prefix
    h = prelu(batchnorm(conv2d(x, sd[f"{p}conv1.weight"], pad=1), sd, f"{p}bn1"), sd[f"{p}prelu.weight"])
    for s, n in enumerate(layers, start=1):
        for b in range(n):
            blk = f"{p}layer{s}.{b}"
            stride = 2 if b == 0 else 1
            out = batchnorm(h, sd, f"{blk}.bn1")
            out = batchnorm(conv2d(out, sd[f"{blk}.conv1.weight"], pad=1), sd, f"{blk}.bn2")
            out = prelu(out, sd[f"{blk}.prelu.weight"])
            out = batchnorm(conv2d(out, sd[f"{blk}.conv2.weight"], stride=stride, pad=1), sd, f"{blk}.bn3")
            if f"{blk}.downsample.0.weight" in sd:
                h = batchnorm(conv2d(h, sd[f"{blk}.downsample.0.weight"], stride=stride), sd, f"{blk}.downsample.1")
            h = out + h
    fmap = batchnorm(h, sd, f"{p}bn2")
    emb = batchnorm(linear(fmap.reshape(len(x), -1), sd, f"{p}fc"), sd, f"{p}features")
    return fmap, emb


def encoder_layer(x, sd, prefix, num_heads=1):
    """PyTorch nn.TransformerEncoderLayer (post-norm, ReLU, batch_first) in eval mode. (B, L, d) -> (B, L, d)."""
    d = x.shape[-1]
    qkv = x @ sd[f"{prefix}.self_attn.in_proj_weight"].T + sd[f"{prefix}.self_attn.in_proj_bias"]
    q, k, v = qkv[..., :d], qkv[..., d:2 * d], qkv[..., 2 * d:]
    dh = d // num_heads
    heads = []
    for h in range(num_heads):
        sl = slice(h * dh, (h + 1) * dh)
        s = q[..., sl] @ k[..., sl].transpose(0, 2, 1) / np.sqrt(dh)
        a = np.exp(s - s.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        heads.append(a @ v[..., sl])
    attn = linear(np.concatenate(heads, -1), sd, f"{prefix}.self_attn.out_proj")
    x = layernorm(x + attn, sd, f"{prefix}.norm1")
    ffn = linear(np.maximum(linear(x, sd, f"{prefix}.linear1"), 0), sd, f"{prefix}.linear2")
    return layernorm(x + ffn, sd, f"{prefix}.norm2")


def authors_forward(sd, x, layers, n_aus=12, k=4, enc_layers=2):
    """The authors' AU model (test path, eval mode) in numpy: probabilities (B, n_aus)."""
    fmap, emb = iresnet_forward(sd, x, layers, prefix="backbone.")
    maps = [conv2d(conv2d(fmap, sd[f"neck.lanets.neck_lanets{i}.0.weight"], sd[f"neck.lanets.neck_lanets{i}.0.bias"]),
                   sd[f"neck.lanets.neck_lanets{i}.1.weight"], sd[f"neck.lanets.neck_lanets{i}.1.bias"])
            for i in range(12)]
    att = sigmoid(np.concatenate(maps, 1)).max(1, keepdims=True)
    xw = att * fmap
    b, c = xw.shape[:2]
    tokens = linear(xw.reshape(b, c, -1).transpose(0, 2, 1), sd, "neck.global_linear.fc")  # (B, hw, C)
    f_v = np.stack([linear(tokens, sd, f"neck.class_linears.{i}.fc").mean(1) for i in range(n_aus)], 1)
    si = f_v @ f_v.transpose(0, 2, 1)
    thr = -np.sort(-si, axis=-1)[:, :, k - 1:k]
    adj = (si >= thr).astype(np.float64)
    dis = adj.sum(-1) ** -0.5
    a = dis[:, :, None] * adj * dis[:, None, :]
    agg = a @ linear(f_v, sd, "neck.gnn.V") + linear(f_v, sd, "neck.gnn.U")
    nodes = np.maximum(f_v + batchnorm(agg, sd, "neck.gnn.bnv"), 0)
    seq = np.concatenate([np.repeat(sd["neck.fusion_weight_token"], b, 0), emb[:, None], nodes], 1)
    for j in range(enc_layers):
        seq = encoder_layer(seq, sd, f"neck.encoder_layers.neck_transformer_layer{j}")
    w = sigmoid(linear(seq[:, 0], sd, "head.fc_fusion_weight"))
    au = linear(nodes, sd, "head.fc")[..., 0]
    bb = linear(emb, sd, "head.fc_backbone_out")
    return sigmoid((1 - w) * au + w * bb)


MINI = dict(layers=(1, 1, 1, 1), widths=(16, 32, 64, 128), emb=128)


def mini_insightface_sd(input_size=32, seed=0):
    """An arcface_torch-style state_dict shaped for ``iresnet_mini`` at ``input_size``."""
    from mindface_au.models.iresnet import feature_map_size

    return random_state_dict(arcface_keys(MINI["layers"], MINI["widths"], MINI["emb"],
                                          feature_map_size(input_size)), seed)


def mini_authors_sd(input_size=32, enc_layers=2, ffn=64, seed=0):
    """An authors-style state_dict for the AU net on ``iresnet_mini`` (C = 128)."""
    from mindface_au.models.iresnet import feature_map_size

    return random_state_dict(authors_keys(MINI["layers"], MINI["widths"], MINI["emb"],
                                          feature_map_size(input_size), enc_layers=enc_layers, ffn=ffn), seed)
