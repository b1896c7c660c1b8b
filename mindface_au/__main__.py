"""``python -m mindface_au <command> [options]``: the ``mindface-au`` console command without its script."""
import sys

from .commands import main

if __name__ == "__main__":
    sys.exit(main())
