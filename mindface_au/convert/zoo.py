"""Model-zoo file names: ``{model}_{spec}-{sha256[:8]}.ckpt`` (the mindcv convention).

``model`` is the registered network (``au_net_r100_attention``, ``iresnet100``), ``spec``
what it was trained on or converted from (``affwild2``, ``glint360k``, ``authors``); the
hash is of the file's bytes, so a download can be checked against its own name.
"""
from __future__ import annotations

import hashlib
import os
import re

_ZOO_RE = re.compile(r"^(?P<stem>[A-Za-z0-9][A-Za-z0-9_.]*)-(?P<hash>[0-9a-f]{8})\.ckpt$")


def sha256_file(path: str, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def zoo_filename(path: str, model_spec: str) -> str:
    """``'{model}_{spec}-{sha256[:8]}.ckpt'`` for the file at ``path`` (``model_spec`` = ``'{model}_{spec}'``)."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.]*_[A-Za-z0-9.]+", model_spec or ""):
        raise ValueError(f"zoo name {model_spec!r} must look like '<model>_<spec>' (letters, digits, '_', "
                         "'.'; e.g. au_net_r100_attention_affwild2)")
    return f"{model_spec}-{sha256_file(path)[:8]}.ckpt"


def rename_to_zoo(path: str, model_spec: str) -> str:
    """Rename ``path`` in place to its zoo name (same folder); returns the new path."""
    new = os.path.join(os.path.dirname(os.path.abspath(path)), zoo_filename(path, model_spec))
    if os.path.abspath(path) != new:
        os.replace(path, new)
    return new


def verify_zoo_file(path: str) -> bool:
    """True if ``path`` has a zoo name whose hash matches the file; ValueError if it has no zoo name."""
    m = _ZOO_RE.match(os.path.basename(path))
    if m is None:
        raise ValueError(f"{path}: not a zoo name ('<model>_<spec>-<8 hex>.ckpt')")
    return sha256_file(path).startswith(m.group("hash"))


__all__ = ["sha256_file", "zoo_filename", "rename_to_zoo", "verify_zoo_file"]
