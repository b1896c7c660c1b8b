"""TEMP (merged into helper C's plots module at merge)."""
from __future__ import annotations

from typing import Sequence

from .fileio import atomic_savefig


def plot_pretrain_curves(records: Sequence[dict], path: str) -> str:
    """Pretraining per epoch: training loss (left) and held-out verification accuracy (right); returns ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in records]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax_loss.plot(epochs, [r["loss"] for r in records], marker="o")
    ax_loss.set(xlabel="epoch", ylabel="ArcFace loss", title="training loss")
    acc = [100 * r["accuracy"] for r in records]
    std = [100 * r["accuracy_std"] for r in records]
    ax_acc.errorbar(epochs, acc, yerr=std, marker="o", capsize=3, label="held-out pairs (10 folds)")
    ax_acc.axhline(50, color="grey", ls="--", lw=1, label="chance")
    ax_acc.set(xlabel="epoch", ylabel="verification accuracy (%)", title="face verification", ylim=(40, 100))
    ax_acc.legend(loc="lower right")
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=110)
    plt.close(fig)
    return path
