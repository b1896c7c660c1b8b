"""Corpora of many videos: list files, deterministic shards for batch schedulers, and a Ray run.

* :func:`read_list_file`: a ``.txt`` / ``.lst`` file of inputs, one per line (``#`` comments; paths
  relative to the list's folder);
* :func:`parse_shard` / :func:`select_shard`: ``--shard i/n`` keeps inputs ``i, i+n, i+2n, ...`` of
  the expanded input list (the same list in every job of a Slurm array), so shards ``0/n ... n-1/n``
  cover every input exactly once;
* :func:`run_on_ray`: one Ray task per input (:func:`~.tasks.infer_task`, :func:`~.prepare.prepare_task`)
  (``--ray auto`` starts a local Ray, ``--ray ADDRESS``
  joins a cluster), results as they finish, one progress bar over the corpus (inputs, with the
  frames done), a task's exception kept as its error so the other inputs go on.

Ray is optional (``pip install -e .[cluster]``); without it :func:`import_ray` names the install command.
"""
from __future__ import annotations

import os
import re
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from ..optional import require

LIST_EXTENSIONS = frozenset({".txt", ".lst"})


def is_list_file(path) -> bool:
    return os.path.splitext(str(path))[1].lower() in LIST_EXTENSIONS and os.path.isfile(str(path))


def read_list_file(path: str) -> List[str]:
    """The inputs listed in ``path``: one per line, blank lines and ``#`` comments skipped, relative paths
    taken from the list's folder."""
    folder = os.path.dirname(os.path.abspath(path))
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                out.append(line if os.path.isabs(line) or line.startswith("webcam:") else os.path.join(folder, line))
    return out


def parse_shard(text: Optional[str]) -> Optional[Tuple[int, int]]:
    """``'i/n'`` -> ``(i, n)`` with 0 <= i < n; None -> None; ValueError otherwise."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not match or not 0 <= int(match[1]) < int(match[2]):
        raise ValueError(f"--shard takes i/n with 0 <= i < n (e.g. 0/4; Slurm: $SLURM_ARRAY_TASK_ID/N), got {text!r}")
    return int(match[1]), int(match[2])


def select_shard(items: Sequence, shard: Optional[Tuple[int, int]]) -> list:
    """Items ``i, i+n, i+2n ...`` of ``items`` for shard ``(i, n)`` (all of them for None)."""
    if shard is None:
        return list(items)
    i, n = shard
    return list(items)[i::n]


def import_ray():
    """The ``ray`` module, or ImportError naming the install command (:func:`mindface_au.optional.require`)."""
    return require("ray", "--ray")


def init_ray(address: str, num_cpus: Optional[int] = None):
    """Start a local Ray (``address='auto'``: this machine, ``num_cpus`` workers, default all cores) or
    join the cluster at ``address``; returns the module. The driver's ``PYTHONPATH`` goes to the workers."""
    ray = import_ray()
    env = {"env_vars": {"PYTHONPATH": os.environ.get("PYTHONPATH", "")}} if os.environ.get("PYTHONPATH") else None
    if not ray.is_initialized():
        if address == "auto":
            ray.init(num_cpus=num_cpus or os.cpu_count(), include_dashboard=False, log_to_driver=False,
                     runtime_env=env, object_store_memory=100 * 1024 ** 2)
        else:
            ray.init(address=address, runtime_env=env, log_to_driver=False)
    return ray


def run_on_ray(task: Callable, jobs: Sequence[Tuple[str, tuple]], address: str, num_cpus: Optional[int] = None,
               progress: bool = True, frames_of: Callable[[dict], int] = lambda r: 0) -> Iterator[Tuple[str, dict]]:
    """Run ``task(*args)`` for every ``(key, args)`` of ``jobs`` as one Ray task each; yield ``(key, result)``
    in the order they finish. ``task`` returns a dict; a task that raises (or whose worker dies) yields
    ``{'error': message}``. The bar counts inputs and shows the frames done (``frames_of(result)``)."""
    ray = init_ray(address, num_cpus)  # here, not on the first next(): ImportError at the call
    return _results(ray, task, jobs, progress, frames_of)


def _results(ray, task, jobs, progress: bool, frames_of) -> Iterator[Tuple[str, dict]]:
    from tqdm import tqdm

    remote = ray.remote(num_cpus=1, max_retries=0)(task)
    pending: Dict = {remote.remote(*args): key for key, args in jobs}
    frames = 0
    with tqdm(total=len(jobs), desc="corpus", unit="input", disable=not progress) as bar:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            key = pending.pop(done[0])
            try:
                result = ray.get(done[0])
            except Exception as exc:  # noqa: BLE001 - a task's failure is that input's error
                result = {"error": f"{key}: {type(exc).__name__}: {str(exc).strip().splitlines()[-1]}"}
            frames += frames_of(result)
            bar.set_postfix(frames=frames)
            bar.update(1)
            yield key, result

