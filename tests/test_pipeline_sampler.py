"""The per-epoch resampler: draw sizes, stride and phase, rare-AU enrichment, determinism, shards, MindSpore use."""
import numpy as np
import pytest

import mindspore.dataset as ds

from mindface_au.constants import AU_NAMES, RARE_AUS
from mindface_au.data import FrameIndex, ReadReport
from mindface_au.pipeline.sampler import ResampleSampler

LENGTHS = [95, 100, 57, 3, 210, 40, 10]
RARE_COLS = [AU_NAMES.index(a) for a in RARE_AUS]


def make_index(lengths=LENGTHS, seed=0, rare_rate=0.08):
    rng = np.random.default_rng(seed)
    n = sum(lengths)
    vids = np.repeat(np.arange(len(lengths)), lengths).astype(np.int32)
    frames = np.concatenate([np.arange(1, k + 1) for k in lengths]).astype(np.int32)
    labels = (rng.random((n, 12)) < 0.3).astype(np.int8)
    labels[:, RARE_COLS] = rng.random((n, len(RARE_COLS))) < rare_rate
    names = [f"v{i}" for i in range(len(lengths))]
    zeros = np.zeros(len(lengths), np.int64)
    report = ReadReport(names, np.asarray(lengths, np.int64), zeros, zeros)
    return FrameIndex("/nowhere", names, names, ["{:05d}.jpg"] * len(names), vids, frames, labels, report)


def test_uniform_part_stride_phase_and_size():
    idx = make_index()
    s = ResampleSampler(idx, uniform_fraction=0.1, rare_fraction=0.0)
    assert s.draw_size == len(s) == sum(n // 10 for n in LENGTHS) == 50
    phases = []
    for epoch in range(6):
        drawn = np.sort(s.draw_all(epoch))
        assert len(np.unique(drawn)) == len(drawn)
        for v, n in enumerate(LENGTHS):
            pos = idx.frames[drawn[idx.video_ids[drawn] == v]] - 1
            assert len(pos) == n // 10
            if len(pos) > 1:
                assert set(np.diff(pos)) == {10}  # a stride of 10 ...
            if len(pos):
                assert pos[0] < 10 and pos[-1] < n
                if v == 4:
                    phases.append(pos[0])
    assert len(set(phases)) > 2  # ... with a random phase that changes between epochs


def test_fraction_half_and_all():
    idx = make_index()
    half = ResampleSampler(idx, uniform_fraction=0.5, rare_fraction=0.0)
    assert half.draw_size == sum(n // 2 for n in LENGTHS)
    every = ResampleSampler(idx, uniform_fraction=1.0, rare_fraction=0.0)
    np.testing.assert_array_equal(np.sort(every.draw_all(3)), np.arange(len(idx)))


def test_rare_part_enriches_rare_aus():
    idx = make_index()
    rare = (idx.labels[:, RARE_COLS] == 1).any(1)
    s = ResampleSampler(idx, uniform_fraction=0.1, rare_fraction=0.2)
    assert s.n_rare == round(rare.sum() * 0.2) and s.draw_size == 50 + s.n_rare
    base = rare.mean()
    for epoch in range(3):
        drawn = s.draw_all(epoch)
        assert rare[drawn].mean() > base + 0.2  # far more rare-AU frames than in the data
    only_rare = ResampleSampler(idx, uniform_fraction=0.0, rare_fraction=1.0)
    drawn = only_rare.draw_all(0)
    assert rare[drawn].all() and np.array_equal(np.sort(drawn), np.flatnonzero(rare))
    # the rare list is configurable: with only AU26 rare, other rare AUs are not enriched
    au26 = ResampleSampler(idx, uniform_fraction=0.0, rare_fraction=1.0, rare_aus=["AU26"])
    assert np.array_equal(np.sort(au26.draw_all(0)), np.flatnonzero(idx.labels[:, 11] == 1))


def test_deterministic_per_seed_and_epoch():
    idx = make_index()
    a = ResampleSampler(idx, seed=3)
    b = ResampleSampler(idx, seed=3)
    c = ResampleSampler(idx, seed=4)
    np.testing.assert_array_equal(a.draw_all(5), b.draw_all(5))
    assert not np.array_equal(a.draw_all(5), a.draw_all(6))
    assert not np.array_equal(a.draw_all(5), c.draw_all(5))
    # iterating advances the epoch; a sampler started at epoch 2 replays epoch 2
    first = list(iter(a))
    second = list(iter(a))
    assert a.epoch == 2 and first != second
    resumed = ResampleSampler(idx, seed=3, start_epoch=1)
    assert list(iter(resumed)) == second


@pytest.mark.parametrize("group_size", [2, 3])
def test_shards_are_disjoint_and_equal(group_size):
    idx = make_index()
    samplers = [ResampleSampler(idx, seed=1, rank=r, group_size=group_size) for r in range(group_size)]
    lengths = {len(s) for s in samplers}
    assert lengths == {samplers[0].draw_size // group_size}
    for epoch in (0, 1):
        full = samplers[0].draw_all(epoch)
        shares = [s.draw(epoch) for s in samplers]
        assert {len(x) for x in shares} == lengths
        # the shares deal out one shuffled draw in turn: no position is served twice, none is lost
        # but the < group_size left over
        np.testing.assert_array_equal(np.stack(shares, 1).ravel(), full[:len(shares[0]) * group_size])


def test_bad_arguments():
    idx = make_index()
    with pytest.raises(ValueError, match="rank 2 outside"):
        ResampleSampler(idx, rank=2, group_size=2)
    with pytest.raises(ValueError, match="unknown rare AU"):
        ResampleSampler(idx, rare_aus=["AU99"])
    with pytest.raises(ValueError, match="fewer than"):
        ResampleSampler(make_index([5]), uniform_fraction=0.1, rare_fraction=0.0)


class Source:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return (np.array([i], np.int64),)


def test_through_generator_dataset_epochs_change():
    """MindSpore copies the sampler and draws ahead; the draws still follow (seed, epoch) and `epoch` advances."""
    idx = make_index()
    sampler = ResampleSampler(idx, seed=7, start_epoch=2)
    dataset = ds.GeneratorDataset(Source(len(idx)), ["i"], sampler=sampler, python_multiprocessing=False)
    assert dataset.get_dataset_size() == len(sampler)
    it = dataset.create_tuple_iterator(num_epochs=3, output_numpy=True)
    seen = [[int(row[0][0]) for row in it] for _ in range(3)]
    for k in range(3):
        assert seen[k] == sampler.draw(2 + k).tolist()
    assert seen[0] != seen[1]
    assert sampler.epoch >= 5


def test_skip_leaves_out_the_start_of_the_draw():
    idx = make_index()
    sampler = ResampleSampler(idx, seed=7, start_epoch=3, skip=20)
    full = ResampleSampler(idx, seed=7)
    assert len(sampler) == len(full) - 20
    assert list(iter(sampler)) == full.draw(3)[20:].tolist()
