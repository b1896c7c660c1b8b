"""Export an AU network to MindIR, ONNX or OpenVINO (dynamic batch, fp32 / bf16 / int8) and check the file in a fresh process. (shell over :mod:`mindface_au.commands.export`; also ``mindface-au export``)."""
from mindface_au.cli import run_main
from mindface_au.commands.export import main

if __name__ == "__main__":
    run_main(main)
