"""Pretrain an IResNet for face recognition (shell over :mod:`mindface_au.commands.pretrain`; also ``mindface-au pretrain``)."""
from mindface_au.cli import run_main
from mindface_au.commands.pretrain import main

if __name__ == "__main__":
    run_main(main)
