"""Convert PyTorch weights (insightface IResNet, the authors' AU checkpoints) to MindSpore checkpoints. (shell over :mod:`mindface_au.commands.convert`; also ``mindface-au convert``)."""
from mindface_au.cli import run_main
from mindface_au.commands.convert import main

if __name__ == "__main__":
    run_main(main)
