"""Synthetic BP4D and DISFA releases: rendered faces (:mod:`.face_renderer`) written in each release's layout.

* :func:`make_synthetic_bp4d`: ``<subject>/<task>/<frame>.jpg`` (half the subjects with 4-digit
  zero-padded names, half without), ``AUCoding/AU_OCC/<subject>_<task>.csv`` (header ``0,1,2,...``,
  extra AU columns as in the release, a run of all-9 rows and a few single 9s) and the FERA 2015
  intensity files ``AUCoding/AU_INT/AU06/<subject>_<task>_AU06.csv``; frames start past 1 and a
  few images are absent.
* :func:`make_synthetic_disfa`: ``Videos_LeftCamera/LeftVideo<SN>_comp.avi`` (the face on a larger
  canvas, for the detector) and ``ActionUnit_Labels/<SN>/<SN>_au<k>.txt`` (0-5) for the 12 coded
  AUs; SN010 is one frame short, as in the release. ``crops=True`` also writes the aligned crops
  that ``prepare-disfa`` would (``cropped_aligned/LeftVideo<SN>_comp/<t:05d>.jpg``, a few frames
  without a face), so the readers can be tested without the detector.

Intensities are 0-5 (``round(5 x)`` of the 0-1 episode profiles of :mod:`.synthetic`, so 1s occur
at onsets and offsets), occurrence (BP4D) = intensity >= 1. Each writer saves ``synthetic_info.json``
with the counts a reader must find. Deterministic from the seed.
"""
from __future__ import annotations

import json
import os
from typing import Dict, Sequence

import cv2
import numpy as np

from ..constants import AU_SETS
from ..fileio import atomic_write_text
from .abaw import FRAME_FORMAT, IMAGE_SUBDIR
from .bp4d import INT_SUBDIR, INTENSITY_AUS, OCC_SUBDIR, au_number, intensity_path
from .disfa import LABEL_SUBDIR, VIDEO_SUBDIR, crop_dir_names, label_path, video_file
from .face_renderer import render_face, sample_identity, sample_poses, sample_scene
from .synthetic import INFO_FILE, _add_episode, _episodes

BP4D_SUBJECTS = ("F001", "M011", "F007", "M007", "F003", "F015")  # two of each protocol part
DISFA_SUBJECTS = ("SN001", "SN013", "SN003", "SN010", "SN018", "SN029")
SHORT_SUBJECT = "SN010"  # 4,844 frames in the release, one fewer than the others
BP4D_CSV_AUS = (1, 2, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 22, 23, 24, 27, 28)
#   name: (rate, mean length, {AU: probability of joining}); AUs outside the rendered set are skipped
EPISODES = {
    "smile": (0.25, 30, {"AU12": 1.0, "AU6": 0.85, "AU25": 0.35, "AU14": 0.3}),
    "surprise": (0.12, 25, {"AU1": 1.0, "AU2": 0.8, "AU5": 0.7, "AU26": 0.5, "AU25": 0.5}),
    "frown": (0.14, 30, {"AU4": 1.0, "AU7": 0.75, "AU17": 0.3, "AU23": 0.2, "AU24": 0.2}),
    "disgust": (0.10, 25, {"AU9": 1.0, "AU10": 0.7, "AU17": 0.4}),
    "fear": (0.08, 25, {"AU20": 1.0, "AU1": 0.5, "AU4": 0.4, "AU5": 0.4}),
    "talk": (0.30, 20, {"AU25": 1.0, "AU26": 0.3}),
    "sad": (0.06, 30, {"AU15": 1.0, "AU17": 0.6, "AU1": 0.5}),
}


def sample_intensities(rng: np.random.Generator, n: int, aus: Sequence[str]) -> np.ndarray:
    """(n, A) int8 FACS intensities 0-5 of one sequence for the AUs ``aus``."""
    col = {a: j for j, a in enumerate(aus)}
    x = np.zeros((n, len(aus)))
    for rate, mean_len, members in EPISODES.values():
        for start, end in _episodes(rng, n, rate, mean_len):
            for au, p in members.items():
                if au in col and rng.random() < p:
                    _add_episode(x, start, end, rng, col[au])
    for au in aus:  # every AU also alone now and then
        for start, end in _episodes(rng, n, 0.06, 20):
            _add_episode(x, start, end, rng, col[au])
    return np.round(5 * x).astype(np.int8)


def _render(rng: np.random.Generator, seed_key, n: int, aus: Sequence[str], intensity: np.ndarray) -> list:
    """n RGB frames (112, 112, 3) of one person whose AUs ``aus`` have ``intensity`` (n, A) 0-5."""
    ident, scene = sample_identity(rng), sample_scene(np.random.default_rng([*seed_key, 2]))
    poses = sample_poses(rng, n)
    noise = np.random.default_rng([*seed_key, 3])
    return [render_face(ident, scene, intensity[k] / 5.0, poses[k], noise, au_names=aus) for k in range(n)]


def _write_jpeg(path: str, rgb: np.ndarray) -> None:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    if not ok:
        raise RuntimeError(f"JPEG encoding failed: {path}")
    buf.tofile(path)


