"""The F1 table (evaluation.report) and the evaluation plots of mindface_au.plots (written as real images)."""
import numpy as np
import pytest
from matplotlib.image import imread

from mindface_au.constants import AU_NAMES
from mindface_au.evaluation import binarize, format_f1_table, sweep
from mindface_au.plots import plot_au_timeline, plot_curves, plot_f1_bars, plot_sweep

PAPER_F1 = np.array([60.41, 54.94, 58.46, 64.03, 75.00, 75.61, 74.30, 34.41, 18.19, 19.26, 84.56, 41.52]) / 100


def test_f1_table_layout_and_values():
    thr = np.linspace(0.05, 0.6, 12)
    table = format_f1_table(PAPER_F1, extra_columns={"threshold": thr, "F1 @best": list(PAPER_F1 + 0.01) + [0.5607]})
    lines = table.splitlines()
    assert len(lines) == 2 + 12 + 1
    assert [c.strip() for c in lines[0].strip("|").split("|")] == ["AU", "F1 (%)", "threshold", "F1 @best"]
    assert [ln.split("|")[1].strip() for ln in lines[2:]] == list(AU_NAMES) + ["mean"]
    assert lines[2].split("|")[2].strip() == "60.41"
    assert lines[9].split("|")[3].strip() == f"{thr[7]:.3f}"  # AU15
    mean_cells = [c.strip() for c in lines[-1].strip("|").split("|")]
    assert mean_cells == ["mean", f"{100 * PAPER_F1.mean():.2f}", "", "0.561"]
    assert "55.06" in format_f1_table(PAPER_F1, mean=0.5506)
    with pytest.raises(ValueError, match="has 3 values"):
        format_f1_table(PAPER_F1, extra_columns={"x": [1, 2, 3]})


def _image(path):
    img = imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert img[..., :3].std() > 0.01  # not a blank canvas
    return img


def test_plots_write_images(tmp_path):
    _image(plot_f1_bars(PAPER_F1, str(tmp_path / "bars.png"), "paper", reference=np.full(12, 0.3),
                       reference_label="all positive"))
    records = [{"type": "step", "epoch": e, "step": s, "global_step": e * 5 + s, "loss": 3.0 / (1 + e * 5 + s),
                "lr": 1e-3 * (0.1 if e >= 2 else 1)} for e in range(4) for s in range(5)]
    records += [{"type": "epoch", "epoch": e, "mean_f1": 0.3 + 0.1 * e, "best_mean_f1": 0.35 + 0.1 * e}
                for e in range(4)]
    _image(plot_curves(records, str(tmp_path / "curves.png")))
    _image(plot_curves(records[-4:], str(tmp_path / "epochs_only.png")))  # partial logs plot too
    rng = np.random.default_rng(0)
    probs = rng.random((200, 12))
    labels = (probs > 0.6).astype(int)
    vids = np.repeat(["a", "b"], 100)
    _image(plot_sweep(sweep(probs, labels, vids, ks=range(1, 4), progress=False), str(tmp_path / "sweep.png")))
    _image(plot_au_timeline(probs, str(tmp_path / "timeline.png"), fps=30, title="video a",
                            decisions=binarize(probs, 0.5)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bars.png", "curves.png", "epochs_only.png", "sweep.png",
                                                         "timeline.png"]
    with pytest.raises(ValueError, match="shape"):
        plot_au_timeline(np.zeros((0, 12)), str(tmp_path / "empty.png"))
    with pytest.raises(ValueError, match="shape of probs"):
        plot_au_timeline(probs, str(tmp_path / "bad.png"), decisions=np.zeros((3, 12)))


def test_positive_rates_and_ablation_plots(tmp_path):
    from mindface_au.plots import plot_ablation, plot_positive_rates

    _image(plot_positive_rates({"train": np.full(12, 0.2), "val": np.linspace(0, 1, 12)}, str(tmp_path / "rates.png")))
    with pytest.raises(ValueError, match="same number of AUs"):
        plot_positive_rates({"train": np.zeros(12), "val": np.zeros(5)}, str(tmp_path / "bad.png"))
    rows = [{"row": name, "title": name, "seeds": [0, 1], "f1_at_0.5": 0.4, "f1_at_0.5_std": 0.01,
             "f1_best_thresholds": 0.5, "f1_best_thresholds_std": 0.02, "all_positive_f1": 0.3,
             "runs": [{"loss_per_epoch": [1.0, 0.5, 0.25], "f1_per_epoch": [0.2, 0.3, 0.4]}] * 2}
            for name in ("1_baseline", "from_scratch/5_ff")]
    _image(plot_ablation(rows, str(tmp_path / "ablation.png"), paper_rows={"1_baseline": 50.8, "from_scratch/5_ff": 55.3}))


def test_memory_curve_plot(tmp_path):
    from mindface_au.plots import plot_memory

    _image(plot_memory({"worker": [(1000, 800.0), (10000, 810.0)], "in-process": [(1000, 800.0), (10000, 1160.0)]},
                       str(tmp_path / "memory.png")))


def test_importing_the_plots_loads_no_matplotlib():
    import os
    import subprocess
    import sys

    from testlib import ROOT

    code = "import sys, mindface_au.plots; assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
