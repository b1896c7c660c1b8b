"""Train an AU detector. (shell over :mod:`mindface_au.commands.train`; also ``mindface-au train``)."""
from mindface_au.cli import run_main
from mindface_au.commands.train import main

if __name__ == "__main__":
    run_main(main)