def _prepare_out(out: str) -> str:
    out = os.path.abspath(os.path.expanduser(out))
    if os.path.exists(out) and (not os.path.isdir(out) or os.listdir(out)):
        raise FileExistsError(f"{out} exists and is not an empty folder")
    os.makedirs(out, exist_ok=True)
    return out


def _counts(labels: np.ndarray, aus: Sequence[str]) -> Dict[str, list]:
    """{AU: [positive, negative, not coded]} of (R, A) labels (-1 = not coded)."""
    return {a: [int((labels[:, j] == 1).sum()), int((labels[:, j] == 0).sum()), int((labels[:, j] < 0).sum())]
            for j, a in enumerate(aus)}


# ----------------------------------------------------------------------------------------- BP4D


def _bp4d_sequence(out: str, subject: str, task: str, s: int, t: int, frames: int, seed: int) -> dict:
    """Write one BP4D sequence; returns what a reader must find (kept frames, per-AU counts, drops)."""
    aus = AU_SETS["bp4d"]
    rng = np.random.default_rng([seed, s, t, 11])
    inten = sample_intensities(rng, frames, aus)
    first = int(rng.integers(2, 400))
    numbers = np.arange(first, first + frames)
    occ = (inten >= 1).astype(np.int64)
    uncoded_rows = slice(3, 3 + int(rng.integers(2, 5)))  # every AU 9: the row is dropped
    occ[uncoded_rows] = 9
    single = int(rng.integers(8, frames - 1))
    occ[single, aus.index("AU14")] = 9  # one AU not coded: masked
    has_image = np.ones(frames, bool)
    has_image[int(rng.integers(10, frames))] = False
    fmt = "{:04d}.jpg" if s % 2 else "{:d}.jpg"
    folder = os.path.join(out, subject, task)
    os.makedirs(folder, exist_ok=True)
    for k, rgb in enumerate(_render(rng, (seed, s, t), frames, aus, inten)):
        if has_image[k]:
            _write_jpeg(os.path.join(folder, fmt.format(int(numbers[k]))), rgb)
    table = np.zeros((frames, len(BP4D_CSV_AUS)), np.int64)
    for j, a in enumerate(aus):
        table[:, BP4D_CSV_AUS.index(au_number(a))] = occ[:, j]
    table[uncoded_rows] = 9
    lines = ["0," + ",".join(map(str, BP4D_CSV_AUS))]
    lines += [f"{f}," + ",".join(map(str, row)) for f, row in zip(numbers.tolist(), table.tolist())]
    atomic_write_text(os.path.join(out, OCC_SUBDIR, f"{subject}_{task}.csv"), "\n".join(lines) + "\n")
    for au in INTENSITY_AUS:
        j = aus.index(au)
        values = np.where(occ[:, j] == 9, 9, inten[:, j])
        atomic_write_text(intensity_path(out, au, f"{subject}_{task}"),
                          "".join(f"{f},{v}\n" for f, v in zip(numbers.tolist(), values.tolist())))
    coded = ~(occ == 9).all(1)
    keep = coded & has_image
    labels = np.where(occ == 9, -1, occ)[keep]
    return {"subject": subject, "rows": frames, "unannotated": int((~coded).sum()),
            "missing": int((coded & ~has_image).sum()), "kept": int(keep.sum()), "aus": _counts(labels, aus),
            "name_format": fmt}


def make_synthetic_bp4d(out: str, subjects: Sequence[str] = BP4D_SUBJECTS, tasks: Sequence[str] = ("T1", "T2"),
                        frames: int = 30, seed: int = 0) -> dict:
    """Write a synthetic BP4D release under ``out`` (absent or empty); returns (and saves) its info."""
    out = _prepare_out(out)
    if frames < 12:
        raise ValueError(f"need at least 12 frames a sequence, got {frames}")
    per_video = {f"{subj}_{task}": _bp4d_sequence(out, subj, task, s, t, frames, seed)
                 for s, subj in enumerate(subjects) for t, task in enumerate(tasks)}
    info = {"generator": "mindface_au.data.synthetic_releases", "layout": "bp4d", "seed": seed, "frames": frames,
            "subjects": list(subjects), "tasks": list(tasks), "au_names": list(AU_SETS["bp4d"]),
            "per_video": per_video}
    atomic_write_text(os.path.join(out, INFO_FILE), json.dumps(info, indent=1))
    return info


# ---------------------------------------------------------------------------------------- DISFA


