"""Train an AU detector.

    python tools/train.py                                   # configs/demo_cpu.yaml on synthetic data
    python tools/train.py --config configs/paper_r100_attention.yaml --set data.root=/data/Aff-Wild2
    python tools/train.py --resume work_dirs/demo_cpu       # continue an interrupted run
    msrun --worker_num=4 --local_worker_num=4 --master_addr=127.0.0.1 --master_port=8118 \\
        tools/train.py --config configs/paper_r100_attention.yaml     # data-parallel
"""
from ..cli import config_path, make_parser
from ..engine.trainer import config_for_run, format_summary, train


def main(argv=None) -> int:
    parser = make_parser(__doc__, default_config=config_path("demo_cpu.yaml"))
    parser.add_argument("--resume", metavar="WORK_DIR", help="continue the run in WORK_DIR from its last.ckpt")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (logs only)")
    args = parser.parse_args(argv)
    cfg = config_for_run(args.config, args.overrides, args.resume)
    summary = train(cfg, resume=bool(args.resume), progress=not args.no_progress)
    # the summary train() has just derived from last.ckpt and best.ckpt: every key below is in it
    if summary.get("best_epoch"):
        print(f"\nbest epoch {summary['best_epoch']} of {summary['epochs_done']} (chosen by {summary['best_by']}): "
              f"validation F1 per AU at threshold {summary['threshold']} (work dir {cfg['train']['work_dir']})")
        print(format_summary(summary))
        if "all_positive_mean_f1" in summary:
            print(f"all-positive baseline mean F1: {100 * summary['all_positive_mean_f1']:.2f}")
    elif summary:
        print(f"\nno epoch finished yet in {cfg['train']['work_dir']}: nothing to report")
    return 0
