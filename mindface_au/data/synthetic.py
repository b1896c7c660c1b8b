"""Synthetic Aff-Wild2: rendered faces (:mod:`.face_renderer`) written in the exact ABAW layout.

Labels follow real data: co-occurrence through expression episodes (smile: AU12 + AU6; brow
raise: AU1 + AU2; frown: AU4 + AU7; talking: AU25, sometimes AU26; sadness: AU15), AU2, AU15,
AU23, AU24, AU26 rare (~5-10% of frames), episodes lasting many frames with onset and offset
ramps (so temporal smoothing helps). Nuisance per video: identity (face shape, feature
placement and size, skin tone, hair, lips), background, slow pose drift (roll, yaw, scale,
shift), directional lighting and colour cast, blur, sensor noise, JPEG quality; blinks and gaze.
A few label rows are -1 and a few frames have no image, as in the real data; one pair of
videos is ``<video>_left`` / ``<video>_right`` (two people in one clip).

Everything is deterministic from the seed (one ``numpy.random.Generator`` per video from
``(seed, video)``), and the demo size (24 videos x 300 frames) renders in seconds.
"""
from __future__ import annotations

import json
import os
import shutil
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..constants import ABAW_HEADER, AU_NAMES, NUM_AUS
from ..fileio import atomic_write_text, cache_dir
from .abaw import ANNOTATION_SUBDIR, FRAME_FORMAT, IMAGE_SUBDIR, is_abaw_root
from .face_renderer import SIZE, au_montage, render_face, sample_identity, sample_poses, sample_scene

GENERATOR_VERSION = 1  # bump when the rendering or the labels change: ensure_synthetic then regenerates
INFO_FILE = "synthetic_info.json"
SYNTHETIC_DIR = "synthetic_affwild2"  # below the cache root when data.root is not set
A = {name: i for i, name in enumerate(AU_NAMES)}


# ------------------------------------------------------------------------------ label timelines

#   name: (rate, mean length in frames, {AU: probability of joining the episode})
DRIVERS = {
    "smile": (0.26, 50, {"AU12": 1.0, "AU6": 0.85, "AU25": 0.35, "AU7": 0.3}),
    "brow_raise": (0.12, 35, {"AU1": 1.0, "AU2": 0.6, "AU25": 0.2, "AU26": 0.2}),
    "frown": (0.14, 45, {"AU4": 1.0, "AU7": 0.75, "AU23": 0.15, "AU24": 0.15}),
    "talk": (0.40, 30, {"AU25": 1.0, "AU26": 0.15, "AU10": 0.3}),
    "sad": (0.05, 40, {"AU15": 1.0, "AU1": 0.5, "AU4": 0.4}),
}
SOLO = {"AU1": 0.04, "AU2": 0.02, "AU4": 0.05, "AU6": 0.04, "AU7": 0.18, "AU10": 0.22, "AU12": 0.03,
        "AU15": 0.035, "AU23": 0.05, "AU24": 0.05, "AU25": 0.05, "AU26": 0.035}


def _episodes(rng: np.random.Generator, n: int, rate: float, mean_len: float) -> List[Tuple[int, int]]:
    """Alternating off/on periods covering ``rate`` of ``n`` frames on average: [(start, end)]."""
    rate = float(np.clip(rate, 0.0, 0.9))
    if rate <= 0:
        return []
    mean_off = mean_len * (1 - rate) / rate
    out, t = [], -int(rng.uniform(0, mean_off + mean_len))  # random phase of the renewal process
    while t < n:
        t += int(rng.exponential(mean_off)) + 1
        length = int(np.clip(rng.lognormal(np.log(mean_len), 0.45), 8, 4 * mean_len))
        if t < n and t + length > 0:
            out.append((max(t, 0), min(t + length, n)))
        t += length
    return out


