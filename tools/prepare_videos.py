"""Raw videos -> ABAW layout: ROOT/cropped_aligned/<video>/<k:05d>.jpg (aligned 112x112 face crops). (shell over :mod:`mindface_au.commands.prepare_videos`; also ``mindface-au prepare-videos``)."""
from mindface_au.cli import run_main
from mindface_au.commands.prepare_videos import main

if __name__ == "__main__":
    run_main(main)
