"""Linear probe of backbone inits (shell over :mod:`mindface_au.commands.probe`; also ``mindface-au probe``)."""
from mindface_au.cli import run_main
from mindface_au.commands.probe import main

if __name__ == "__main__":
    run_main(main)
