"""Face-recognition pretraining of an IResNet backbone with an ArcFace head (the paper's kind of init).

The paper's AU network starts from an IResNet100 trained for face recognition on Glint360K
(Table 3, "+ pretraining"). :func:`pretrain` trains a registered IResNet the same way, on an
identity folder (``<root>/<identity>/<image>.jpg``, :mod:`mindface_au.data.identities`):
SGD on the ArcFace loss (:mod:`mindface_au.models.arcface`), random horizontal flips, with a
share of the identities held out to measure face verification (pairs of same / different
identities, accuracy at a threshold chosen on the other folds, as LFW is scored).

The work dir holds ``settings.json``, ``log.jsonl`` (a record per epoch), ``curves.png`` (loss
and verification accuracy per epoch), ``backbone.ckpt`` (the bare backbone's parameters, the
layout ``model.backbone_init`` loads, as a converted insightface backbone) and ``last.ckpt``
(backbone + head + optimiser state), written last at each epoch end: killed at any moment, the
run resumes (``resume=True``) at the first epoch ``last.ckpt`` does not claim and ends as if it
had not been stopped.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from typing import List, Optional

import cv2
import numpy as np

from ..checkpoint import save_checkpoint
from ..data.identities import IdentityFolder, read_identity_folder, split_identities, verification_pairs
from ..fileio import atomic_write_text, cache_dir, read_jsonl, remove_partial_files
from ..transforms import norm_stats

SETTINGS = "settings.json"
BACKBONE = "backbone.ckpt"


@dataclass
class PretrainSettings:
    """Everything a pretraining run depends on (saved as ``settings.json``; ``resume`` reads it back).

    ``data`` empty: a synthetic identity folder of ``synthetic_identities`` x ``synthetic_images``
    faces (seed ``seed``) below the cache root, made on first use.
    """

    data: str = ""
    work_dir: str = "work_dirs/pretrain"
    synthetic_identities: int = 200
    synthetic_images: int = 20
    backbone: str = "iresnet_mini"
    input_size: int = 112
    epochs: int = 10
    batch_size: int = 64
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    scale: float = 64.0
    margin: float = 0.5
    norm: str = "arcface"
    holdout: float = 0.2
    pairs: int = 2000
    seed: int = 0
    device: str = "auto"


def load_pretrain_settings(path: str, **changes) -> PretrainSettings:
    """:class:`PretrainSettings` from a YAML file of its fields (an unknown key is an error naming it and
    the file), with ``changes`` on top."""
    import yaml

    with open(path, encoding="utf-8") as f:
        values = yaml.safe_load(f) or {}
    known = {f.name for f in dataclasses.fields(PretrainSettings)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"{path}: unknown key {unknown[0]!r}; pretraining settings: {', '.join(sorted(known))}")
    return PretrainSettings(**{**values, **changes})


def identity_data(settings: PretrainSettings, progress: bool = True) -> str:
    """The identity folder of a run: ``settings.data``, or the synthetic one it names (made if absent)."""
    if settings.data:
        return settings.data
    from ..data.synthetic_identities import make_synthetic_identities

    root = cache_dir(f"synthetic_identities_{settings.synthetic_identities}x{settings.synthetic_images}"
                     f"_seed{settings.seed}")
    make_synthetic_identities(root, settings.synthetic_identities, settings.synthetic_images, settings.seed,
                              progress=progress)
    return root


# ------------------------------------------------------------------------------------ images


def load_images(folder: IdentityFolder, indices: np.ndarray, size: int, norm: str,
                flip: Optional[np.ndarray] = None) -> np.ndarray:
    """(len(indices), 3, size, size) float32 normalised images; ``flip`` (len,) bool mirrors some."""
    mean, std = norm_stats(norm)
    out = np.empty((len(indices), 3, size, size), np.float32)
    for j, i in enumerate(indices):
        path = os.path.join(folder.root, folder.paths[i])
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f"{path}: not a decodable image")
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        if img.shape[:2] != (size, size):
            img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
        if flip is not None and flip[j]:
            img = img[:, ::-1]
        out[j] = ((img.astype(np.float32) - mean) / std).transpose(2, 0, 1)
    return out


def embeddings(backbone, folder: IdentityFolder, settings: PretrainSettings, batch_size: int = 128) -> np.ndarray:
    """(N, d) L2-normalised embeddings of every image of ``folder`` (eval mode, no flip)."""
    import mindspore as ms

    backbone.set_train(False)
    out = []
    for start in range(0, len(folder.paths), batch_size):
        idx = np.arange(start, min(start + batch_size, len(folder.paths)))
        _, emb = backbone(ms.Tensor(load_images(folder, idx, settings.input_size, settings.norm)))
        out.append(emb.asnumpy())
    emb = np.concatenate(out)
    return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)


# ------------------------------------------------------------------------------------ verification


def verification_accuracy(similarity: np.ndarray, same: np.ndarray, folds: int = 10, seed: int = 0) -> dict:
    """LFW-style verification of pair similarities (P,) against ``same`` (P,) bool.

    For each of ``folds`` folds the threshold that maximises accuracy on the other folds (midway
    between two neighbouring similarities) is applied to it; returns the mean and std of the fold accuracies and the ROC AUC of all pairs.
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import KFold

    accs = []
    for train, test in KFold(folds, shuffle=True, random_state=seed).split(similarity):
        sims = np.unique(similarity[train])
        candidates = np.r_[sims[0] - 1e-6, (sims[1:] + sims[:-1]) / 2, sims[-1] + 1e-6]  # between neighbours
        train_acc = [np.mean((similarity[train] >= t) == same[train]) for t in candidates]
        t = candidates[int(np.argmax(train_acc))]
        accs.append(np.mean((similarity[test] >= t) == same[test]))
    return {"accuracy": float(np.mean(accs)), "accuracy_std": float(np.std(accs)),
            "roc_auc": float(roc_auc_score(same, similarity))}


