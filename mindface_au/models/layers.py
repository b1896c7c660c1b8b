"""Small layers shared by the AU heads."""
from __future__ import annotations

import mindspore.nn as nn
import mindspore.ops as ops
from mindspore import Parameter
from mindspore.common.initializer import Normal, Zero, initializer


class TokenDense(nn.Dense):
    """``nn.Dense`` for (..., C_in) inputs computed as one broadcast matmul: (..., C_in) -> (..., C_out).

    ``nn.Dense`` flattens a 3-D input to 2-D and back with the batch size written into the
    graph, so an exported ONNX file would only run at the export batch size. Same parameters
    (``weight`` (C_out, C_in), ``bias``) and the same numbers.
    """

    def construct(self, x):
        out = ops.matmul(x, self.weight.transpose(1, 0))
        if self.has_bias:
            out = out + self.bias
        return out


class PerTokenDense(nn.Cell):
    """One Dense(C -> 1) per token: (B, n, C) -> (B, n, 1), ``out[b, i, 0] = x[b, i] . weight[i] + bias[i]``
    (the shape ``TokenDense(C, 1)`` gives, so either can classify the AU nodes).

    Parameters ``weight`` (n, C) (Normal(0.01)) and ``bias`` (n,) (zero).
    """

    def __init__(self, num_tokens: int, channels: int):
        super().__init__()
        self.weight = Parameter(initializer(Normal(0.01), (num_tokens, channels)), name="weight")
        self.bias = Parameter(initializer(Zero(), (num_tokens,)), name="bias")

    def construct(self, x):
        return ((x * self.weight).sum(-1) + self.bias).expand_dims(-1)