def _add_episode(intensity: np.ndarray, start: int, end: int, rng: np.random.Generator, au: int) -> None:
    start, end = max(int(start), 0), min(int(end), len(intensity))
    length = end - start
    if length < 2:
        return
    peak = rng.uniform(0.6, 1.0)
    ramp = int(min(rng.integers(2, 7), max(1, length // 3)))
    prof = np.full(length, peak)
    up = np.linspace(0.35, 1.0, ramp, endpoint=False)
    prof[:ramp] *= up
    prof[length - ramp:] *= up[::-1]
    prof = np.clip(prof + rng.normal(0, 0.03, length), 0.25, 1.0)
    seg = intensity[start:end, au]
    np.maximum(seg, prof, out=seg)


def sample_timeline(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 12) float intensities in [0, 1] of one video; label = intensity > 0."""
    intensity = np.zeros((n, NUM_AUS))
    expressive = rng.lognormal(0, 0.3)
    for rate, mean_len, members in DRIVERS.values():
        for start, end in _episodes(rng, n, rate * expressive, mean_len):
            for au, p in members.items():
                if rng.random() < p:
                    # members join a little late / leave a little early
                    s = start + int(rng.integers(0, 4)) if end - start > 12 else start
                    e = end - int(rng.integers(0, 4)) if end - start > 12 else end
                    _add_episode(intensity, s, e, rng, A[au])
    for au, rate in SOLO.items():
        for start, end in _episodes(rng, n, rate * expressive, 35):
            _add_episode(intensity, start, end, rng, A[au])
    # physically exclusive: pressed lips cannot part; corners cannot go up and down at once
    pressed = intensity[:, A["AU24"]] > 0
    intensity[pressed, A["AU25"]] = 0
    intensity[pressed, A["AU26"]] = 0
    both = (intensity[:, A["AU12"]] > 0) & (intensity[:, A["AU15"]] > 0)
    intensity[both, A["AU15"]] = 0
    return intensity


# ----------------------------------------------------------------------------------- the videos


def video_names(n: int) -> List[Tuple[str, int]]:
    """(name, scene group) of n videos; videos 1 and 2 are the pair ``synth-001_left/_right`` (one scene)."""
    out = []
    for i in range(n):
        if n >= 4 and i in (1, 2):
            out.append((f"synth-001_{'left' if i == 1 else 'right'}", 1))
        else:
            out.append((f"synth-{i:03d}", i))
    return out


def _render_video(args) -> dict:
    """Render one video into ``out``; returns its labels (with -1 rows) and which frames have images."""
    out, name, group, video, n, seed = args
    rng = np.random.default_rng([seed, video, 1])
    scene = sample_scene(np.random.default_rng([seed, group, 2]))  # the left/right pair share the scene
    ident = sample_identity(rng)
    intensity = sample_timeline(rng, n)
    poses = sample_poses(rng, n)
    labels = (intensity > 0).astype(np.int8)
    if rng.random() < 0.35:  # a run of unannotated rows
        s = int(rng.integers(0, n - 5))
        labels[s:s + int(rng.integers(3, 25))] = -1
    has_image = np.ones(n, dtype=bool)
    for _ in range(int(rng.integers(0, 3)) if rng.random() < 0.35 else 0):  # a few frames without image
        s = int(rng.integers(0, n - 1))
        has_image[s:s + int(rng.integers(1, 5))] = False
    vdir = os.path.join(out, IMAGE_SUBDIR, name)
    os.makedirs(vdir, exist_ok=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, scene.jpeg_quality]
    noise_rng = np.random.default_rng([seed, video, 3])
    for k in range(n):
        if not has_image[k]:
            continue
        img = render_face(ident, scene, intensity[k], poses[k], noise_rng)
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), params)
        if not ok:
            raise RuntimeError(f"JPEG encoding failed for {name} frame {k + 1}")
        buf.tofile(os.path.join(vdir, FRAME_FORMAT.format(k + 1)))
    return {"name": name, "group": group, "labels": labels, "has_image": has_image}


def _choose_validation(results: List[dict], val_fraction: float, rng: np.random.Generator) -> set:
    """Scene groups for validation: about ``val_fraction`` of them, every AU positive on both sides if possible."""
    groups = sorted({r["group"] for r in results})
    n_val = max(1, int(round(len(groups) * val_fraction)))
    pos = {g: np.zeros(NUM_AUS) for g in groups}
    for r in results:
        pos[r["group"]] += (r["labels"] == 1).sum(0)
    best, best_score = None, -1.0
    for _ in range(200):
        val = set(rng.permutation(groups)[:n_val].tolist())
        v = sum(pos[g] for g in val)
        t = sum(pos[g] for g in groups if g not in val)
        score = float(np.minimum(v, t).clip(0, 30).sum())  # reward positives on both sides for every AU
        if score > best_score:
            best, best_score = val, score
    return best


def make_synthetic_affwild2(out: str, videos: int = 24, frames: int = 300, seed: int = 0,
                            val_fraction: float = 0.25, workers: Optional[int] = None, progress: bool = True) -> dict:
    """Write a synthetic dataset in the ABAW AU layout under ``out`` (created; must be absent or empty).

    Written atomically: everything goes to a temporary sibling folder renamed to ``out`` at the end.
    Returns the info dict also saved as ``out/synthetic_info.json``.
    """
    out = os.path.abspath(os.path.expanduser(out))
    if videos < 2 or frames < 10:
        raise ValueError(f"need at least 2 videos of 10 frames, got {videos} x {frames}")
    if os.path.exists(out) and (not os.path.isdir(out) or os.listdir(out)):
        raise FileExistsError(f"{out} exists and is not an empty folder")
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    tmp = os.path.join(parent, f".{os.path.basename(out)}.tmp-{os.getpid()}")
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    jobs = [(tmp, name, group, v, frames, seed) for v, (name, group) in enumerate(video_names(videos))]
    workers = workers or min(len(jobs), os.cpu_count() or 1, 4)
    try:
        results = _run_jobs(jobs, workers, progress)
        val_groups = _choose_validation(results, val_fraction, np.random.default_rng([seed, 99]))
        info = _write_annotations(tmp, results, val_groups, dict(videos=videos, frames=frames, seed=seed,
                                                                  val_fraction=val_fraction))
        if os.path.isdir(out):
            os.rmdir(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return info


def _run_jobs(jobs, workers: int, progress: bool) -> List[dict]:
    from tqdm import tqdm

    bar = tqdm(total=len(jobs), desc="synthetic Aff-Wild2", unit="video", disable=not progress)
    results = []
    if workers > 1:
        import multiprocessing as mp

        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
        with ctx.Pool(workers) as pool:
            for r in pool.imap(_render_video, jobs):
                results.append(r)
                bar.update(1)
    else:
        for job in jobs:
            results.append(_render_video(job))
            bar.update(1)
    bar.close()
    return results


def _write_annotations(root: str, results: List[dict], val_groups: set, params: dict) -> dict:
    splits = {"Train_Set": [], "Validation_Set": []}
    stats = {}
    for r in results:
        split = "Validation_Set" if r["group"] in val_groups else "Train_Set"
        splits[split].append(r["name"])
        d = os.path.join(root, ANNOTATION_SUBDIR, split)
        os.makedirs(d, exist_ok=True)
        lab = r["labels"]
        rows = [",".join(map(str, row)) for row in lab.tolist()]
        atomic_write_text(os.path.join(d, r["name"] + ".txt"), ABAW_HEADER + "\n" + "\n".join(rows) + "\n")
        annotated = (lab >= 0).all(1)
        stats[r["name"]] = {"split": split, "frames": len(lab), "unannotated": int((~annotated).sum()),
                            "missing_images": int((annotated & ~r["has_image"]).sum())}
    rate = {}
    for split, names in splits.items():  # over the usable frames (annotated, with an image)
        lab = np.concatenate([r["labels"][(r["labels"] >= 0).all(1) & r["has_image"]]
                              for r in results if r["name"] in names])
        rate[split] = {au: round(float(lab[:, i].mean()), 4) for i, au in enumerate(AU_NAMES)}
    info = {"generator": "mindface_au.data.synthetic", "version": GENERATOR_VERSION, **params, "splits": splits, "positive_rate": rate,
            "per_video": stats}
    atomic_write_text(os.path.join(root, INFO_FILE), json.dumps(info, indent=1))
    return info


def ensure_synthetic(cfg: dict, progress: bool = True) -> str:
    """Create the synthetic dataset at ``cfg['data']['root']`` unless it is already there.

    Only acts when ``cfg['data']['synthetic']`` is true; size from ``data.synthetic_videos`` /
    ``data.synthetic_frames``, seed from ``seed``. A folder this generator made earlier with other
    parameters or an older version is replaced; any other existing ABAW layout is used as it is.
    Returns the (expanded) root.
    """
    d = cfg["data"]
    root = os.path.abspath(os.path.expanduser(d["root"])) if d["root"] else cache_dir(SYNTHETIC_DIR)
    if not d.get("synthetic"):
        return root
    want = {"version": GENERATOR_VERSION, "videos": d["synthetic_videos"], "frames": d["synthetic_frames"],
            "seed": cfg["seed"]}
    info_path = os.path.join(root, INFO_FILE)
    if is_abaw_root(root, (d["train_split"], d["val_split"])):
        info = None
        if os.path.isfile(info_path):
            with open(info_path, encoding="utf-8") as f:
                info = json.load(f)
        if info is None or info.get("generator") != "mindface_au.data.synthetic":
            return root  # someone's real (or hand-made) data: never touched
        have = {k: info.get(k) for k in want}
        if have == want:
            return root
        if progress:
            print(f"{root}: synthetic data made with {have}, the config asks for {want}: regenerating")
        old = f"{root}.old-{os.getpid()}"
        os.replace(root, old)
        try:
            make_synthetic_affwild2(root, want["videos"], want["frames"], want["seed"], progress=progress)
        except BaseException:
            if not os.path.exists(root):
                os.replace(old, root)
            raise
        shutil.rmtree(old, ignore_errors=True)
        return root
    if progress:
        print(f"creating synthetic Aff-Wild2 data ({want['videos']} videos x {want['frames']} frames) in {root}")
    make_synthetic_affwild2(root, want["videos"], want["frames"], want["seed"], progress=progress)
    return root


def save_montage(path: str, n_identities: int = 4, seed: int = 0, scale: int = 2,
                 au_names: Sequence[str] = AU_NAMES) -> str:
    """Save :func:`~.face_renderer.au_montage` of ``au_names`` as a PNG with column titles (:mod:`mindface_au.plots`)."""
    from ..plots import plot_image_grid

    grid = au_montage(n_identities, seed, au_names=au_names)
    return plot_image_grid(grid, path, ["neutral", *au_names], SIZE, scale)
