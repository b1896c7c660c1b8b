"""Train an AU detector.

    python tools/train.py                                   # configs/demo_cpu.yaml on synthetic data
    python tools/train.py --config configs/paper_r100_attention.yaml --set data.root=/data/Aff-Wild2
    python tools/train.py --resume work_dirs/demo_cpu       # continue an interrupted run
    msrun --worker_num=4 --local_worker_num=4 --master_addr=127.0.0.1 --master_port=8118 \\
        tools/train.py --config configs/paper_r100_attention.yaml     # data-parallel
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from mindface_au.cli import make_parser, run_main  # noqa: E402
from mindface_au.engine.trainer import config_for_run, format_summary, train  # noqa: E402


def main():
    parser = make_parser(__doc__, default_config=os.path.join(ROOT, "configs", "demo_cpu.yaml"))
    parser.add_argument("--resume", metavar="WORK_DIR", help="continue the run in WORK_DIR from its last.ckpt")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (logs only)")
    args = parser.parse_args()
    cfg = config_for_run(args.config, args.overrides, args.resume)
    summary = train(cfg, resume=bool(args.resume), progress=not args.no_progress)
    if summary:
        print(f"\nbest epoch {summary['best_epoch']}: validation F1 per AU at threshold 0.5 "
              f"(work dir {cfg['train']['work_dir']})")
        print(format_summary(summary))
        print(f"all-positive baseline mean F1: {100 * summary['all_positive_mean_f1']:.2f}")
    return 0


if __name__ == "__main__":
    run_main(main)
