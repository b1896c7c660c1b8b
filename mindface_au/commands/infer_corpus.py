"""``infer --ray``: the inputs of a corpus as Ray tasks, a summary table and the failures at the end."""
import os
import sys

from ..inference.corpus import import_ray, run_on_ray
from ..inference.tasks import infer_task


def _summary(rows) -> str:
    """A plain-text table: input, frames, faces, status."""
    width = max([len("input")] + [len(r[0]) for r in rows])
    lines = [f"{'input':<{width}}  {'frames':>7}  {'faces':>7}  status"]
    lines += [f"{name:<{width}}  {frames:>7}  {faces:>7}  {status}" for name, frames, faces, status in rows]
    return "\n".join(lines)


def run_corpus_on_ray(args, specs, stems: dict, detector_kwargs: dict, options_kwargs: dict) -> int:
    """One Ray task per input (outputs under ``args.out``); prints a summary table and every failure
    with its error; returns 0, or 1 when an input failed, 2 when Ray is missing."""
    try:
        import_ray()
    except ImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    absolute = {k: os.path.abspath(v) if isinstance(v, str) and os.path.exists(v) else v
                for k, v in detector_kwargs.items()}  # workers need not share the driver's folder
    options_kwargs = dict(options_kwargs, out_dir=os.path.abspath(args.out), progress=False)
    detector_kwargs = dict(absolute, progress=False)
    jobs = [(spec, (os.path.abspath(spec) if os.path.exists(spec) else spec, stems[spec], detector_kwargs,
                    options_kwargs)) for spec in specs]
    rows, failures = [], []
    for spec, result in run_on_ray(infer_task, jobs, args.ray, num_cpus=args.ray_workers,
                                   progress=not args.no_progress, frames_of=lambda r: r.get("frames") or 0):
        if result.get("error"):
            failures.append(result["error"])
            rows.append((stems[spec], "-", "-", "failed"))
            continue
        for w in result.get("warnings", []):
            print(f"warning: {w}", file=sys.stderr)
        status = f"resumed at frame {result['resumed_from']}" if result.get("resumed_from") else "done"
        rows.append((stems[spec], result["frames"], result["faces"], status))
    if rows:
        print(_summary(sorted(rows)))
    for error in failures:
        print(f"failed: {error}", file=sys.stderr)
    if failures:
        print(f"{len(failures)} of {len(specs)} inputs failed", file=sys.stderr)
        return 1
    return 0
