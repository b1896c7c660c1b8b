"""Per-epoch resampling of the training frames, as a ``mindspore.dataset.Sampler``.

Every epoch draws anew, from ``numpy.random.default_rng([seed, epoch])`` (the same on every
rank, so the ranks' shares are disjoint):

1. **uniform part**: in each video, every ``1/uniform_fraction``-th frame (stride 10 for the
   paper's 1/10) starting at a random phase: positions ``floor((u_v + j) / f)``, j = 0 .. k_v - 1,
   with ``u_v ~ U[0, 1)`` per video and ``k_v = floor(n_v * f)`` frames of the video's n_v;
2. **rare part**: a uniform ``rare_fraction`` (1/5) of the frames where any of ``rare_aus``
   (the paper's AU2, AU15, AU23, AU24, AU26 for Aff-Wild2; or the k rarest AUs of the training
   index, ``'rarest:<k>'``) is 1, without replacement;

the two are concatenated (a frame may come from both), shuffled, cut to a multiple of the
number of ranks and dealt out to the ranks in turn (interleaved equal shares). The size of a draw does not depend on
the epoch, so every epoch of every rank has the same length (``len(sampler)``).

MindSpore copies the dataset tree (and its sampler) whenever it builds an iterator, and asks
for the next epoch's indices ahead of time; :meth:`ResampleSampler.__deepcopy__` returns the
sampler itself so that the object the trainer holds is the one that draws. ``epoch`` is the
epoch of the next draw (the pipeline may have drawn ahead of the epoch being trained).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

import mindspore.dataset as ds

from ..config import RAREST
from ..constants import AU_NAMES, RARE_AUS
from ..data.index import FrameIndex


def rarest_aus(labels: np.ndarray, au_names: Sequence[str], spec: str) -> tuple:
    """``'rarest:<k>'`` -> the k AUs of ``au_names`` with the lowest positive rate in ``labels``.

    Args:
        labels: (N, C) 0/1 labels (-1 = not annotated, left out of that AU's rate) of the training index.
        au_names: the C AU names of the columns.
        spec: ``'rarest:<k>'``, 1 <= k <= C.

    Returns:
        The k names in column order (ties go to the earlier column).
    """
    match = RAREST.match(spec)
    if not match or not 1 <= int(match.group(1)) <= len(au_names):
        raise ValueError(f"rare AUs: expected a list of AU names or 'rarest:<k>' with 1 <= k <= {len(au_names)}, "
                         f"got {spec!r}")
    labels = np.asarray(labels)
    annotated = (labels >= 0).sum(0)
    rate = np.where(annotated > 0, (labels == 1).sum(0) / np.maximum(annotated, 1), 0.0)
    chosen = np.sort(np.argsort(rate, kind="stable")[:int(match.group(1))])
    return tuple(au_names[j] for j in chosen)


class ResampleSampler(ds.Sampler):
    """Per-epoch uniform + rare-AU resample of a :class:`FrameIndex`, sharded over ranks.

    Args:
        index: the training frames.
        uniform_fraction: f of the uniform part (stride 1/f with a random phase per video).
        rare_fraction: fraction of the rare-AU frames added every epoch.
        rare_aus: AU names (of ``au_names``) whose positives count as rare, or ``'rarest:<k>'``: the k
            AUs of lowest positive rate in ``index`` (:func:`rarest_aus`).
        seed: with the epoch, the seed of each draw.
        start_epoch: epoch of the first draw (a resumed run passes the epoch it restarts).
        rank, group_size: this process's share among ``group_size`` data-parallel ranks.
        skip: indices to leave out of every draw (resuming inside an epoch: steps done x batch); a
            sampler that skips serves that one partial epoch only.
        au_names: the AU of each label column of ``index`` (the model's AU set).
    """

    def __init__(self, index: FrameIndex, uniform_fraction: float = 0.1, rare_fraction: float = 0.2,
                 rare_aus: Sequence[str] = RARE_AUS, seed: int = 0, start_epoch: int = 0, rank: int = 0,
                 group_size: int = 1, skip: int = 0, au_names: Sequence[str] = AU_NAMES):
        if not 0.0 <= uniform_fraction <= 1.0 or not 0.0 <= rare_fraction <= 1.0:
            raise ValueError(f"fractions must lie in [0, 1], got uniform {uniform_fraction}, rare {rare_fraction}")
        if group_size < 1 or not 0 <= rank < group_size:
            raise ValueError(f"rank {rank} outside 0..{group_size - 1}")
        au_names = list(au_names)
        if isinstance(rare_aus, str):
            rare_aus = rarest_aus(index.labels, au_names, rare_aus)
        unknown = [a for a in rare_aus if a not in au_names]
        if unknown:
            raise ValueError(f"unknown rare AU(s) {unknown}; known: {au_names}")
        self.uniform_fraction = float(uniform_fraction)
        self.rare_fraction = float(rare_fraction)
        self.rare_aus = tuple(rare_aus)
        self.seed = int(seed)
        self.epoch = int(start_epoch)
        self.rank, self.group_size = int(rank), int(group_size)
        self.skip = int(skip)

        # per-video groups in frame order (index order within a video is kept)
        order = np.lexsort((index.frames, index.video_ids))
        counts = np.bincount(index.video_ids, minlength=index.num_videos).astype(np.int64)
        self._order = order.astype(np.int64)
        self._starts = np.cumsum(counts) - counts
        f = self.uniform_fraction
        self._k = np.floor(counts * f + 1e-9).astype(np.int64) if f > 0 else np.zeros_like(counts)
        self._counts = counts
        cols = [au_names.index(a) for a in self.rare_aus]
        rare = (index.labels[:, cols] == 1).any(axis=1) if cols else np.zeros(len(index), dtype=bool)
        self._rare = np.flatnonzero(rare).astype(np.int64)
        self.n_uniform = int(self._k.sum())
        self.n_rare = int(round(len(self._rare) * self.rare_fraction))
        self.draw_size = self.n_uniform + self.n_rare
        self.per_rank = self.draw_size // self.group_size
        if self.per_rank < 1:
            raise ValueError(f"an epoch's draw has {self.draw_size} frames, fewer than the {self.group_size} ranks "
                             f"(index of {len(index)} frames, uniform_fraction {f}, rare_fraction {rare_fraction})")
        if not 0 <= self.skip < self.per_rank:
            raise ValueError(f"skip {self.skip} must lie in [0, {self.per_rank}) (frames per rank per epoch)")
        # MindSpore wants every epoch to yield num_samples: a sampler that skips is good for one epoch only
        super().__init__(num_samples=self.per_rank - self.skip)

    def __len__(self) -> int:
        return self.per_rank - self.skip

    def __deepcopy__(self, memo):
        return self  # shared on purpose: MindSpore copies the tree; the epoch counter must be one

    def draw_all(self, epoch: int) -> np.ndarray:
        """The whole draw of ``epoch`` before sharding: (draw_size,) int64 dataset indices, shuffled."""
        rng = np.random.default_rng([self.seed, int(epoch)])
        n_videos = len(self._counts)
        phase = rng.random(n_videos)
        parts = []
        if self.n_uniform:
            video = np.repeat(np.arange(n_videos), self._k)
            j = np.arange(self.n_uniform) - np.repeat(np.cumsum(self._k) - self._k, self._k)
            pos = np.floor((phase[video] + j) / self.uniform_fraction).astype(np.int64)
            pos = np.minimum(pos, self._counts[video] - 1)
            parts.append(self._order[self._starts[video] + pos])
        if self.n_rare:
            parts.append(self._rare[rng.choice(len(self._rare), size=self.n_rare, replace=False)])
        drawn = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        return drawn[rng.permutation(len(drawn))]

    def draw(self, epoch: int) -> np.ndarray:
        """This rank's share of ``epoch``'s draw: (per_rank,) int64 dataset indices.

        Shares interleave (rank r takes positions r, r + G, r + 2G, ...), so batch i of every rank
        together is exactly batch i of a single process with the global batch size.
        """
        drawn = self.draw_all(epoch)
        return drawn[:self.per_rank * self.group_size][self.rank::self.group_size]

    def __iter__(self):
        share = self.draw(self.epoch)[self.skip:]
        self.epoch += 1
        return iter(share.tolist())

    def __repr__(self) -> str:
        return (f"ResampleSampler({self.per_rank} per rank x {self.group_size}: {self.n_uniform} uniform "
                f"(f={self.uniform_fraction}) + {self.n_rare} rare of {len(self._rare)}, seed {self.seed}, "
                f"next epoch {self.epoch})")
