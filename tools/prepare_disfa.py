"""DISFA's left-camera videos -> aligned 112x112 face crops, once (resumable). (shell over :mod:`mindface_au.commands.prepare_disfa`; also ``mindface-au prepare-disfa``)."""
from mindface_au.cli import run_main
from mindface_au.commands.prepare_disfa import main

if __name__ == "__main__":
    run_main(main)
