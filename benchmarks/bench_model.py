"""Speed of the AU network: median ms/step and images/s for a train step or inference; one JSON line.

    python benchmarks/bench_model.py --config configs/demo_cpu.yaml --mode train --batch 32
    python benchmarks/bench_model.py --config configs/r50_attention.yaml --set device=CPU --mode infer --batch 8
"""
import json
import os
import platform
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from mindface_au.cli import load_args_config, make_parser, run_main, setup_from_config  # noqa: E402


def main():
    parser = make_parser(__doc__)
    parser.add_argument("--mode", choices=["train", "infer"], default="infer")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    cfg = load_args_config(args)
    setup_from_config(cfg)
    import mindspore as ms

    from mindface_au.engine.optim import build_optimizer
    from mindface_au.engine.trainer import amp_settings
    from mindface_au.losses import build_loss
    from mindface_au.factory import build_model
    from mindface_au.models import WithSigmoid
    from mindface_au.models.iresnet import count_params

    net = build_model(cfg)
    s = cfg["model"]["input_size"]
    rng = np.random.default_rng(0)
    x = ms.Tensor(rng.standard_normal((args.batch, 3, s, s)).astype(np.float32))
    y = ms.Tensor((rng.random((args.batch, cfg["model"]["num_aus"])) < 0.3).astype(np.float32))
    if args.mode == "train":
        level, scale = amp_settings(cfg)
        opt = build_optimizer(cfg, net, steps_per_epoch=1000)
        step = ms.amp.build_train_network(net, opt, build_loss(cfg), level=level,
                                          **({"loss_scale_manager": scale} if scale else {}))
        step.set_train(True)

        def run():
            out = step(x, y)
            return out[0] if isinstance(out, tuple) else out
    else:
        level = "O0"
        step = WithSigmoid(net)
        step.set_train(False)

        def run():
            return step(x)

    times = []
    for i in range(args.warmup + args.steps):
        t = time.perf_counter()
        run().asnumpy()
        if i >= args.warmup:
            times.append(time.perf_counter() - t)
    ms_step = 1000 * statistics.median(times)
    print(json.dumps({
        "bench": "model", "config": args.config, "backbone": cfg["model"]["backbone"], "mode": args.mode,
        "batch": args.batch, "input_size": s, "device": cfg["device"], "amp_level": level,
        "graph_mode": cfg["mode"], "params_m": round(count_params(net) / 1e6, 2),
        "ms_per_step": round(ms_step, 2), "images_per_s": round(args.batch * 1000 / ms_step, 1),
        "steps": args.steps, "cpu": platform.processor() or platform.machine(),
        "onednn_isa": os.environ.get("ONEDNN_MAX_CPU_ISA"),
    }))
    return 0


if __name__ == "__main__":
    run_main(main)
