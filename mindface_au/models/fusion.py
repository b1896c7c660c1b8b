"""Feature fusion (FF) of the AU-node logits and the backbone logits.

* :class:`FixedFusion`: logits = (1 - lam) * au_logits + lam * backbone_logits (lam = 0.7).
* :class:`AttentionFusion`: the sequence [weight token, embedding, n node features]
  (B, n + 2, d) passes L post-norm transformer encoder layers; output token 0 -> Dense(d -> n)
  -> sigmoid = per-AU weight w (B, n); logits = (1 - w) * au_logits + w * backbone_logits.

The encoder layer is written from Dense / matmul / softmax / LayerNorm (not
``nn.TransformerEncoderLayer``) so that a MindIR with a dynamic batch size works; it computes
what PyTorch's ``nn.TransformerEncoderLayer(d, h, ffn, dropout, relu, batch_first=True,
norm_first=False)`` computes, and its parameters map to that layer's one-to-one
(``self_attn.in_proj_weight`` -> ``attn.in_proj.weight``, ``self_attn.out_proj`` ->
``attn.out_proj``, ``linear1``/``linear2``, ``norm1``/``norm2``).
"""
from __future__ import annotations

import math

import mindspore as ms
import mindspore.nn as nn
import mindspore.ops as ops
from mindspore.common.initializer import HeUniform, Normal, Uniform, XavierUniform, Zero

from .layers import TokenDense


def _torch_linear(cin: int, cout: int) -> nn.Dense:
    """Dense initialised as PyTorch's nn.Linear (kaiming_uniform(a=sqrt(5)), uniform bias)."""
    return TokenDense(cin, cout, weight_init=HeUniform(negative_slope=math.sqrt(5)),
                    bias_init=Uniform(1.0 / math.sqrt(cin)))


class MultiHeadSelfAttention(nn.Cell):
    """Self-attention: (B, L, d) -> (B, L, d); batch may be dynamic (only L and d are static)."""

    def __init__(self, d_model: int, num_heads: int = 1, dropout: float = 0.1):
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"d_model {d_model} is not divisible by num_heads {num_heads}")
        self.d_model = d_model
        self.num_heads = num_heads
        self.head_dim = d_model // num_heads
        self.scale = 1.0 / math.sqrt(self.head_dim)
        self.in_proj = TokenDense(d_model, 3 * d_model, weight_init=XavierUniform(), bias_init=Zero())
        self.out_proj = TokenDense(d_model, d_model, weight_init=HeUniform(negative_slope=math.sqrt(5)),
                                 bias_init=Zero())
        self.attn_dropout = nn.Dropout(p=dropout) if dropout > 0 else nn.Identity()
        self.softmax = nn.Softmax(axis=-1)

    def _heads(self, x, length):
        # (B, L, d) -> (B, h, L, dh)
        return x.reshape(-1, length, self.num_heads, self.head_dim).transpose(0, 2, 1, 3)

    def construct(self, x):
        length = x.shape[1]
        qkv = self.in_proj(x)
        q = self._heads(qkv[:, :, :self.d_model], length)
        k = self._heads(qkv[:, :, self.d_model:2 * self.d_model], length)
        v = self._heads(qkv[:, :, 2 * self.d_model:], length)
        scores = ops.matmul(q * self.scale, k.transpose(0, 1, 3, 2))
        attn = self.attn_dropout(self.softmax(scores))
        out = ops.matmul(attn, v).transpose(0, 2, 1, 3).reshape(-1, length, self.d_model)
        return self.out_proj(out)


class TransformerEncoderLayer(nn.Cell):
    """Post-norm encoder layer: x = LN1(x + SA(x)); x = LN2(x + FFN(x)). (B, L, d) -> (B, L, d)."""

    def __init__(self, d_model: int, num_heads: int = 1, ffn_dim: int = 3072, dropout: float = 0.1):
        super().__init__()
        self.attn = MultiHeadSelfAttention(d_model, num_heads, dropout)
        self.linear1 = _torch_linear(d_model, ffn_dim)
        self.linear2 = _torch_linear(ffn_dim, d_model)
        self.norm1 = nn.LayerNorm((d_model,), epsilon=1e-5)
        self.norm2 = nn.LayerNorm((d_model,), epsilon=1e-5)
        self.dropout = nn.Dropout(p=dropout) if dropout > 0 else nn.Identity()
        self.dropout1 = nn.Dropout(p=dropout) if dropout > 0 else nn.Identity()
        self.dropout2 = nn.Dropout(p=dropout) if dropout > 0 else nn.Identity()
        self.relu = nn.ReLU()

    def construct(self, x):
        x = self.norm1(x + self.dropout1(self.attn(x)))
        ffn = self.linear2(self.dropout(self.relu(self.linear1(x))))
        return self.norm2(x + self.dropout2(ffn))


def fuse(au_logits, backbone_logits, w):
    """(1 - w) * au_logits + w * backbone_logits; w a float or (B, n). -> (B, n)."""
    return (1.0 - w) * au_logits + w * backbone_logits


class FixedFusion(nn.Cell):
    """(au_logits (B, n), backbone_logits (B, n)) -> (1 - lam) * au + lam * backbone."""

    def __init__(self, lam: float = 0.7):
        super().__init__()
        self.lam = float(lam)

    def weights(self, embedding=None, nodes=None) -> float:
        """The fixed weight of the backbone logits, lam."""
        return self.lam

    def construct(self, au_logits, backbone_logits, embedding=None, nodes=None):
        return fuse(au_logits, backbone_logits, self.lam)


class AttentionFusion(nn.Cell):
    """Per-AU fusion weights from a transformer over [token, embedding, nodes].

    ``construct(au_logits (B, n), backbone_logits (B, n), embedding (B, d), nodes (B, n, d))``
    -> fused logits (B, n). ``weights(embedding, nodes)`` gives w in (0, 1), (B, n).
    """

    def __init__(self, d_model: int, num_aus: int = 12, num_layers: int = 2, num_heads: int = 1,
                 ffn_dim: int = 3072, dropout: float = 0.1):
        super().__init__()
        self.weight_token = ms.Parameter(ops.zeros((1, 1, d_model), ms.float32), name="weight_token")
        self.layers = nn.SequentialCell(
            [TransformerEncoderLayer(d_model, num_heads, ffn_dim, dropout) for _ in range(num_layers)])
        self.weight_head = nn.Dense(d_model, num_aus, weight_init=Normal(0.01), bias_init=Zero())
        self.concat = ops.Concat(axis=1)

    def weights(self, embedding, nodes):
        # (B, 1, d) without a batch-sized constant (zeros_like would be folded into one on export)
        token = embedding.expand_dims(1) * 0.0 + self.weight_token
        seq = self.concat((token, embedding.expand_dims(1), nodes))  # (B, n + 2, d)
        return ops.sigmoid(self.weight_head(self.layers(seq)[:, 0]))

    def construct(self, au_logits, backbone_logits, embedding=None, nodes=None):
        return fuse(au_logits, backbone_logits, self.weights(embedding, nodes))
