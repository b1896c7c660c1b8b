"""Every inference backend and precision on the same weights and inputs: median ms per call, one JSON line each.

    python benchmarks/bench_backends.py --config configs/r50_attention.yaml --set device=CPU --set model.fusion.num_layers=2
    python benchmarks/bench_backends.py --config configs/r50_attention.yaml --set device=CPU \\
        --ref-dir /work/ref/AU_Detection --torch-python python --arch r50   # + the authors' PyTorch model

Rows: the MindSpore Cell (GRAPH_MODE), ONNX Runtime fp32 and int8 (static QDQ, per channel),
OpenVINO fp32, bf16 (the CPU's AMX/AVX512-BF16; fp32 where it has none, said in the row) and
int8 (NNCF), at batch 1 and 8, ``--threads`` threads. With ``--ref-dir`` (a checkout of
CZP-1/AU_Detection) and a Python with torch (``--torch-python``) the authors' model in fp32
eager and bf16 autocast is timed in a subprocess. Every row has ``ratio_to_authors_fp32`` (the
authors' fp32 time / this row's) when that was measured, and ``max_prob_diff`` to the Cell on
the same inputs. The first line names the CPU and its flags. Random weights (speed does not
depend on them; int8 calibration on random inputs); accuracy of bf16/int8 is measured by
``tools/export.py`` on a trained network.
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

from mindface_au.cli import load_args_config, make_parser, run_main, setup_from_config

TORCH_CODE = r"""
import json, sys, time, statistics
import numpy as np, torch
sys.path.insert(0, sys.argv[1])
import authors_ref as ar
torch.set_num_threads(int(sys.argv[4]))
model = ar.build_authors_model(sys.argv[3], encoder_layers=int(sys.argv[5]), heads=1, config="train", seed=0,
                               ref_dir=sys.argv[2]).eval()
x = np.load(sys.argv[6])
rows = []
for batch in (1, 8):
    xb = torch.from_numpy(x[:batch])
    modes = [("fp32", torch.autocast("cpu", enabled=False))]
    if sys.argv[9] == "1":
        modes.append(("bf16", torch.autocast("cpu", torch.bfloat16)))
    for name, ctx in modes:
        times = []
        with torch.no_grad(), ctx:
            for i in range(int(sys.argv[7]) + int(sys.argv[8])):
                t = time.perf_counter(); model(xb); dt = time.perf_counter() - t
                if i >= int(sys.argv[7]): times.append(dt)
        rows.append({"batch": batch, "precision": name, "ms": 1000 * statistics.median(times)})
