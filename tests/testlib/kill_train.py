"""Run as ``python -m testlib.kill_train after|during:NAME:EPOCH -- <train arguments>``: the train
command, patched from the outside so that it SIGKILLs itself right after (``after``) or inside
(``during``) one write of the epoch end. ``NAME`` is ``log.jsonl`` (the epoch record), ``best.ckpt``,
``last.ckpt``, ``summary.json``, ``f1_per_au.png`` or ``curves.png``; ``during`` leaves the
``.NAME.<random>.partial.<ext>`` file of the interrupted atomic write behind. The library itself
has no test hooks: ``fileio.atomic_path`` (where modules hold it) and ``JsonlLog.write`` are wrapped.
"""
from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager


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
