"""Test helpers for training runs: tiny synthetic-data arguments, the train command as a subprocess,
and a wrapper that SIGKILLs a training run right after (or in the middle of) one chosen write.

Run as a script, it is that wrapper::

    python tests/train_testlib.py after:summary.json:1 -- --no-progress --set ...   # then train's arguments

``after:NAME:E`` kills the process right after the write of ``NAME`` (``log.jsonl``'s epoch record,
``best.ckpt``, ``last.ckpt``, ``summary.json``, ``f1_per_au.png``, ``curves.png``) at the end of epoch
``E``; ``during:NAME:E`` kills it inside that atomic write, before its temporary file replaced the
target, so a ``.NAME.<random>.partial.<ext>`` file stays behind. The library is patched from the
outside (``fileio.atomic_path`` where modules hold it, ``JsonlLog.write``); it has no test hooks.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from contextlib import contextmanager

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN = os.path.join(ROOT, "tools", "train.py")
THIS = os.path.abspath(__file__)


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
    args = []
    for k, v in sets.items():
        args += ["--set", f"{k}={v}"]
    return args + list(extra)


def overrides(args):
    """The ``key=value`` strings of ``--set`` arguments (for ``config_for_run``)."""
    return [a for a in args if a != "--set"]


def subprocess_env():
    """The environment of a child run: this checkout's package first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def train_command(args):
    return [sys.executable, TRAIN, "--no-progress", *args]


def run_train(args, **kw):
    """The train command in a subprocess (its CompletedProcess, output captured)."""
    return subprocess.run(train_command(args), capture_output=True, text=True, cwd=ROOT, timeout=900,
                          env=subprocess_env(), **kw)


def run_train_killed_at(spec, args):
    """The train command under :func:`kill_at` ``spec`` (see the module docstring)."""
    return subprocess.run([sys.executable, THIS, spec, "--", "--no-progress", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=900, env=subprocess_env())


def read_log(work):
    with open(os.path.join(work, "log.jsonl")) as f:
        return [json.loads(line) for line in f]


def partial_files(work):
    """Files of the work dir that an interrupted atomic write left (``.<name>.<random>.partial<ext>``)."""
    return sorted(n for n in os.listdir(work) if ".partial" in n)


def kill_at(spec: str) -> None:
    """Patch the library so that this process SIGKILLs itself at ``spec`` (``after|during:NAME:EPOCH``)."""
    when, target, epoch = spec.split(":")
    if when not in ("after", "during"):
        raise ValueError(f"kill spec {spec!r}: expected after:NAME:EPOCH or during:NAME:EPOCH")
    epoch = int(epoch)
    import mindface_au.checkpoint  # noqa: F401  (every module that holds atomic_path, loaded before patching)
    import mindface_au.engine.trainer  # noqa: F401
    import mindface_au.evaluation.report  # noqa: F401
    from mindface_au import fileio
    from mindface_au.engine.callbacks import JsonlLog, TrainingLoop

    in_epoch_end = {"epoch": None}

    def die(where):
        print(f"KILLED {where}", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    def hit(path):
        return in_epoch_end["epoch"] == epoch and os.path.basename(path) == target

    original_atomic_path = fileio.atomic_path

    @contextmanager
    def atomic_path(path):
        with original_atomic_path(path) as tmp:
            yield tmp
            if when == "during" and hit(path):
                die(f"during {target}")
        if when == "after" and hit(path):
            die(f"after {target}")

    for name, module in list(sys.modules.items()):
        if name.startswith("mindface_au") and getattr(module, "atomic_path", None) is original_atomic_path:
            module.atomic_path = atomic_path

    original_write = JsonlLog.write

    def write(self, record):
        original_write(self, record)
        if (when, target) == ("after", "log.jsonl") and record.get("type") == "epoch" and record["epoch"] == epoch:
            die("after log.jsonl")

    original_finish = TrainingLoop.finish_epoch

    def finish_epoch(self):
        in_epoch_end["epoch"] = self.state["epoch"] + 1
        try:
            return original_finish(self)
        finally:
            in_epoch_end["epoch"] = None

    JsonlLog.write = write
    TrainingLoop.finish_epoch = finish_epoch


if __name__ == "__main__":
    sep = sys.argv.index("--")
    kill_at(sys.argv[1])
    from mindface_au.commands.train import main

    sys.exit(main(sys.argv[sep + 1:]))
