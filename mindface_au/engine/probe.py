"""Linear probe: how much AU information a backbone's frozen features hold, before any AU training.

For each backbone init (a file that ``model.backbone_init`` loads: a converted or face-pretrained
backbone, or a whole AU network's checkpoint, whose backbone part is taken; or ``random``: the
initialisation of the config's ``seed``) the backbone of ``cfg['model']`` runs frozen (eval mode) over
the config's training and validation splits (evaluation transforms: resize and centre crop). Per AU, a logistic
regression (scikit-learn, standardised features) is fitted on the training frames and scored by ROC
AUC on the validation frames (:func:`mindface_au.evaluation.roc_auc_per_au`), on two feature sets:

* ``pooled_map``: the feature map averaged over its positions, (N, C): what the AU nodes are built from;
* ``embedding``: the backbone's embedding, (N, d): what the backbone head reads.

0.5 is chance. A face-recognition backbone trained to tell identities apart across expressions can
score *below* a random one: the question the Table 3 study's "+ face pretraining" row raises.
"""
from __future__ import annotations

import os
from typing import Dict, List, Sequence

import numpy as np

RANDOM = "random"
FEATURE_SETS = ("pooled_map", "embedding")


def backbone_features(cell, dataset, progress: bool = False, desc: str = "features") -> tuple:
    """A frozen backbone's :class:`~mindface_au.models.PooledFeatures` ``cell`` (eval mode) over a dataset
    of (image (B, 3, S, S), label (B, C)) batches, in order:
    ``({'pooled_map': (N, C_map), 'embedding': (N, d)} float32, labels (N, C) int8)``.
    The same cell for every split: GRAPH_MODE compiles it once per input shape."""
    import mindspore as ms

    from .evaluator import dataset_batches

    size = dataset.get_batch_size()  # a short batch zero-padded to it: one graph compiled, not one per shape
    pooled, embedded, labels = [], [], []
    for image, label in dataset_batches(dataset, desc, progress):
        if len(image) < size:
            image_in = np.concatenate([image, np.zeros((size - len(image),) + image.shape[1:], image.dtype)])
        else:
            image_in = image
        fmap, emb = cell(ms.Tensor(image_in))
        pooled.append(fmap.asnumpy()[:len(image)])
        embedded.append(emb.asnumpy()[:len(image)])
        labels.append(np.asarray(label))
    if not labels:
        raise ValueError(f"probe: no frames to compute the {desc} on")
    feats = {"pooled_map": np.concatenate(pooled), "embedding": np.concatenate(embedded)}
    return feats, np.concatenate(labels).astype(np.int8)


def fit_probe(train_x, train_y, val_x, val_y) -> np.ndarray:
    """(C,) held-out ROC AUC of one logistic regression per AU, fitted on ``train_x`` (N, D) / ``train_y``
    (N, C) in {-1, 0, 1} (frames coded for that AU) and scored on ``val_x`` / ``val_y``; NaN for an AU
    with one class only among its coded training or validation frames."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ..evaluation import roc_auc_per_au

    one_class = np.array([len(np.unique(train_y[train_y[:, j] >= 0, j])) < 2 for j in range(train_y.shape[1])])
    scores = np.zeros(val_y.shape, np.float64)  # an AU with nothing to fit keeps a constant score
    for j in np.flatnonzero(~one_class):
        coded = train_y[:, j] >= 0
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        model.fit(train_x[coded], train_y[coded, j])
        scores[:, j] = model.predict_proba(val_x)[:, 1]
    auc = roc_auc_per_au(scores, val_y)
    auc[one_class] = np.nan
    return auc


def probe_init(cfg: dict, init: str, progress: bool = False) -> Dict:
    """One row of the probe: ``{'init', 'train_frames', 'val_frames', 'per_au_auc': {feature set: (C,)
    list, None where not scored}, 'mean_auc': {feature set: float or None}}`` for the backbone of ``cfg``
    started from ``init`` (``random``: the initialisation of the config's ``seed``). Only the
    occurrence labels are probed (a config with the intensity head has its 0-5 labels beside them)."""
    from ..config import config_au_names
    from ..data import read_index
    from ..factory import create_model
    from ..models import PooledFeatures
    from ..outputs import split_outputs
    from ..pipeline import build_eval_dataset
    from ..runtime import set_seed
    from ..weights import load_backbone_init

    set_seed(cfg["seed"])  # the same random init whatever came before it
    backbone = create_model(cfg["model"]["backbone"], input_size=cfg["model"]["input_size"])
    if init != RANDOM:
        load_backbone_init(backbone, init)
    cell = PooledFeatures(backbone)
    cell.set_train(False)
    n = len(config_au_names(cfg))
    splits = {}
    for part in ("train", "val"):
        dataset, _ = build_eval_dataset(cfg, index=read_index(cfg, part))
        feats, labels = backbone_features(cell, dataset, progress, desc=f"{part} features")
        splits[part] = feats, split_outputs(labels, n)[0]
    (train_feats, train_y), (val_feats, val_y) = splits["train"], splits["val"]
    per_au = {name: fit_probe(train_feats[name], train_y, val_feats[name], val_y) for name in FEATURE_SETS}
    return {"init": init, "train_frames": int(len(train_y)), "val_frames": int(len(val_y)),
            "per_au_auc": {k: [None if np.isnan(v) else float(v) for v in a] for k, a in per_au.items()},
            "mean_auc": {k: float(np.nanmean(a)) if np.isfinite(a).any() else None for k, a in per_au.items()}}


def linear_probe(cfg: dict, inits: Sequence[str], progress: bool = True) -> List[Dict]:
    """:func:`probe_init` for each of ``inits`` on the data of ``cfg`` (every init checked to exist first)."""
    missing = [i for i in inits if i != RANDOM and not os.path.isfile(i)]
    if missing:
        raise FileNotFoundError(f"probe init: file not found: {missing[0]}")
    return [probe_init(cfg, init, progress) for init in inits]


def probe_table(rows: Sequence[Dict]) -> str:
    """Markdown: one line per init, the mean held-out AUC of each feature set and the frame counts."""
    lines = ["| backbone init | mean AUC, pooled map | mean AUC, embedding | train / val frames |",
             "|:--|--:|--:|--:|"]
    for r in rows:
        means = ["n/a" if r["mean_auc"][k] is None else f"{r['mean_auc'][k]:.3f}" for k in FEATURE_SETS]
        lines.append(f"| {r['init']} | {means[0]} | {means[1]} | {r['train_frames']} / {r['val_frames']} |")
    return "\n".join(lines)


__all__ = ["FEATURE_SETS", "RANDOM", "backbone_features", "fit_probe", "linear_probe", "probe_init", "probe_table"]
