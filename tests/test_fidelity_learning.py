"""The model learns: a CI-sized training run ranks held-out synthetic videos better than an untrained
network does.

Both the full model (LRP + ARL + attention fusion) and the node-only path (ARL, fusion none,
whose logits come from the AU nodes alone) are trained 10 epochs; the network of the last epoch
(``last.ckpt``) then scores the validation videos, which no training video shares a scene with.

The score is the mean ROC AUC over AUs on those videos: threshold-free, so nothing is tuned on the
frames it is scored on. Measured here (AMD EPYC, 2 cores), at the last epoch:

- trained, 5 runs each: full 0.698 ... 0.747, node-only 0.677 ... 0.722;
- untrained (``train.lr=0``, one run each): full 0.600, node-only 0.468.

Each bar lies about halfway between its untrained and its worst trained network.

This test used to assert the best-threshold F1 above all-positive by 8 points. The untrained full
model clears that (+9.6 points: per-AU thresholds searched on the 396 held-out frames find them in
random features; node-only +5.2), and trained runs scored +7.7 ... +15.5, one of them under the
bar, so it told neither way. F1 at 0.5 lags far behind at this budget (-7 ... +7 points); the
README's ablation has the longer runs.
"""
import numpy as np
import pytest

import mindspore as ms

from mindface_au import build_model
from mindface_au.checkpoint import load_checkpoint
from mindface_au.config import load_config
from mindface_au.engine.ablation import read_epochs
from mindface_au.engine.evaluator import predict_probs
from mindface_au.engine.trainer import train
from mindface_au.evaluation import roc_auc_per_au
from mindface_au.pipeline import build_eval_dataset
from mindface_au.weights import load_into

EPOCHS = 10


def learning_config(data_root, work_dir, **sets):
    base = {
        "model.backbone": "iresnet_mini", "model.input_size": 32, "data.resize": 37, "model.fusion.ffn_dim": 128,
        "data.root": data_root, "data.synthetic": True, "data.synthetic_videos": 24, "data.synthetic_frames": 60,
        "data.uniform_fraction": 1.0, "data.rare_fraction": 1.0, "data.crop_scale": [0.6, 1.0], "data.num_workers": 1,
        "train.epochs": EPOCHS, "train.batch_size": 32, "train.lr": 0.01, "train.lr_steps": [EPOCHS - 2],
        "train.work_dir": work_dir, "train.log_interval": 20,
        "eval.batch_size": 512,  # the 396 validation frames in one batch: one graph compiled, not two
        "optim.decay_norm_and_bias": True, "model.lrp.mad": "authors",
    }
    base.update(sets)
    return load_config(None, [f"{k}={v}" for k, v in base.items()])


def held_out_auc(cfg, work_dir) -> float:
    """Mean ROC AUC over AUs of the last epoch's network (``last.ckpt``: the weights of a training
    state, without its optimiser buffers) on the validation videos (frames coded for that AU)."""
    ms.set_context(mode=ms.GRAPH_MODE)
    net = build_model(cfg)
    params, _ = load_checkpoint(f"{work_dir}/last.ckpt")
    own = net.parameters_dict()
    load_into(net, {k: v for k, v in params.items() if k in own}, strict=True)  # every network weight
    probs, labels = predict_probs(net, build_eval_dataset(cfg)[0], progress=False)
    aucs = roc_auc_per_au(probs, labels)
    assert np.isfinite(aucs).sum() >= labels.shape[1] // 2, aucs
    return float(np.nanmean(aucs))


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return str(tmp_path_factory.mktemp("learning") / "affwild2")


@pytest.mark.slow
@pytest.mark.parametrize("name,sets,min_auc", [
    ("full", {}, 0.65),  # untrained 0.600, trained 0.698 at least (above)
    ("node_only", {"model.lrp.enabled": False, "model.fusion.kind": "none"}, 0.58),  # 0.468 / 0.677
])
def test_training_ranks_held_out_videos_above_an_untrained_network(name, sets, min_auc, data_root, tmp_path):
    work = str(tmp_path / name)
    cfg = learning_config(data_root, work, **sets)
    train(cfg, progress=False)
    epochs = read_epochs(work)
    assert len(epochs) == EPOCHS
    assert epochs[-1]["loss"] < epochs[0]["loss"]
    auc = held_out_auc(cfg, work)
    print(f"{name}: mean held-out AUC {auc:.3f}")  # shown by pytest -rP
    margins = [round(100 * (r["best_threshold_mean_f1"] - r["all_positive_mean_f1"]), 1) for r in epochs]
    assert auc > min_auc, (f"{name}: mean held-out AUC {auc:.3f}; per epoch, best-threshold F1 minus "
                           f"all-positive (points): {margins}")
