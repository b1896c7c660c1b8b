"""The tiny training run of the train tests: 4 synthetic videos x 40 frames, iresnet_mini at 32x32."""
from __future__ import annotations

import os

from . import ROOT, tool_args

TRAIN = os.path.join(ROOT, "tools", "train.py")


def tiny_train_args(data_root, work_dir, epochs=2, extra=()):
    sets = {
        "model.backbone": "iresnet_mini", "model.input_size": 32, "model.fusion.ffn_dim": 64,
        "model.lrp.mad_p": 0.0, "model.fusion.dropout": 0.0,
        "data.root": data_root, "data.synthetic": "true", "data.synthetic_videos": 4, "data.synthetic_frames": 40,
        "data.uniform_fraction": 0.5, "data.rare_fraction": 1.0, "data.augment": "false", "data.num_workers": 1,
        "train.epochs": epochs, "train.batch_size": 8, "train.lr_steps": "[1]", "train.lr": 0.01,
        "train.work_dir": work_dir, "train.log_interval": 1, "eval.batch_size": 64,
    }
    return tool_args(sets) + list(extra)
