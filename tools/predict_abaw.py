"""ABAW AU-track test submissions from aligned test frames (``<root>/cropped_aligned/<video>/<k:05d>.jpg``). (shell over :mod:`mindface_au.commands.predict_abaw`; also ``mindface-au predict-abaw``)."""
from mindface_au.cli import run_main
from mindface_au.commands.predict_abaw import main

if __name__ == "__main__":
    run_main(main)
