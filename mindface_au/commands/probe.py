"""Linear probe of backbone inits: how much AU information the frozen features hold (held-out ROC AUC).

    mindface-au probe --config configs/ablation/1_baseline.yaml --set data.root=DATA \\
        --init random --init work_dirs/ablation/pretrain/backbone.ckpt --out work_dirs/probe
    mindface-au probe --init work_dirs/demo_cpu/best.ckpt          # the backbone part of an AU network

Each --init (a file model.backbone_init loads, or 'random') starts the config's backbone, which runs
frozen over the training and validation splits; per AU a logistic regression on the training frames'
features is scored by ROC AUC on the validation frames, for the pooled feature map and for the
embedding (mindface_au.engine.probe). Writes OUT/probe.json, OUT/probe.md and OUT/probe.png.
"""
import json
import os

from ..cli import load_args_config, make_parser, setup_from_config


def main(argv=None) -> int:
    p = make_parser(__doc__, default_config="configs/demo_cpu.yaml")
    p.add_argument("--init", action="append", required=True,
                   help="backbone init: a checkpoint (converted, pretrained, or a whole AU network) or 'random' "
                        "(repeatable)")
    p.add_argument("--out", default="work_dirs/probe", help="folder for probe.json, probe.md, probe.png")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    cfg = load_args_config(args)
    setup_from_config(cfg)

    from ..config import config_au_names
    from ..data import ensure_synthetic
    from ..engine.probe import linear_probe, probe_table
    from ..fileio import atomic_write_text
    from ..plots import plot_probe

    ensure_synthetic(cfg, progress=not args.no_progress)
    rows = linear_probe(cfg, args.init, progress=not args.no_progress)  # 'random': the config's seed
    os.makedirs(args.out, exist_ok=True)
    table = probe_table(rows)
    atomic_write_text(os.path.join(args.out, "probe.json"), json.dumps(rows, indent=1) + "\n")
    atomic_write_text(os.path.join(args.out, "probe.md"), table + "\n")
    plot = plot_probe(rows, config_au_names(cfg), os.path.join(args.out, "probe.png"))
    print(table)
    print(f"written: {args.out}/probe.json, probe.md, {os.path.basename(plot)}")
    return 0
