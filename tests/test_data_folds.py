"""k-fold splits by video: no video in two folds, pairs together, rare positives spread, list files round trip."""
import json
import os

import numpy as np
import pytest

from mindface_au.constants import AU_NAMES, RARE_AUS
from mindface_au.data import FrameIndex, ReadReport, make_folds, read_list_file
from mindface_au.data.folds import clip_of, write_folds

from testlib.run import run_command


def make_index(n_videos=22, seed=0):
    rng = np.random.default_rng(seed)
    names = [f"clip{i:02d}" for i in range(n_videos - 4)] + ["duo1_left", "duo1_right", "duo2_left", "duo2_right"]
    lengths = rng.integers(20, 200, n_videos)
    vids = np.repeat(np.arange(n_videos), lengths).astype(np.int32)
    frames = np.concatenate([np.arange(1, k + 1) for k in lengths]).astype(np.int32)
    labels = (rng.random((len(vids), 12)) < 0.3).astype(np.int8)
    for a in RARE_AUS:  # rare AUs: positives in a few videos only
        j = AU_NAMES.index(a)
        labels[:, j] = 0
        for v in rng.choice(n_videos, 6, replace=False):
            labels[vids == v, j] = rng.random((vids == v).sum()) < 0.5
    zeros = np.zeros(n_videos, np.int64)
    return FrameIndex("/data", names, [f"cropped_aligned/{n}" for n in names], ["{:05d}.jpg"] * n_videos, vids,
                      frames, labels, ReadReport(names, lengths.astype(np.int64), zeros, zeros))


@pytest.mark.parametrize("k", [2, 4, 5])
def test_folds_by_video(k):
    idx = make_index()
    folds = make_folds(idx, k, seed=0)
    assert folds.shape == (idx.num_videos,)
    assert set(folds.tolist()) == set(range(k))  # every fold has videos, each video exactly one fold
    fold_of = dict(zip(idx.video_names, folds.tolist()))
    assert fold_of["duo1_left"] == fold_of["duo1_right"] and fold_of["duo2_left"] == fold_of["duo2_right"]
    # rare-AU positives spread: no fold holds most of an AU's positives, frames balanced
    frame_fold = folds[idx.video_ids]
    for a in RARE_AUS:
        pos = idx.labels[:, AU_NAMES.index(a)] == 1
        share = np.bincount(frame_fold[pos], minlength=k) / pos.sum()
        assert share.max() < 1.0 / k + 0.35, (a, share)
        assert (share > 0).sum() >= min(k, 3), (a, share)
    frames = np.bincount(frame_fold, minlength=k) / len(idx)
    assert frames.max() < 1.0 / k + 0.2


def test_deterministic_from_seed():
    idx = make_index()
    np.testing.assert_array_equal(make_folds(idx, 4, seed=3), make_folds(idx, 4, seed=3))
    assert any(not np.array_equal(make_folds(idx, 4, seed=3), make_folds(idx, 4, seed=s)) for s in range(4, 8))


def test_errors_and_clip_names():
    assert clip_of("10-60-1280x720_left") == "10-60-1280x720" and clip_of("video_leftover") == "video_leftover"
    with pytest.raises(ValueError, match="cannot make 30 folds"):
        make_folds(make_index(), 30)


def test_write_folds_round_trip(tmp_path):
    idx = make_index()
    folds = make_folds(idx, 4)
    summary = write_folds(idx, folds, str(tmp_path), plot=True)
    assert os.path.isfile(tmp_path / "folds.png") and os.path.isfile(tmp_path / "folds.json")
    val_videos = []
    for f in range(4):
        tr = read_list_file(str(tmp_path / f"fold{f}" / "train.txt"), "/data", check_images=False, use_cache=False)
        va = read_list_file(str(tmp_path / f"fold{f}" / "val.txt"), "/data", check_images=False, use_cache=False)
        assert len(tr) + len(va) == len(idx)
        assert not set(tr.video_names) & set(va.video_names)  # no video on both sides
        assert va.paths[0].startswith("cropped_aligned/")
        val_videos += va.video_names
        assert sorted(summary["folds"][f"fold{f}"]["videos"]) == sorted(v.split("/")[-1] for v in va.video_names)
    assert len(val_videos) == len(set(val_videos)) == idx.num_videos


@pytest.mark.slow
def test_make_folds_tool(tmp_path, synthetic_abaw):
    root = synthetic_abaw(8, 12, seed=0)
    out = str(tmp_path / "folds")
    run = run_command("make-folds", "--root", root, "--folds", "3", "--out", out)
    assert run.returncode == 0, run.stderr
    with open(os.path.join(out, "folds.json")) as f:
        summary = json.load(f)
    videos = [v for fold in summary["folds"].values() for v in fold["videos"]]
    assert len(videos) == len(set(videos)) == 8  # every video once
    pair = [name for name, fold in summary["folds"].items() if "synth-001_left" in fold["videos"]]
    assert "synth-001_right" in summary["folds"][pair[0]]["videos"]  # the two people of a clip together
    idx = read_list_file(os.path.join(out, "fold0", "val.txt"), root, use_cache=False)
    assert len(idx) > 0 and idx.report.totals()["missing"] == 0
    bad = run_command("make-folds", "--root", str(tmp_path), "--out", out)
    assert bad.returncode == 2 and "not an ABAW AU layout" in bad.stderr
