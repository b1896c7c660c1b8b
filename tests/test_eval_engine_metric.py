"""The MindSpore ``AUF1Metric`` (engine.metric): batches accumulated, scored as evaluation.score does."""
import numpy as np
import pytest

import mindspore as ms
from mindspore import nn

from mindface_au.constants import THRESHOLD_GRID
from mindface_au.engine.metric import AUF1Metric
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