def verify(backbone, held_out: IdentityFolder, settings: PretrainSettings) -> dict:
    """Verification accuracy of ``backbone`` on pairs of the held-out identities' images."""
    emb = embeddings(backbone, held_out, settings)
    first, second, same = verification_pairs(held_out.labels, settings.pairs, settings.seed)
    return verification_accuracy(np.sum(emb[first] * emb[second], axis=1), same, seed=settings.seed)


# ------------------------------------------------------------------------------------ the run


@dataclass
class _Run:
    """The cells of a run: the bare backbone, the loss (backbone + ArcFace head), the training step."""

    backbone: object
    loss: object
    optimizer: object
    step: object


def build_run(settings: PretrainSettings, num_classes: int, steps_per_epoch: int) -> _Run:
    """The backbone (registered name, as ``model.backbone`` builds it), head, SGD with cosine lr, one jitted step."""
    import mindspore.nn as nn

    from ..factory import create_model
    from ..models.arcface import ArcFaceLoss, ArcMarginHead

    backbone = create_model(settings.backbone, input_size=settings.input_size)
    head = ArcMarginHead(backbone.embedding_dim, num_classes, settings.scale, settings.margin)
    loss = ArcFaceLoss(backbone, head)
    total = steps_per_epoch * settings.epochs
    lr = nn.cosine_decay_lr(0.0, settings.lr, total, steps_per_epoch, settings.epochs)
    optimizer = nn.SGD(loss.trainable_params(), learning_rate=lr, momentum=settings.momentum,
                       weight_decay=settings.weight_decay)
    return _Run(backbone, loss, optimizer, nn.TrainOneStepCell(loss, optimizer))


def _epoch(run: _Run, train: IdentityFolder, settings: PretrainSettings, epoch: int, progress: bool) -> float:
    """One epoch over the training images in the epoch's order (seeded: a redone epoch is the same); mean loss."""
    import mindspore as ms
    from tqdm import tqdm

    rng = np.random.default_rng([settings.seed, epoch])
    order = rng.permutation(len(train.paths))
    flips = rng.random(len(order)) < 0.5
    steps = len(order) // settings.batch_size
    run.loss.set_train(True)
    losses = []
    bar = tqdm(range(steps), desc=f"pretrain epoch {epoch}/{settings.epochs}", unit="step", disable=not progress)
    for s in bar:
        idx = order[s * settings.batch_size:(s + 1) * settings.batch_size]
        images = load_images(train, idx, settings.input_size, settings.norm, flips[idx])
        losses.append(float(run.step(ms.Tensor(images), ms.Tensor(train.labels[idx])).asnumpy()))
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
    return float(np.mean(losses))