print(json.dumps({"torch": torch.__version__, "rows": rows}))
"""


def timed(fn, x, warmup: int, steps: int) -> float:
    for _ in range(warmup):
        fn(x)
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def authors_times(args, x, tmp):
    """{(batch, precision): ms} of the authors' PyTorch model, or {} when torch / the checkout is absent.

    bf16 autocast is timed only on a CPU with bf16 (AMX / AVX512-BF16)."""
    from mindface_au.inference.backends import has_bf16

    if not args.ref_dir or not os.path.isdir(args.ref_dir):
        return {}
    np.save(os.path.join(tmp, "x.npy"), x)
    cmd = [args.torch_python, "-c", TORCH_CODE, os.path.dirname(os.path.abspath(args.authors_ref)), args.ref_dir,
           args.arch, str(args.threads), str(args.encoder_layers), os.path.join(tmp, "x.npy"), str(args.warmup),
           str(args.steps), "1" if has_bf16() else "0"]  # bf16 without hardware support is emulated: minutes
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(json.dumps({"bench": "backends", "backend": "authors_torch", "error": proc.stderr[-800:]}))
        return {}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return {(r["batch"], r["precision"]): (r["ms"], out["torch"]) for r in out["rows"]}


def main():
    parser = make_parser(__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=7)
    parser.add_argument("--ref-dir", default=os.environ.get("REF_DIR"), help="checkout of CZP-1/AU_Detection")
    parser.add_argument("--authors-ref", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
        __file__))), "..", "shared", "tools", "authors_ref.py"))
    parser.add_argument("--torch-python", default=sys.executable, help="a Python that has PyTorch")
    parser.add_argument("--arch", default="r50", help="the authors' IResNet depth matching --config")
    parser.add_argument("--encoder-layers", type=int, default=2)
    parser.add_argument("--only", help="comma-separated row names to run (e.g. openvino_int8,onnxruntime_fp32)")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    cfg = load_args_config(args)
    setup_from_config(cfg)
    import mindspore as ms

    from mindface_au.export import export_model
    from mindface_au.inference.backends import CellBackend, cpu_flags, open_backend
    from mindface_au.factory import build_model
    from mindface_au.models import WithSigmoid

    warnings.simplefilter("ignore")
    ms.set_context(mode=ms.GRAPH_MODE)
    flags = cpu_flags()
    s = cfg["model"]["input_size"]
    print(json.dumps({"bench": "backends", "cpu": platform.processor() or platform.machine(),
                      "cpu_model": _cpu_model(), "flags": [f for f, on in flags.items() if on],
                      "threads": args.threads, "load_avg_1min": os.getloadavg()[0]}), flush=True)
    net = build_model(cfg)
    net.set_train(False)
    cell = WithSigmoid(net)
    cell.set_train(False)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 3, s, s)).astype(np.float32)
    calibration = [rng.standard_normal((16, 3, s, s)).astype(np.float32) for _ in range(19)]  # 304 crops
    with tempfile.TemporaryDirectory() as tmp:
        authors = authors_times(args, x, tmp)
        onnx_fp32 = export_model(net, os.path.join(tmp, "fp32.onnx"), "ONNX", s)
        rows = {"mindspore_cell_fp32": lambda: CellBackend(cell),
                "onnxruntime_fp32": lambda: open_backend(onnx_fp32, threads=args.threads),
                "onnxruntime_int8": lambda: open_backend(export_model(
                    net, os.path.join(tmp, "int8.onnx"), "ONNX", s, "int8", calibration), threads=args.threads),
                "openvino_fp32": lambda: open_backend(onnx_fp32, "fp32", "openvino", args.threads),
                "openvino_bf16": lambda: open_backend(onnx_fp32, "bf16", "openvino", args.threads),
                "openvino_int8": lambda: open_backend(export_model(
                    net, os.path.join(tmp, "int8.xml"), "OPENVINO", s, "int8", calibration), threads=args.threads)}
        only = set(args.only.split(",")) if args.only else set(rows)
        reference = {b: cell(ms.Tensor(x[:b])).asnumpy() for b in (1, 8)}
        for name, make in rows.items():
            if name not in only:
                continue
            backend = make()
            for batch in (1, 8):
                ms_call = timed(backend, x[:batch], args.warmup, args.steps)
                row = {"bench": "backends", "backbone": cfg["model"]["backbone"], "backend": name,
                       "precision_run": backend.precision, "batch": batch, "input_size": s, "threads": args.threads,
                       "ms": round(ms_call, 2), "images_per_s": round(1000 * batch / ms_call, 1),
                       "max_prob_diff": float(np.abs(backend(x[:batch]) - reference[batch]).max())}
                if (batch, "fp32") in authors:
                    row["ratio_to_authors_fp32"] = round(authors[(batch, "fp32")][0] / ms_call, 2)
                print(json.dumps(row), flush=True)
        for (batch, precision), (ms_call, version) in sorted(authors.items()):
            print(json.dumps({"bench": "backends", "backbone": cfg["model"]["backbone"], "backend": "authors_torch_"
                              + ("fp32_eager" if precision == "fp32" else "bf16_autocast"), "torch": version,
                              "batch": batch, "threads": args.threads, "ms": round(ms_call, 2),
                              "ratio_to_authors_fp32": round(authors[(batch, "fp32")][0] / ms_call, 2)}), flush=True)
    return 0


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    run_main(main)
