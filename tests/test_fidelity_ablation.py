"""The ablation study: N seeds per row, mean ± std of last-epoch F1 (0.5 / best thresholds) and loss."""
import json
import os

import numpy as np
import pytest

from mindface_au.engine import ablation
from mindface_au.engine.ablation import ablation_table, run_ablation, seed_work_dir, write_ablation

from testlib import ROOT

ROWS = [os.path.join(ROOT, "configs", "ablation", f"{r}.yaml") for r in ("2_circle", "from_scratch/3_arl")]
ARL = "from_scratch/3_arl"


def fake_run(work, f1s, best, losses):
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(work, "log.jsonl"), "w") as f:
        f.write(json.dumps({"type": "step", "loss": 99.0}) + "\n")
        for e, (a, b, l) in enumerate(zip(f1s, best, losses), 1):
            f.write(json.dumps({"type": "epoch", "epoch": e, "mean_f1": a, "best_threshold_mean_f1": b, "loss": l,
                                "all_positive_mean_f1": 0.3}) + "\n")


def test_rows_report_mean_and_std_of_the_last_epoch_over_seeds(tmp_path, monkeypatch):
    out = str(tmp_path)
    fake_run(seed_work_dir(out, "2_circle", 0), [0.5, 0.9, 0.6], [0.6, 0.9, 0.7], [3.0, 2.0, 1.0])
    fake_run(seed_work_dir(out, "2_circle", 1), [0.5, 0.7, 0.8], [0.6, 0.8, 0.9], [3.0, 2.0, 2.0])
    fake_run(seed_work_dir(out, ARL, 0), [0.1, 0.2, 0.3], [0.2, 0.3, 0.4], [9.0, 8.0, 7.0])
    trained = []
    monkeypatch.setattr("mindface_au.engine.trainer.train", lambda cfg, **kw: trained.append(cfg["train"]["work_dir"]))
    rows = run_ablation(ROWS, ["train.epochs=3"], seeds=2, out_dir=out, train_missing=False)
    assert trained == []
    base, arl = rows
    assert base["seeds"] == [0, 1] and arl["seeds"] == [0]
    assert base["f1_at_0.5"] == pytest.approx(0.7) and base["f1_at_0.5_std"] == pytest.approx(np.std([0.6, 0.8], ddof=1))
    assert base["f1_best_thresholds"] == pytest.approx(0.8) and base["last_loss"] == pytest.approx(1.5)
    assert base["best_epoch_f1_at_0.5"] == pytest.approx(0.85)  # seeds' best epochs: 0.9 and 0.8
    assert arl["f1_at_0.5_std"] is None  # one run: no std
    # finished runs are read, missing ones trained (seed 1 of the ARL row), each in its own work dir and data folder
    rows = run_ablation(ROWS, ["train.epochs=3"], seeds=2, out_dir=out)
    assert trained == [seed_work_dir(out, ARL, 1)]
    table = ablation_table(rows)
    assert "| + circle loss | 2 | 3 | 70.00 ± 14.14 |" in table
    # a sub-folder's rows follow its block title; the change is from the row the recipe builds on (2_circle)
    assert "| *from scratch* |" in table.splitlines()[3]
    assert "| + ARL, from scratch | 1 | 3 | 30.00 | -40.00 |" in table and "1.500 ± 0.707" in table
    write_ablation(rows, os.path.join(out, "table.md"))
    for ext in ("md", "json", "png"):
        assert os.path.getsize(os.path.join(out, f"table.{ext}")) > 0


def test_synthetic_data_folder_follows_the_seed(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr("mindface_au.engine.trainer.train", lambda cfg, **kw: seen.append(cfg["data"]["root"]))
    run_ablation(ROWS[:1], [], seeds=2, out_dir=str(tmp_path))
    assert seen == [os.path.join(str(tmp_path), "data", f"seed{s}") for s in (0, 1)]


def test_command_rejects_unknown_rows_and_bad_seeds(tmp_path):
    from mindface_au.commands.ablation import main

    with pytest.raises(FileNotFoundError, match="9_nothing"):
        main(["--rows", "9_nothing", "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        main(["--seeds", "0", "--out", str(tmp_path)])


def test_a_row_run_alone_keeps_the_work_dir_it_has_in_the_whole_study(tmp_path, monkeypatch):
    from mindface_au.commands.ablation import main

    trained, titles = [], []
    monkeypatch.setattr("mindface_au.engine.trainer.train", lambda cfg, **kw: trained.append(cfg["train"]["work_dir"]))
    monkeypatch.setattr(ablation, "plot_ablation", lambda rows, path, title, paper_rows: titles.append(title))
    main(["--rows", ARL, "--out", str(tmp_path), "--set", "train.epochs=1", "--title", "one row"])
    assert trained == [seed_work_dir(str(tmp_path), ARL, 0)]  # not <out>/3_arl/seed0
    assert titles == ["one row"]
    with pytest.raises(ValueError, match="1 row names for 2 recipes"):
        run_ablation(ROWS, names=[ARL], out_dir=str(tmp_path), train_missing=False)


def test_pretrained_rows_run_their_face_pretraining_first_and_missing_inits_are_named(tmp_path, monkeypatch):
    from mindface_au.config import load_config
    from mindface_au.engine.pretrain import PretrainSettings

    work = str(tmp_path / "pretrain")
    settings = PretrainSettings(work_dir=work, epochs=2)
    cfg = load_config(os.path.join(ROOT, "configs", "ablation", "4_arl.yaml"),
                      [f"model.backbone_init={os.path.join(work, 'backbone.ckpt')}"])
    calls = []

    def fake_pretrain(s, resume=False, progress=True):
        calls.append((s.work_dir, resume))
        os.makedirs(work, exist_ok=True)
        for name in ("backbone.ckpt", "last.ckpt"):
            open(os.path.join(work, name), "w").close()
        with open(os.path.join(work, "log.jsonl"), "a") as f:
            f.write(json.dumps({"type": "epoch", "epoch": len(calls)}) + "\n")

    monkeypatch.setattr("mindface_au.engine.pretrain.pretrain", fake_pretrain)
    ablation.ensure_pretrained(cfg, settings)  # nothing yet: a new pretraining
    ablation.ensure_pretrained(cfg, settings)  # 1 of 2 epochs: resumed
    ablation.ensure_pretrained(cfg, settings)  # complete: not run again
    assert calls == [(work, False), (work, True)]
    other = load_config(os.path.join(ROOT, "configs", "ablation", "3_pretrain.yaml"),
                        [f"model.backbone_init={tmp_path / 'elsewhere.ckpt'}"])
    with pytest.raises(FileNotFoundError, match="model.backbone_init: .*elsewhere.ckpt does not exist"):
        ablation.ensure_pretrained(other, settings)
