"""Train the rows of the paper's ablation (Table 3) and write the table as Markdown (+ JSON and a bar plot). (shell over :mod:`mindface_au.commands.ablation`; also ``mindface-au ablation``)."""
from mindface_au.cli import run_main
from mindface_au.commands.ablation import main

if __name__ == "__main__":
    run_main(main)
