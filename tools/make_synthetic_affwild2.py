"""Write a small synthetic dataset in the exact Aff-Wild2 / ABAW AU layout (rendered 112x112 faces). (shell over :mod:`mindface_au.commands.make_synthetic`; also ``mindface-au make-synthetic``)."""
from mindface_au.cli import run_main
from mindface_au.commands.make_synthetic import main

if __name__ == "__main__":
    run_main(main)
