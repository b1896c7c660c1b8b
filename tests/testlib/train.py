"""Test helpers for training runs: tiny synthetic-data arguments, reading a work dir, and
(:mod:`testlib.kill_train`) a wrapper that SIGKILLs a training run right after (or in the middle of)
one chosen write::

    python -m testlib.kill_train after:summary.json:1 -- --no-progress --set ...   # then train's arguments

``after:NAME:E`` kills the process right after the write of ``NAME`` (``log.jsonl``'s epoch record,
``best.ckpt``, ``last.ckpt``, ``summary.json``, ``f1_per_au.png``, ``curves.png``) at the end of epoch
``E``; ``during:NAME:E`` kills it inside that atomic write, before its temporary file replaced the
target, so a ``.NAME.<random>.partial.<ext>`` file stays behind. The library is patched from the
outside (``fileio.atomic_path`` where modules hold it, ``JsonlLog.write``); it has no test hooks.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from . import ROOT, tool_args
from .run import subprocess_env


def tiny_train_args(data_root, work_dir, epochs=2, extra=()):
    """``--set`` arguments of a seconds-long run: iresnet_mini at 32 px on 4 synthetic videos of 40 frames
    (10 steps of 8 frames per epoch, 40 validation frames)."""
    sets = {
        "model.backbone": "iresnet_mini", "model.input_size": 32, "model.fusion.ffn_dim": 64,
        "model.lrp.mad_p": 0.0, "model.fusion.dropout": 0.0,
        "data.root": data_root, "data.synthetic": "true", "data.synthetic_videos": 4, "data.synthetic_frames": 40,
        "data.uniform_fraction": 0.5, "data.rare_fraction": 1.0, "data.augment": "false", "data.num_workers": 1,
        "train.epochs": epochs, "train.batch_size": 8, "train.lr_steps": "[1]", "train.lr": 0.01,
        "train.work_dir": work_dir, "train.log_interval": 1, "eval.batch_size": 64,
    }
    return tool_args(sets) + list(extra)


def overrides(args):
    """The ``key=value`` strings of ``--set`` arguments (for ``config_for_run``)."""
    return [a for a in args if a != "--set"]


def run_train_killed_at(spec, args):
    """The train command under :func:`kill_at` ``spec`` (see the module docstring), in its own process:
    it kills itself."""
    return subprocess.run([sys.executable, "-m", "testlib.kill_train", spec, "--", "--no-progress", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=900, env=subprocess_env())


def read_log(work):
    with open(os.path.join(work, "log.jsonl")) as f:
        return [json.loads(line) for line in f]


def partial_files(work):
    """Files of the work dir that an interrupted atomic write left (``.<name>.<random>.partial<ext>``)."""
    return sorted(n for n in os.listdir(work) if ".partial" in n)
