"""Split an ABAW dataset into k folds by video and write them as list files. (shell over :mod:`mindface_au.commands.make_folds`; also ``mindface-au make-folds``)."""
from mindface_au.cli import run_main
from mindface_au.commands.make_folds import main

if __name__ == "__main__":
    run_main(main)