def _save_epoch(run: _Run, settings: PretrainSettings, record: dict, records: List[dict]) -> None:
    """The epoch's files, ``last.ckpt`` last (it claims the epoch only once the rest is on disk)."""
    from ..plots import plot_pretrain_curves
    from .state import save_training_state

    work = settings.work_dir
    with open(os.path.join(work, "log.jsonl"), "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
    meta = {"kind": "arcface pretraining", "backbone": settings.backbone, "input_size": settings.input_size,
            "norm": settings.norm, "epoch": record["epoch"], "data": settings.data,
            "verification": {k: record[k] for k in ("accuracy", "accuracy_std", "roc_auc")}}
    bare = [{"name": name, "data": param} for name, param in run.backbone.parameters_and_names()]
    save_checkpoint(bare, os.path.join(work, BACKBONE), meta)  # bare IResNet names, as a converted backbone
    plot_pretrain_curves(records + [record], os.path.join(work, "curves.png"))
    save_training_state(work, run.loss, run.optimizer, {**meta, "settings": dataclasses.asdict(settings)})


def _restore(run: _Run, settings: PretrainSettings) -> List[dict]:
    """Resume: ``last.ckpt`` into the cells; returns the log's records of the epochs it claims (the
    records of later epochs, written before a kill, are dropped: those epochs are redone)."""
    from .state import LAST, load_training_state

    work = settings.work_dir
    remove_partial_files(work)
    if not os.path.isfile(os.path.join(work, LAST)):
        return []
    done = int(load_training_state(work, run.loss, run.optimizer)["epoch"])
    records = [r for r in read_jsonl(os.path.join(work, "log.jsonl")) if r["epoch"] <= done]
    if [r["epoch"] for r in records] != list(range(1, done + 1)):
        raise ValueError(f"{work}/log.jsonl: lacks epoch records that {LAST} claims (epochs 1..{done})")
    atomic_write_text(os.path.join(work, "log.jsonl"), "".join(json.dumps(r) + "\n" for r in records))
    return records


def _settings_for_run(settings: PretrainSettings, resume: bool) -> PretrainSettings:
    path = os.path.join(settings.work_dir, SETTINGS)
    if resume and os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            return PretrainSettings(**json.load(f))  # the saved run, as it was started
    os.makedirs(settings.work_dir, exist_ok=True)
    if os.path.isfile(os.path.join(settings.work_dir, "log.jsonl")):
        os.remove(os.path.join(settings.work_dir, "log.jsonl"))  # a new run in an old work dir
    atomic_write_text(path, json.dumps(dataclasses.asdict(settings), indent=2))
    return settings


def pretrain(settings: PretrainSettings, resume: bool = False, progress: bool = True) -> dict:
    """Train ``settings.backbone`` with ArcFace on ``settings.data``; returns the last epoch's record.

    Each record: ``epoch``, ``loss`` (mean training loss), ``accuracy`` / ``accuracy_std`` (held-out
    verification, 10 folds), ``roc_auc``, ``train_identities``, ``held_out_identities``.
    """
    from ..runtime import setup_context

    if not resume:
        settings = dataclasses.replace(settings, data=identity_data(settings, progress))
    settings = _settings_for_run(settings, resume)  # resume: the settings saved in the work dir
    setup_context(settings.device, "graph", settings.seed)
    data = settings.data
    train, held_out = split_identities(read_identity_folder(data), settings.holdout, settings.seed)
    steps = len(train.paths) // settings.batch_size
    if steps == 0:
        raise ValueError(f"{data}: {len(train.paths)} training images, fewer than one batch "
                         f"of {settings.batch_size}")
    run = build_run(settings, train.num_classes, steps)
    records = _restore(run, settings) if resume else []
    for epoch in range(len(records) + 1, settings.epochs + 1):
        loss = _epoch(run, train, settings, epoch, progress)
        record = {"type": "epoch", "epoch": epoch, "loss": loss, **verify(run.backbone, held_out, settings),
                  "train_identities": train.num_classes, "held_out_identities": held_out.num_classes}
        _save_epoch(run, settings, record, records)
        records.append(record)
        if progress:
            print(f"epoch {epoch}: loss {loss:.3f}, verification accuracy {100 * record['accuracy']:.1f}% "
                  f"(AUC {record['roc_auc']:.3f}) on {held_out.num_classes} held-out identities")
    return records[-1] if records else {}


__all__ = ["PretrainSettings", "load_pretrain_settings", "identity_data", "pretrain", "verification_accuracy", "load_images", "embeddings", "BACKBONE"]
