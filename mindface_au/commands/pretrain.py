"""Pretrain an IResNet backbone for face recognition (ArcFace) on an identity folder.

    mindface-au pretrain --data faces/ --work-dir work_dirs/pretrain          # <faces>/<identity>/<image>.jpg
    mindface-au pretrain --work-dir work_dirs/pretrain                         # synthetic identities made on the spot
    mindface-au pretrain --resume work_dirs/pretrain                           # continue a stopped run
    mindface-au train --set model.backbone_init=work_dirs/pretrain/backbone.ckpt   # use it

A share of the identities (--holdout) is held out to score face verification after every epoch.
The backbone (bare IResNet parameters) goes to WORK_DIR/backbone.ckpt; the run is resumable and
kill-safe (WORK_DIR/last.ckpt is written last at every epoch end).
"""
import dataclasses

from ..cli import make_parser
from ..data.synthetic_identities import make_synthetic_identities
from ..engine.pretrain import PretrainSettings, pretrain
from ..fileio import cache_dir

DEFAULTS = PretrainSettings(data="", work_dir="work_dirs/pretrain")


def synthetic_root(identities: int, images: int, seed: int) -> str:
    """Where the default synthetic identity set of these sizes lives (below the cache root)."""
    return cache_dir(f"synthetic_identities_{identities}x{images}_seed{seed}")


def main(argv=None) -> int:
    p = make_parser(__doc__, config=False, device=False)
    p.add_argument("--data", help="identity folder <root>/<identity>/<image>.jpg (default: synthetic identities)")
    p.add_argument("--work-dir", default=DEFAULTS.work_dir)
    p.add_argument("--resume", metavar="WORK_DIR", help="continue the run in WORK_DIR (its settings.json)")
    p.add_argument("--synthetic-identities", type=int, default=200, help="without --data: identities to render")
    p.add_argument("--synthetic-images", type=int, default=20, help="without --data: images per identity")
    for field in dataclasses.fields(PretrainSettings):
        if field.name not in ("data", "work_dir"):
            p.add_argument("--" + field.name.replace("_", "-"), type=type(field.default), default=field.default)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(PretrainSettings)}
    values["work_dir"] = args.resume or args.work_dir
    if not args.data and not args.resume:
        values["data"] = synthetic_root(args.synthetic_identities, args.synthetic_images, args.seed)
        make_synthetic_identities(values["data"], args.synthetic_identities, args.synthetic_images, args.seed,
                                  progress=not args.no_progress)
    record = pretrain(PretrainSettings(**values), resume=bool(args.resume), progress=not args.no_progress)
    if record:
        print(f"backbone: {values['work_dir']}/backbone.ckpt (epoch {record['epoch']}, verification accuracy "
              f"{100 * record['accuracy']:.1f} +- {100 * record['accuracy_std']:.1f}% on "
              f"{record['held_out_identities']} held-out identities)")
    return 0
