"""The model learns: a CI-sized training run beats the all-positive F1 on held-out synthetic videos.

Both the full model (LRP + ARL + attention fusion) and the node-only path (ARL, fusion none,
whose logits come from the AU nodes alone) must clear the all-positive baseline by a margin
on the validation videos, which no training video shares a scene with.

The score is the mean F1 at the per-AU best thresholds of the last epoch: on a CI budget the
probabilities rank the frames well long before they cross 0.5 (F1 at 0.5 lags the loss by many
epochs, see the README's ablation). A network that has learnt nothing ranks at random, and its
best-threshold F1 stays at the all-positive level (a threshold near 0 is all-positive), so an
8-point margin is learning, not threshold search.
"""
import pytest

from mindface_au.config import load_config
from mindface_au.engine.ablation import read_epochs
from mindface_au.engine.trainer import train

# best-threshold mean F1 must exceed the all-positive mean F1 by 8 points. Measured once here
# (10 epochs): full model 45.1 and node-only 43.6 against an all-positive 32.4 (F1 at 0.5:
# 30.3 and 28.5, still below it at this budget).
MARGIN = 0.08
EPOCHS = 10


def learning_config(data_root, work_dir, **sets):
    base = {
        "model.backbone": "iresnet_mini", "model.input_size": 32, "data.resize": 37, "model.fusion.ffn_dim": 128,
        "data.root": data_root, "data.synthetic": True, "data.synthetic_videos": 24, "data.synthetic_frames": 60,
        "data.uniform_fraction": 1.0, "data.rare_fraction": 1.0, "data.crop_scale": [0.6, 1.0], "data.num_workers": 1,
        "train.epochs": EPOCHS, "train.batch_size": 32, "train.lr": 0.01, "train.lr_steps": [EPOCHS - 2],
        "train.work_dir": work_dir, "train.log_interval": 20, "eval.batch_size": 256,
        "optim.decay_norm_and_bias": True, "model.lrp.mad": "authors",
    }
    base.update(sets)
    return load_config(None, [f"{k}={v}" for k, v in base.items()])


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return str(tmp_path_factory.mktemp("learning") / "affwild2")


@pytest.mark.slow
@pytest.mark.parametrize("name,sets", [
    ("full", {}),
    ("node_only", {"model.lrp.enabled": False, "model.fusion.kind": "none"}),
])
def test_training_beats_all_positive_on_held_out_videos(name, sets, data_root, tmp_path):
    work = str(tmp_path / name)
    train(learning_config(data_root, work, **sets), progress=False)
    epochs = read_epochs(work)
    assert len(epochs) == EPOCHS
    last = epochs[-1]
    assert last["loss"] < epochs[0]["loss"]
    assert last["best_threshold_mean_f1"] > last["all_positive_mean_f1"] + MARGIN, (
        f"{name}: best-threshold mean F1 {last['best_threshold_mean_f1']:.3f} vs all-positive "
        f"{last['all_positive_mean_f1']:.3f}; per epoch {[round(r['best_threshold_mean_f1'], 3) for r in epochs]}")
