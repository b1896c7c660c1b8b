"""The ``mindface-au`` command: one subcommand per tool, each a module here with ``main(argv) -> int``.

    mindface-au train --config configs/paper_r100_attention.yaml --set data.root=/data/Aff-Wild2
    mindface-au infer video.mp4 --ckpt best.ckpt --out results/
    mindface-au <command> --help

``tools/<name>.py`` are the same functions as scripts (``python tools/train.py`` = ``mindface-au train``).
"""
from __future__ import annotations

import importlib
import sys
from typing import Optional, Sequence

# subcommand -> (module under mindface_au.commands, one line of help)
COMMANDS = {
    "train": ("train", "train an AU detector (default: the CPU demo on synthetic data)"),
    "eval": ("eval", "per-AU F1 of checkpoints or ensembles on a validation split, smoothing, sweeps"),
    "export": ("export", "export a checkpoint to MindIR / ONNX, checked in a fresh process"),
    "infer": ("infer", "per-frame AU CSVs for images, folders, videos and webcams"),
    "convert": ("convert", "convert insightface / authors' PyTorch weights to MindSpore checkpoints"),
    "check-dataset": ("check_dataset", "counts, dropped rows, missing images and AU rates of an ABAW root"),
    "predict-abaw": ("predict_abaw", "ABAW5 / ABAW6 challenge submissions from unlabelled test frames"),
    "prepare-videos": ("prepare_videos", "raw videos -> ABAW layout (aligned face crops)"),
    "prepare-disfa": ("prepare_disfa", "DISFA's left-camera videos -> aligned face crops, once (resumable)"),
    "make-synthetic": ("make_synthetic", "write a synthetic Aff-Wild2-layout data set"),
    "make-folds": ("make_folds", "k folds by video as list files"),
    "cv": ("cv", "3-fold subject cross-validation of a BP4D / DISFA recipe: per-AU F1 table per fold and mean"),
    "ablation": ("ablation", "train the rows of the paper's ablation (Table 3)"),
    "pretrain": ("pretrain", "pretrain an IResNet for face recognition (ArcFace) on an identity folder"),
    "probe": ("probe", "linear probe: the AU information in a backbone init's frozen features (held-out AUC)"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: mindface-au <command> [options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "mindface-au <command> --help shows a command's options."]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``mindface-au`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"error: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"{__name__}.{COMMANDS[name][0]}")
    sys.argv = [f"mindface-au {name}"] + rest  # argparse's prog in usage lines
    from ..cli import run_main

    run_main(lambda: module.main(rest))
    return 0
