"""Identity-labelled face images for face-recognition pretraining: ``<root>/<identity>/<image>.jpg``.

The layout of insightface's and torchvision's image folders: one folder per identity (its name
is the identity), the face images of that identity inside it, no deeper folders. Classes are
numbered in the sorted order of the folder names.

* :func:`read_identity_folder` -> :class:`IdentityFolder` (paths (N,), labels (N,) int32);
* :func:`split_identities`: identities held out for verification, the rest for training;
* :func:`verification_pairs`: same / different identity pairs of the held-out images.

A malformed folder (an image beside the identity folders, a folder inside an identity folder,
an identity with no image) or an unreadable image is an :class:`IdentityFolderError` naming it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Tuple

import numpy as np

from .jpeg import read_checked

IMAGE_EXTENSIONS = (".jpg", ".jpeg")


class IdentityFolderError(ValueError):
    """An identity folder that does not follow ``<root>/<identity>/<image>.jpg``, or an unreadable image."""


@dataclass(frozen=True)
class IdentityFolder:
    """The images of an identity folder.

    Attributes:
        root: the folder (absolute).
        identities: (C,) identity names; class k is ``identities[k]``.
        paths: (N,) image paths relative to ``root``.
        labels: (N,) int32 class of each image.
    """

    root: str
    identities: List[str]
    paths: np.ndarray
    labels: np.ndarray

    @property
    def num_classes(self) -> int:
        return len(self.identities)

    def subset(self, classes: np.ndarray) -> "IdentityFolder":
        """The images of ``classes`` (sorted class numbers), renumbered 0..len(classes)-1."""
        classes = np.asarray(sorted(classes))
        keep = np.isin(self.labels, classes)
        renumber = np.full(self.num_classes, -1, dtype=np.int32)
        renumber[classes] = np.arange(len(classes), dtype=np.int32)
        return IdentityFolder(self.root, [self.identities[c] for c in classes], self.paths[keep],
                              renumber[self.labels[keep]])


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def _identity_images(root: str, identity: str, check_images: bool) -> List[str]:
    folder = os.path.join(root, identity)
    names = sorted(os.listdir(folder))
    for name in names:
        if os.path.isdir(os.path.join(folder, name)):
            raise IdentityFolderError(f"{os.path.join(folder, name)}: a folder inside an identity folder "
                                      "(the layout is <root>/<identity>/<image>.jpg)")
    images = [n for n in names if _is_image(n)]
    if not images:
        raise IdentityFolderError(f"{folder}: identity folder without a .jpg image")
    if check_images:
        for name in images:
            _, reason = read_checked(os.path.join(folder, name))
            if reason:
                raise IdentityFolderError(f"{os.path.join(folder, name)}: {reason}")
    return [os.path.join(identity, n) for n in images]


def read_identity_folder(root: str, check_images: bool = True) -> IdentityFolder:
    """Read ``<root>/<identity>/<image>.jpg``; ``check_images`` decodes every image (cheap, 1/8 size)."""
    root = os.path.abspath(os.path.expanduser(root))
    if not os.path.isdir(root):
        raise IdentityFolderError(f"{root}: not a folder (an identity folder: <root>/<identity>/<image>.jpg)")
    entries = sorted(os.listdir(root))
    strays = [n for n in entries if _is_image(n)]
    if strays:
        raise IdentityFolderError(f"{os.path.join(root, strays[0])}: an image beside the identity folders "
                                  "(each image belongs in <root>/<identity>/)")
    identities = [n for n in entries if os.path.isdir(os.path.join(root, n)) and not n.startswith(".")]
    if len(identities) < 2:
        raise IdentityFolderError(f"{root}: {len(identities)} identity folder(s); pretraining needs at least 2")
    paths, labels = [], []
    for k, identity in enumerate(identities):
        images = _identity_images(root, identity, check_images)
        paths += images
        labels += [k] * len(images)
    return IdentityFolder(root, identities, np.asarray(paths), np.asarray(labels, dtype=np.int32))


def split_identities(folder: IdentityFolder, holdout_fraction: float, seed: int = 0
                     ) -> Tuple[IdentityFolder, IdentityFolder]:
    """(training identities, held-out identities): whole identities are held out, as in LFW-style verification."""
    n_hold = int(round(folder.num_classes * holdout_fraction))
    if not 2 <= n_hold < folder.num_classes:
        raise IdentityFolderError(f"{folder.root}: holding out {holdout_fraction:g} of {folder.num_classes} "
                                  f"identities leaves {n_hold}; verification needs 2 or more, and training the rest")
    held = np.random.default_rng(seed).permutation(folder.num_classes)[:n_hold]
    train = np.setdiff1d(np.arange(folder.num_classes), held)
    return folder.subset(train), folder.subset(held)


def verification_pairs(labels: np.ndarray, n_pairs: int, seed: int = 0) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(first, second, same)``: ``n_pairs`` index pairs into ``labels`` (N,), half of one identity, half of two."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    by_class = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    multi = [idx for idx in by_class if len(idx) >= 2]
    if not multi or len(by_class) < 2:
        raise IdentityFolderError("verification needs an identity with 2 images and 2 identities")
    first, second = [], []
    for _ in range(n_pairs // 2):
        idx = multi[rng.integers(len(multi))]
        a, b = rng.choice(idx, 2, replace=False)
        first.append(a)
        second.append(b)
    for _ in range(n_pairs - n_pairs // 2):
        ca, cb = rng.choice(len(by_class), 2, replace=False)
        first.append(rng.choice(by_class[ca]))
        second.append(rng.choice(by_class[cb]))
    same = np.r_[np.ones(n_pairs // 2, bool), np.zeros(n_pairs - n_pairs // 2, bool)]
    return np.asarray(first), np.asarray(second), same
