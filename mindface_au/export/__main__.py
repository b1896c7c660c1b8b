"""``python -m mindface_au.export MODEL_FILE INPUTS.npz OUTPUTS.npz``: :func:`mindface_au.export.check.main`."""
import sys

from .check import main

if __name__ == "__main__":
    sys.exit(main())
