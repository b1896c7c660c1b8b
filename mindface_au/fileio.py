"""Files: atomic writes (checkpoints, tables, CSVs, submissions, plots), the cache root, JSON-lines logs.

Every writer here puts the bytes in a hidden temporary file beside the target, fsyncs it and
``os.replace``s it over the target, so a reader (or a run killed mid-write) only ever sees the
old file or the new one, whole.
"""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from typing import List

CACHE_ENV = "MINDFACE_AU_CACHE"


def cache_dir(*parts: str) -> str:
    """The project's cache folder, ``$MINDFACE_AU_CACHE`` or ``~/.cache/mindface_au``, joined with ``parts``.

    Downloaded weights (``cache_dir("weights")``), the synthetic data sets and frame-index caches
    live below it; the folder is not created here.
    """
    root = os.environ.get(CACHE_ENV) or os.path.join("~", ".cache", "mindface_au")
    return os.path.abspath(os.path.join(os.path.expanduser(root), *parts))


def read_jsonl(path: str) -> List[dict]:
    """The records of a JSON-lines file in order ([] when it does not exist).

    A last line cut short by a kill (no newline, not valid JSON) is skipped; any other bad line
    raises ``ValueError`` naming the file and line.
    """
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as f:
        lines = [(n, line) for n, line in enumerate(f, 1) if line.strip()]
    records = []
    for i, (n, line) in enumerate(lines):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as e:
            if i == len(lines) - 1 and not line.endswith("\n"):
                break
            raise ValueError(f"{path}:{n}: not a JSON record ({e})") from e
    return records


@contextmanager
def atomic_path(path: str):
    """Yield a temporary path beside ``path``; on normal exit fsync it and replace ``path``.

    On an exception the temporary file is removed and ``path`` is left untouched.
    """
    path = os.path.abspath(path)
    folder, name = os.path.split(path)
    os.makedirs(folder, exist_ok=True)
    stem, ext = os.path.splitext(name)
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=f".partial{ext}", dir=folder)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # the permissions of a plain open(), not mkstemp's 0600
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_dir(folder)


def atomic_write_bytes(path: str, data: bytes) -> str:
    """Write ``data`` to ``path`` atomically; returns ``path``."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return path


def atomic_write_text(path: str, text: str) -> str:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically; returns ``path``."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_savefig(fig, path: str, **kwargs) -> str:
    """Save a matplotlib Figure to ``path`` atomically (format from the extension); returns ``path``."""
    fmt = os.path.splitext(path)[1].lstrip(".") or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, **kwargs)
    return path


def _fsync_dir(folder: str) -> None:
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:  # some platforms cannot open folders
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def remove_partial_files(folder: str, stems=None) -> list:
    """Remove the temporary files that killed atomic writes left in ``folder`` (not its sub-folders).

    They are named as :func:`atomic_path` names them, ``.<stem>.<random>.partial<ext>``; with
    ``stems`` (e.g. ``["last", "summary"]``) only those of these targets go. Returns the removed paths.
    Call it only where no other process is writing into ``folder``.
    """
    import re

    pattern = re.compile(r"^\.(?P<stem>.+)\.[A-Za-z0-9_]+\.partial(\.[^.]*)?$")
    removed = []
    if not os.path.isdir(folder):
        return removed
    for name in sorted(os.listdir(folder)):
        match = pattern.match(name)
        path = os.path.join(folder, name)
        if match and (stems is None or match.group("stem") in stems) and os.path.isfile(path):
            os.remove(path)
            removed.append(path)
    return removed
