"""3-fold subject-exclusive cross-validation of a BP4D / DISFA recipe. (shell over :mod:`mindface_au.commands.cv`; also ``mindface-au cv``)."""
from mindface_au.cli import run_main
from mindface_au.commands.cv import main

if __name__ == "__main__":
    run_main(main)
