"""The MindSpore ``AUF1Metric`` (engine.metric): batches accumulated, scored as evaluation.score does; and
training's validation network, compiled once for the whole run."""
import numpy as np
import pytest

import mindspore as ms
from mindspore import nn

from mindface_au.constants import THRESHOLD_GRID
from mindface_au.engine.evaluator import predict_probs
from mindface_au.engine.metric import AUF1Metric
from mindface_au.engine.predict import sigmoid_cell
from mindface_au.evaluation import best_thresholds, f1_per_au


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))


def test_metric_update_with_tensors_accumulates_batches():
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(50, 12)).astype(np.float32) * 2
    labels = (rng.random((50, 12)) < 0.4).astype(np.float32)
    labels[rng.random((50, 12)) < 0.1] = -1
    metric = AUF1Metric()
    metric.clear()
    for lo, hi in ((0, 20), (20, 50)):
        metric.update(ms.Tensor(logits[lo:hi]), ms.Tensor(labels[lo:hi]))
    out = metric.eval()
    probs = _sigmoid(logits)
    np.testing.assert_allclose(out["probs"], probs, rtol=1e-6)
    np.testing.assert_array_equal(out["labels"], labels.astype(np.int8))
    np.testing.assert_allclose(out["per_au_f1"], f1_per_au(probs, labels, 0.5), atol=1e-12)
    assert out["mean_f1"] == pytest.approx(out["per_au_f1"].mean())
    thr, best = best_thresholds(probs, labels)
    np.testing.assert_allclose(out["thresholds"], thr)
    assert out["best_threshold_mean_f1"] == pytest.approx(best.mean())
    assert 0.5 in THRESHOLD_GRID and out["best_threshold_mean_f1"] >= out["mean_f1"] - 1e-12
    metric.clear()
    with pytest.raises(RuntimeError):
        metric.eval()


def test_metric_inside_model_eval():
    class Net(nn.Cell):
        def __init__(self):
            super().__init__()
            self.fc = nn.Dense(4, 12)

        def construct(self, x):
            return self.fc(x)

    rng = np.random.default_rng(5)
    x = rng.normal(size=(24, 4)).astype(np.float32)
    y = (rng.random((24, 12)) < 0.5).astype(np.float32)
    net = Net()
    ds = ms.dataset.NumpySlicesDataset({"x": x, "y": y}, shuffle=False).batch(8)
    model = ms.train.Model(net, loss_fn=nn.BCEWithLogitsLoss(), metrics={"au": AUF1Metric()})
    out = model.eval(ds, dataset_sink_mode=False)["au"]
    probs = _sigmoid(net(ms.Tensor(x)).asnumpy())
    np.testing.assert_allclose(out["probs"], probs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["per_au_f1"], f1_per_au(probs, y), atol=1e-12)


def test_metric_refuses_bad_labels():
    metric = AUF1Metric()
    with pytest.raises(ValueError, match="labels must be 0, 1 or -1"):
        metric.update(ms.Tensor(np.zeros((2, 12), np.float32)), ms.Tensor(np.full((2, 12), 0.5, np.float32)))
    with pytest.raises(ValueError, match="must both be"):
        metric.update(ms.Tensor(np.zeros((2, 12), np.float32)), ms.Tensor(np.zeros((2, 11), np.float32)))


def test_the_validation_cell_is_compiled_once_and_sees_the_weights_of_each_epoch(tiny_cfg):
    """One ``sigmoid_cell`` reused by ``predict_probs`` (as the training loop does at every epoch end)
    keeps its GRAPH_MODE graphs (one per batch shape, made at the first call; a new wrapper per epoch
    compiled them again, ~3 s each) and still computes with the weights the epoch in between changed."""
    from mindspore.dataset import NumpySlicesDataset

    from mindface_au import build_model

    ms.set_context(mode=ms.GRAPH_MODE)
    net = build_model(tiny_cfg)
    size = tiny_cfg["model"]["input_size"]
    rng = np.random.default_rng(0)
    images = rng.random((6, 3, size, size)).astype(np.float32)
    labels = (rng.random((6, 12)) < 0.5).astype(np.float32)
    data = NumpySlicesDataset((images, labels), column_names=["image", "label"], shuffle=False).batch(4)
    cell = sigmoid_cell(net)
    first = predict_probs(cell, data, progress=False)[0]
    graphs = set(cell.compile_cache)
    assert len(graphs) == 2  # batches of 4 and 2
    net.set_train(True)  # what the next epoch does: training mode, new weights
    for param in net.trainable_params():
        if param.name.endswith("weight"):
            param.set_data(param.value() * 0.9)
    assert sigmoid_cell(cell) is cell and not net.training
    again = predict_probs(cell, data, progress=False)[0]
    assert cell.compile_cache == graphs  # no new graph
    fresh = predict_probs(net, data, progress=False)[0]  # a new wrapper, compiled anew
    np.testing.assert_allclose(again, fresh, rtol=0, atol=1e-6)
    assert np.abs(again - first).max() > 1e-3  # the new weights, not the first call's
