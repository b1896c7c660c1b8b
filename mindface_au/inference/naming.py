"""Output names of inference inputs: one file stem per input, unique over a run's inputs."""
from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence


def output_stem(spec) -> str:
    """``clip.mp4`` -> ``clip``; a folder -> its name; ``webcam:0`` -> ``webcam0``."""
    text = str(getattr(spec, "name", spec)).rstrip("/\\")
    if text.startswith("webcam:"):
        return "webcam" + text.split(":", 1)[1]
    base = os.path.basename(text)
    return base if os.path.isdir(text) else os.path.splitext(base)[0]


def _by_parent_folders(stem: str, members: List[str]) -> Optional[Dict[str, str]]:
    """``stem`` prefixed with as few parent folders as make the names of ``members`` unique, or None."""
    parts = {m: os.path.abspath(m).replace("\\", "/").rstrip("/").split("/")[:-1] for m in members}
    for depth in range(1, max(len(p) for p in parts.values()) + 1):
        candidate = {m: "_".join([x for x in parts[m][-depth:] if x] + [stem]) for m in members}
        if len(set(candidate.values())) == len(members):
            return candidate
    return None


def _by_extension(stem: str, members: List[str]) -> Optional[Dict[str, str]]:
    """``stem`` suffixed with each member's extension (``clip_mp4``) when that makes them unique, or None."""
    ext = {m: os.path.splitext(m)[1].lstrip(".") for m in members}
    candidate = {m: stem + (f"_{ext[m]}" if ext[m] else "") for m in members}
    return candidate if len(set(candidate.values())) == len(members) else None


def _numbered(stem: str, members: List[str]) -> Dict[str, str]:
    return {m: stem if k == 0 else f"{stem}-{k + 1}" for k, m in enumerate(members)}


def output_stems(specs: Sequence) -> Dict[str, str]:
    """One output name per input, unique over ``specs``: the base name (:func:`output_stem`) where it is
    unique, else prefixed with as many parent folders as it takes (``a/clip.mp4``, ``b/clip.mp4`` ->
    ``a_clip``, ``b_clip``), then with the extension (``clip_mp4``), then numbered (``clip-2``)."""
    stems = {str(s): output_stem(s) for s in specs}
    groups: Dict[str, List[str]] = {}
    for spec, stem in stems.items():
        groups.setdefault(stem, []).append(spec)
    taken = {stem for stem, members in groups.items() if len(members) == 1}
    for stem, members in groups.items():
        if len(members) == 1:
            continue
        names = _by_parent_folders(stem, members) or _by_extension(stem, members) or _numbered(stem, members)
        for m, name in names.items():
            base, k = name, 1
            while name in taken:
                k += 1
                name = f"{base}-{k}"
            taken.add(name)
            stems[m] = name
    return stems
