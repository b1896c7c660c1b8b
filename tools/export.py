"""Export an AU network to MindIR or ONNX (dynamic batch) and check the file in a fresh process. (shell over :mod:`mindface_au.commands.export`; also ``mindface-au export``)."""
from mindface_au.cli import run_main
from mindface_au.commands.export import main

if __name__ == "__main__":
    run_main(main)
