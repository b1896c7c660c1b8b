"""One prediction over an array of normalised crops: ``(N, 3, S, S) float32 -> (N, n) probabilities``
(``(N, 2n)`` for a network with the intensity head: the probabilities, then the 0-5 intensities;
:mod:`mindface_au.outputs`).

:func:`predict_array` runs any forward callable (a MindSpore Cell wrapped by :func:`cell_forward`,
an exported file's backend) in batches of ``batch_size``. With ``pad_last`` a short last batch is
zero-padded to the next power of two (at most ``batch_size``) and the padding cut off again: a
MindSpore Cell in GRAPH_MODE compiles once per input shape, so this bounds its compilations.
Used by the Cell backend (:class:`mindface_au.inference.backends.CellBackend`) and the export
checks (:mod:`mindface_au.export.check`). MindSpore is imported only by :func:`cell_forward`.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

Forward = Callable[[np.ndarray], np.ndarray]


def pad_batch(chunk: np.ndarray, batch_size: int) -> np.ndarray:
    """``chunk`` (b, ...) zero-padded along axis 0 to the next power of two of b, at most ``batch_size``."""
    n = len(chunk)
    padded = min(batch_size, 1 << (n - 1).bit_length())
    if padded <= n:
        return chunk
    return np.concatenate([chunk, np.zeros((padded - n,) + chunk.shape[1:], chunk.dtype)])


def predict_array(forward: Forward, x: np.ndarray, batch_size: int = 64, pad_last: bool = False,
                  num_outputs: int = 0) -> np.ndarray:
    """``forward`` over ``x`` (N, 3, S, S) in batches of ``batch_size``: (N, w) float32, in order.

    ``num_outputs``: w, the width of the (0, w) result when ``x`` is empty (n, or 2n with intensity).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    outs = []
    for i in range(0, len(x), batch_size):
        chunk = x[i:i + batch_size]
        run = pad_batch(chunk, batch_size) if pad_last else chunk
        outs.append(np.asarray(forward(run), np.float32)[:len(chunk)])
    return np.concatenate(outs) if outs else np.zeros((0, num_outputs), np.float32)


def sigmoid_cell(net):
    """``WithSigmoid(net)`` in eval mode: (B, 3, S, S) Tensor -> (B, n) probabilities (with the intensity
    head (B, 2n): the probabilities, then the intensities).

    ``net`` already a ``WithSigmoid`` is put back into eval mode and returned itself: GRAPH_MODE compiles
    a Cell once per input shape, and a new wrapper per call (each epoch's validation) would compile again.
    """
    from ..models import WithSigmoid

    net.set_train(False)
    if isinstance(net, WithSigmoid):
        return net
    cell = WithSigmoid(net)
    cell.set_train(False)
    return cell


def cell_forward(cell) -> Forward:
    """A numpy forward of a MindSpore ``cell``: (B, 3, S, S) float32 -> (B, w) float32 (its output)."""
    import mindspore as ms

    return lambda x: cell(ms.Tensor(np.ascontiguousarray(x, np.float32))).asnumpy()


def predict_net(net, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """(N, n) probabilities of the fp32 network ``net`` (sigmoid of its logits) on ``x`` (N, 3, S, S);
    (N, 2n) with the intensity head (the intensities after the probabilities, as the network gives them)."""
    return predict_array(cell_forward(sigmoid_cell(net)), x, batch_size, pad_last=True)
