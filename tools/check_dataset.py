"""Check an Aff-Wild2 / ABAW AU dataset: per split the videos, frames, dropped rows, missing and unreadable (shell over :mod:`mindface_au.commands.check_dataset`; also ``mindface-au check-dataset``)."""
from mindface_au.cli import run_main
from mindface_au.commands.check_dataset import main

if __name__ == "__main__":
    run_main(main)
