"""Pretrain an IResNet backbone for face recognition (ArcFace) on an identity folder.

    mindface-au pretrain --data faces/ --work-dir work_dirs/pretrain          # <faces>/<identity>/<image>.jpg
    mindface-au pretrain --work-dir work_dirs/pretrain                         # synthetic identities made on the spot
    mindface-au pretrain --config configs/pretrain/ablation.yaml               # settings from a YAML file
    mindface-au pretrain --resume work_dirs/pretrain                           # continue a stopped run
    mindface-au train --set model.backbone_init=work_dirs/pretrain/backbone.ckpt   # use it

A share of the identities (--holdout) is held out to score face verification after every epoch.
The backbone (bare IResNet parameters) goes to WORK_DIR/backbone.ckpt; the run is resumable and
kill-safe (WORK_DIR/last.ckpt is written last at every epoch end). Options given on the command
line override the --config file's values.
"""
import dataclasses

from ..cli import make_parser
from ..config import DEVICES
from ..engine.pretrain import PretrainSettings, load_pretrain_settings, pretrain
from ..transforms import NORMS

CHOICES = {"device": DEVICES, "norm": tuple(NORMS)}


def main(argv=None) -> int:
    p = make_parser(__doc__, config=False, device=False)
    p.add_argument("--config", help="YAML file of pretraining settings (the option names, with _)")
    p.add_argument("--resume", metavar="WORK_DIR", help="continue the run in WORK_DIR (its settings.json)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    defaults = PretrainSettings()
    for field in dataclasses.fields(PretrainSettings):
        p.add_argument("--" + field.name.replace("_", "-"), type=type(field.default), default=None,
                       choices=CHOICES.get(field.name),
                       # "%(default).0s" prints nothing and keeps argparse from adding "(default: None)"
                       help=f"default: the --config file's, else {getattr(defaults, field.name)!r}%(default).0s")
    args = p.parse_args(argv)
    changes = {f.name: getattr(args, f.name) for f in dataclasses.fields(PretrainSettings)
               if getattr(args, f.name) is not None}
    if args.resume:
        changes["work_dir"] = args.resume
    settings = load_pretrain_settings(args.config, **changes) if args.config else PretrainSettings(**changes)
    record = pretrain(settings, resume=bool(args.resume), progress=not args.no_progress)
    if record:
        print(f"backbone: {settings.work_dir}/backbone.ckpt (epoch {record['epoch']}, verification accuracy "
              f"{100 * record['accuracy']:.1f} +- {100 * record['accuracy_std']:.1f}% on "
              f"{record['held_out_identities']} held-out identities)")
    return 0