def _write_video(path: str, frames: list, canvas: int = 256) -> None:
    """The faces (112x112 RGB) scaled x1.5 on a ``canvas``-square background, as an MJPG AVI."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 20.0, (canvas, canvas))
    if not writer.isOpened():
        raise OSError(f"{path}: cannot open a video writer (MJPG)")
    try:
        for rgb in frames:
            face = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), (168, 168), interpolation=cv2.INTER_LINEAR)
            img = cv2.resize(face[:8, :8], (canvas, canvas), interpolation=cv2.INTER_AREA)
            o = (canvas - 168) // 2
            img[o:o + 168, o:o + 168] = face
            writer.write(img)
    finally:
        writer.release()


def _disfa_subject(out: str, subject: str, s: int, frames: int, seed: int, crops: bool, threshold: int) -> dict:
    aus = AU_SETS["disfa12"]
    n = frames - 1 if subject == SHORT_SUBJECT else frames
    rng = np.random.default_rng([seed, s, 21])
    inten = sample_intensities(rng, n, aus)
    rendered = _render(rng, (seed, s, 22), n, aus, inten)
    _write_video(video_file(out, subject), rendered)
    for j, au in enumerate(aus):
        atomic_write_text(label_path(out, subject, au), "".join(f"{t + 1},{v}\n" for t, v in enumerate(inten[:, j])))
    has_crop = np.ones(n, bool)
    if crops:
        has_crop[int(rng.integers(5, n))] = False  # a frame where no face was found
        folder = os.path.join(out, IMAGE_SUBDIR, crop_dir_names(subject)[0])
        os.makedirs(folder, exist_ok=True)
        for t, rgb in enumerate(rendered):
            if has_crop[t]:
                _write_jpeg(os.path.join(folder, FRAME_FORMAT.format(t + 1)), rgb)
    kept = inten[has_crop]
    return {"rows": n, "missing": int((~has_crop).sum()) if crops else None, "kept": int(has_crop.sum()),
            "aus": _counts((kept >= threshold).astype(np.int8), aus),
            "intensity_sum": {a: int(kept[:, j].sum()) for j, a in enumerate(aus)}}


def make_synthetic_disfa(out: str, subjects: Sequence[str] = DISFA_SUBJECTS, frames: int = 40, seed: int = 0,
                         crops: bool = False, threshold: int = 2) -> dict:
    """Write a synthetic DISFA release under ``out`` (absent or empty); returns (and saves) its info.

    ``per_video[SN]['aus']`` counts occurrence at ``threshold`` over the frames with a crop.
    """
    out = _prepare_out(out)
    if frames < 12:
        raise ValueError(f"need at least 12 frames a subject, got {frames}")
    per_video = {subj: _disfa_subject(out, subj, s, frames, seed, crops, threshold) for s, subj in enumerate(subjects)}
    info = {"generator": "mindface_au.data.synthetic_releases", "layout": "disfa", "seed": seed, "frames": frames,
            "subjects": list(subjects), "au_names": list(AU_SETS["disfa12"]), "threshold": threshold,
            "crops": crops, "videos": VIDEO_SUBDIR, "labels": LABEL_SUBDIR, "per_video": per_video}
    atomic_write_text(os.path.join(out, INFO_FILE), json.dumps(info, indent=1))
    return info


# ------------------------------------------------------------------------------------- on demand

SYNTHETIC_RELEASE_DIRS = {"bp4d": "synthetic_bp4d", "disfa": "synthetic_disfa"}  # below the cache root


def _wanted_info(cfg: dict) -> dict:
    """The ``synthetic_info.json`` entries that tell whether a release was made for ``cfg``."""
    return {"generator": "mindface_au.data.synthetic_releases", "layout": cfg["data"]["format"],
            "seed": cfg["seed"], "frames": cfg["data"]["synthetic_frames"]}


def synthetic_release_ready(cfg: dict, root: str) -> bool:
    """Whether ``root`` holds the whole release :func:`ensure_synthetic_release` makes for ``cfg``
    (its info file, written last, names the same parameters): what other ranks wait for."""
    try:
        with open(os.path.join(root, INFO_FILE), encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, ValueError):
        return False
    want = _wanted_info(cfg)
    return {k: info.get(k) for k in want} == want


def ensure_synthetic_release(cfg: dict, root: str, progress: bool = True) -> str:
    """``data.format: bp4d | disfa`` with ``data.synthetic``: write that release at ``root`` unless it exists.

    Six subjects (two of each protocol part), ``data.synthetic_frames`` frames a sequence / subject,
    seed ``cfg['seed']``; DISFA with its crops (as ``prepare-disfa`` would leave them). A folder
    this generator made with other parameters is replaced; any other existing folder is left as it is.
    """
    import shutil

    fmt = cfg["data"]["format"]
    want = _wanted_info(cfg)
    info_path = os.path.join(root, INFO_FILE)
    if os.path.isdir(root) and os.listdir(root):
        if not os.path.isfile(info_path):
            return root  # someone's real (or hand-made) data: never touched
        with open(info_path, encoding="utf-8") as f:
            info = json.load(f)
        if info.get("generator") != want["generator"] or {k: info.get(k) for k in want} == want:
            return root
        shutil.rmtree(root)
    if progress:
        print(f"creating a synthetic {fmt} release ({want['frames']} frames a sequence) in {root}")
    if fmt == "bp4d":
        make_synthetic_bp4d(root, frames=want["frames"], seed=want["seed"])
    else:
        make_synthetic_disfa(root, frames=want["frames"], seed=want["seed"], crops=True)
    return root
