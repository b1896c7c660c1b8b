"""Evaluate checkpoints on a validation split: per-AU F1, post-processing, sweeps and ensembles. (shell over :mod:`mindface_au.commands.eval`; also ``mindface-au eval``)."""
from mindface_au.cli import run_main
from mindface_au.commands.eval import main

if __name__ == "__main__":
    run_main(main)
