"""AU detection on images, folders of images, videos and webcams: one per-frame CSV per input. (shell over :mod:`mindface_au.commands.infer`; also ``mindface-au infer``)."""
from mindface_au.cli import run_main
from mindface_au.commands.infer import main

if __name__ == "__main__":
    run_main(main)
