"""What a resume repairs, piece by piece and without training: partial files of killed writes, log
records beyond the saved state, a torn last log line, the summary derived from the state and
best.ckpt's meta, and a best.ckpt saved after the state that names an older best."""
import json
import os

import pytest

from mindface_au.config import load_config
from mindface_au.engine.callbacks import JsonlLog, derive_summary
from mindface_au.engine.state import INITIAL_STATE
from mindface_au.engine.trainer import _adopt_best
from mindface_au.fileio import atomic_path, atomic_write_text, remove_partial_files


def test_remove_partial_files_takes_only_what_atomic_writes_leave(tmp_path):
    folder = str(tmp_path)
    atomic_write_text(os.path.join(folder, "summary.json"), "{}")
    with pytest.raises(KeyboardInterrupt):  # an interrupted write removes its own temporary file...
        with atomic_path(os.path.join(folder, "curves.png")) as tmp:
            open(tmp, "wb").close()
            raise KeyboardInterrupt
    # ...a killed one cannot: these are the names it leaves
    left = [".last.a1b2c3d4.partial.ckpt", ".f1_per_au.x_9yz012.partial.png", ".summary.abcdefgh.partial.json",
            ".last_rank1.qwertyui.partial.ckpt"]
    keep = ["last.ckpt", "summary.json", ".hidden", "notes.partial.txt", ".other.abcdefgh.partial.csv"]
    for name in left + keep[:1] + keep[2:]:
        open(os.path.join(folder, name), "w").close()
    os.mkdir(os.path.join(folder, ".dir.abcdefgh.partial.png"))  # folders are never removed
    removed = remove_partial_files(folder, stems=("last", "f1_per_au", "summary", "last_rank1"))
    assert sorted(os.path.basename(p) for p in removed) == sorted(left)
    assert sorted(os.listdir(folder)) == sorted(keep + [".dir.abcdefgh.partial.png"])
    assert [os.path.basename(p) for p in remove_partial_files(folder)] == [".other.abcdefgh.partial.csv"]
    assert remove_partial_files(str(tmp_path / "absent")) == []


def write_log(path, records, tail=""):
    with open(path, "w") as f:
        f.write("".join(json.dumps(r) + "\n" for r in records) + tail)


def test_log_keeps_only_what_the_state_covers(tmp_path):
    path = str(tmp_path / "log.jsonl")
    steps = [{"type": "step", "epoch": 1 + (g - 1) // 3, "global_step": g, "loss": 1.0} for g in range(1, 8)]
    records = steps[:3] + [{"type": "epoch", "epoch": 1, "global_step": 3}] + steps[3:6] + [
        {"type": "epoch", "epoch": 2, "global_step": 6}] + steps[6:]
    write_log(path, records, tail='{"type": "step", "glo')  # the last append was cut by the kill
    log = JsonlLog(path)
    assert log.read() == records  # the torn line is skipped
    assert log.keep_until(epoch=1, global_step=5) == 3  # steps 6, 7 and epoch 2 go (and the torn line)
    assert log.read() == records[:6]
    assert open(path).read().endswith("}\n")
    assert log.keep_until(epoch=1, global_step=5) == 0
    assert log.keep_until(epoch=0, global_step=0) == 6 and log.read() == []  # a new run starts a new log


def test_a_bad_line_inside_the_log_names_file_and_line(tmp_path):
    path = str(tmp_path / "log.jsonl")
    write_log(path, [{"type": "step", "global_step": 1}], tail="not json\n" + json.dumps({"type": "step"}) + "\n")
    with pytest.raises(ValueError, match=r"log.jsonl:2: not a JSON record"):
        JsonlLog(path).read()


BEST_META = {"epoch": 3, "best_by": "f1_best_thresholds", "score": 0.6, "threshold": 0.5, "mean_f1": 0.45,
             "per_au_f1": [0.45] * 12, "thresholds": [0.3] * 12, "best_threshold_mean_f1": 0.6,
             "best_threshold_per_au_f1": [0.6] * 12, "all_positive_mean_f1": 0.25}


def test_summary_is_derived_from_the_state_and_best_ckpt():
    cfg = load_config(None, ["train.epochs=5"])
    state = dict(INITIAL_STATE, epoch=4, best_epoch=3)
    assert derive_summary(state, None, cfg) == {"epochs_done": 4, "total_epochs": 5, "best_by": "f1_at_0.5",
                                                "threshold": 0.5}
    summary = derive_summary(state, BEST_META, cfg)
    assert summary == {"epochs_done": 4, "total_epochs": 5, "best_by": "f1_best_thresholds", "threshold": 0.5,
                       "best_epoch": 3, "best_mean_f1": 0.45, "per_au_f1": [0.45] * 12, "thresholds": [0.3] * 12,
                       "best_threshold_mean_f1": 0.6, "best_threshold_per_au_f1": [0.6] * 12,
                       "all_positive_mean_f1": 0.25}
    # a best.ckpt of an older version (no best_by, no best-threshold F1) still gives the keys train reports
    old = {k: BEST_META[k] for k in ("epoch", "mean_f1", "per_au_f1", "thresholds")}
    assert set(derive_summary(state, old, cfg)) >= {"best_epoch", "best_mean_f1", "per_au_f1", "thresholds",
                                                    "best_by", "threshold", "epochs_done"}


@pytest.mark.parametrize("best_by, score", [("f1_best_thresholds", 0.6), ("f1_at_0.5", 0.45)])
def test_resume_adopts_the_best_ckpt_on_disk(best_by, score, capsys):
    cfg = load_config(None, [f"train.best_by={best_by}"])
    # killed between best.ckpt (epoch 3) and last.ckpt: the state still names epoch 2
    state = dict(INITIAL_STATE, epoch=2, best_epoch=2, best_score=0.4)
    _adopt_best(state, BEST_META, cfg, "work", verbose=True)
    assert (state["best_epoch"], state["best_score"]) == (3, score)  # the redone epoch 3 must beat it
    assert "best.ckpt holds epoch 3" in capsys.readouterr().out
    state = dict(INITIAL_STATE, epoch=4, best_epoch=3, best_score=0.1)
    _adopt_best(state, None, cfg, "work", verbose=True)  # best.ckpt removed by hand
    assert (state["best_epoch"], state["best_score"]) == (0, -1.0)
    assert "missing" in capsys.readouterr().out
