"""Convert PyTorch weights (insightface IResNet, the authors' AU checkpoints) to MindSpore checkpoints.

    # a Glint360K / MS1MV3 IResNet100 from insightface's arcface_torch model zoo:
    mindface-au convert --src glint360k_r100/backbone.pth --kind insightface --arch r100 \\
        --out weights/iresnet100_glint360k.ckpt --zoo-name iresnet100_glint360k
    # an mmcls checkpoint of the authors' AU model (their test config: 2 encoder layers):
    mindface-au convert --src epoch_15.pth --kind authors --arch r100 --out au_r100.ckpt
    # ... trained with their training config (4 encoder layers):
    mindface-au convert --src epoch_15.pth --kind authors \\
        --config configs/paper_r100_attention_train4.yaml --out au_r100_l4.ckpt
    # back to PyTorch (a .pth that torch.load(weights_only=True) reads; no PyTorch needed):
    mindface-au convert --to-torch --src au_r100.ckpt --kind authors --out au_r100.pth
    # rename an existing checkpoint to the model-zoo scheme {model}_{spec}-{sha256[:8]}.ckpt:
    mindface-au convert --zoo-rename best.ckpt --zoo-name au_net_r100_attention_affwild2

The .pth is read without running pickled code. Every key must be placed and every shape must
fit, else the tool lists the offending keys and exits with status 2 (``num_batches_tracked``
is ignored by name). A table of mapped / ignored / unused / missing keys is printed.
"""
import sys

from ..cli import make_parser
from ..convert import KINDS, ConversionError, PthError, export_torch, rename_to_zoo, save_converted


def build_parser():
    parser = make_parser(__doc__, device=False)  # --config / --set: the architecture to convert into
    parser.add_argument("--src", help="input: a .pth (or, with --to-torch, a MindSpore .ckpt)")
    parser.add_argument("--kind", choices=KINDS, help="insightface: arcface_torch IResNet state_dict; "
                        "authors: mmcls checkpoint of the authors' AU model")
    parser.add_argument("--arch", help="backbone depth: r18, r34, r50, r100, r200 (or a registered backbone name); "
                        "without it, the config's model.backbone")
    parser.add_argument("--out", help="output file (.ckpt, or .pth with --to-torch)")
    parser.add_argument("--backend", default="auto", choices=("auto", "torch", "builtin"),
                        help=".pth reader: torch.load(weights_only=True) if installed, else the built-in one")
    parser.add_argument("--verbose", action="store_true", help="print every key's mapping")
    parser.add_argument("--to-torch", action="store_true", help="reverse: MindSpore .ckpt -> torch .pth")
    parser.add_argument("--legacy-pth", action="store_true", help="with --to-torch: the pre-1.6 torch format")
    parser.add_argument("--zoo-name", metavar="MODEL_SPEC",
                        help="rename the output to MODEL_SPEC-<sha256[:8]>.ckpt (e.g. iresnet100_glint360k)")
    parser.add_argument("--zoo-rename", metavar="CKPT", help="only rename CKPT to the zoo scheme (needs --zoo-name)")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.zoo_rename:
        if not args.zoo_name:
            raise ValueError("--zoo-rename needs --zoo-name MODEL_SPEC")
        print(rename_to_zoo(args.zoo_rename, args.zoo_name))
        return 0
    for opt in ("src", "kind", "out"):
        if not getattr(args, opt):
            raise ValueError(f"--{opt} is required (see --help)")
    if args.to_torch:
        from ..checkpoint import load_checkpoint

        params, _meta = load_checkpoint(args.src)
        arrays = {n: p.asnumpy() for n, p in params.items()}
        out = export_torch(arrays, args.kind, args.out, legacy=args.legacy_pth)
        print(f"wrote {out}: {len(arrays)} MindSpore parameters as a torch state_dict ({args.kind} keys)")
        return 0
    if args.arch is None and args.config is None:
        raise ValueError("give --arch (r18/r34/r50/r100/r200) or --config")
    from ..factory import convert_file  # builds the network (imports MindSpore)

    try:
        params, report, meta = convert_file(args.src, args.kind, arch=args.arch, config=args.config,
                                            overrides=args.overrides, backend=args.backend)
    except ConversionError as exc:
        print(exc.report.format(verbose=args.verbose, limit=None if args.verbose else 40), file=sys.stderr)
        return 2
    except PthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.format(verbose=args.verbose))
    out = save_converted(params, args.out, meta)
    if args.zoo_name:
        out = rename_to_zoo(out, args.zoo_name)
    print(f"wrote {out}: {len(params)} parameters ({meta['kind']}, {meta['backbone']})")
    return 0

