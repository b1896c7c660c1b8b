"""A synthetic identity folder for face-recognition pretraining: ``<out>/<identity>/<image>.jpg``.

Each identity is one draw of the renderer's identity (face shape, feature placement and size,
skin, hair, lips: :func:`~mindface_au.data.face_renderer.sample_identity`); each of its images
has its own scene (background, light, blur, noise, JPEG quality), pose (roll, yaw, scale,
shift, blink, gaze) and AU intensities, so what stays constant across an identity's images is
the identity alone, as in real face-recognition data. Deterministic from the seed.
"""
from __future__ import annotations

import json
import os

import cv2
import numpy as np

from ..constants import NUM_AUS
from ..fileio import atomic_write_text
from .face_renderer import render_face, sample_identity, sample_poses, sample_scene

INFO_FILE = "synthetic_identities.json"
AU_ACTIVE_P = 0.25  # each AU is active in an image with this probability, at an intensity U(0.3, 1)


def identity_name(k: int) -> str:
    return f"id{k:05d}"


def sample_expression(rng: np.random.Generator) -> np.ndarray:
    """(12,) AU intensities in [0, 1]: each AU active with probability AU_ACTIVE_P."""
    return (rng.random(NUM_AUS) < AU_ACTIVE_P) * rng.uniform(0.3, 1.0, NUM_AUS)


def render_identity(out: str, k: int, images: int, seed: int) -> None:
    """Write the ``images`` images of identity ``k`` into ``<out>/<identity_name(k)>/``."""
    rng = np.random.default_rng([seed, k, 11])
    ident = sample_identity(rng)
    folder = os.path.join(out, identity_name(k))
    os.makedirs(folder, exist_ok=True)
    for m in range(images):
        scene = sample_scene(rng)
        img = render_face(ident, scene, sample_expression(rng), sample_poses(rng, 1)[0], rng)
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, scene.jpeg_quality])
        if not ok:
            raise RuntimeError(f"JPEG encoding failed for {folder} image {m}")
        buf.tofile(os.path.join(folder, f"{m:04d}.jpg"))


def make_synthetic_identities(out: str, identities: int = 200, images_per_identity: int = 20, seed: int = 0,
                              progress: bool = True) -> dict:
    """Write ``identities`` x ``images_per_identity`` faces into ``out``; returns the info written beside them.

    An ``out`` made earlier with the same parameters is kept as it is (identities already whole are
    not redrawn: a killed run continues); one with other parameters is refused.
    """
    from tqdm import tqdm

    params = {"identities": identities, "images_per_identity": images_per_identity, "seed": seed}
    info_path = os.path.join(out, INFO_FILE)
    if os.path.isfile(info_path):
        with open(info_path, encoding="utf-8") as f:
            old = json.load(f)
        if old != params:
            raise ValueError(f"{info_path}: made with {old}, not {params}; choose another --out")
        return params
    if os.path.isdir(out) and any(not n.startswith(("id", ".")) for n in os.listdir(out)):
        raise ValueError(f"{out}: not empty and not a synthetic identity folder")
    for k in tqdm(range(identities), desc="synthetic identities", unit="identity", disable=not progress):
        folder = os.path.join(out, identity_name(k))
        if not (os.path.isdir(folder) and len(os.listdir(folder)) == images_per_identity):
            render_identity(out, k, images_per_identity, seed)
    atomic_write_text(info_path, json.dumps(params))  # last: the folder is whole
    return params
