"""Temporal smoothing against naive per-frame loops, with video boundaries, clipped ends and ties."""
import numpy as np
import pytest

from mindface_au.evaluation import (apply_postprocess, best_sweep_row, binarize, f1_per_au, read_sweep_csv,
                                    smooth_labels, smooth_probs, sweep, write_sweep_csv)

LENGTHS = {"v_long": 40, "v_one": 1, "v_two": 2, "v_mid": 17, "v_five": 5, "v_one_b": 1}


def _frames(seed, interleave):
    """Video ids of frames from LENGTHS, either as shuffled contiguous blocks or randomly interleaved
    (each video's frames keep their temporal order in both cases)."""
    rng = np.random.default_rng(seed)
    names = list(LENGTHS)
    if not interleave:
        rng.shuffle(names)
        return np.array([v for v in names for _ in range(LENGTHS[v])])
    pool = np.array([v for v in names for _ in range(LENGTHS[v])])
    return pool[rng.permutation(pool.size)]  # the t-th occurrence of a video is its frame t


def _windows_naive(video_ids, i, k):
    """Array positions of frame i's window, by a plain loop over its video's frames."""
    same = [j for j in range(len(video_ids)) if video_ids[j] == video_ids[i]]
    r = same.index(i)
    return same[max(0, r - k): r + k + 1], (r - k >= 0 and r + k < len(same))


def _naive_probs(probs, video_ids, k, edges="clip"):
    out = np.empty_like(probs, dtype=np.float64)
    for i in range(len(video_ids)):
        win, full = _windows_naive(video_ids, i, k)
        out[i] = probs[i] if (edges == "keep" and not full) else probs[win].mean(axis=0)
    return out


def _naive_labels(binary, video_ids, k, tie, edges="clip"):
    out = np.empty_like(binary)
    for i in range(len(video_ids)):
        win, full = _windows_naive(video_ids, i, k)
        if edges == "keep" and not full:
            out[i] = binary[i]
            continue
        for j in range(binary.shape[1]):
            ones = int(binary[win, j].sum())
            zeros = len(win) - ones
            if ones != zeros:
                out[i, j] = int(ones > zeros)
            else:
                out[i, j] = {"keep": binary[i, j], "positive": 1, "negative": 0}[tie]
    return out


@pytest.mark.parametrize("interleave", [False, True])
@pytest.mark.parametrize("k", [0, 1, 3, 8, 50])
def test_smooth_probs_matches_naive_loop(interleave, k):
    vids = _frames(k, interleave)
    probs = np.random.default_rng(10 + k).random((vids.size, 12))
    for edges in ("clip", "keep"):
        np.testing.assert_allclose(smooth_probs(probs, vids, k, edges=edges), _naive_probs(probs, vids, k, edges),
                                   atol=1e-12)


@pytest.mark.parametrize("interleave", [False, True])
@pytest.mark.parametrize("k", [1, 2, 6])
def test_smooth_labels_matches_naive_loop(interleave, k):
    vids = _frames(100 + k, interleave)
    binary = (np.random.default_rng(k).random((vids.size, 12)) < 0.45).astype(np.int8)
    for tie in ("keep", "positive", "negative"):
        for edges in ("clip", "keep"):
            np.testing.assert_array_equal(smooth_labels(binary, vids, k, tie=tie, edges=edges),
                                          _naive_labels(binary, vids, k, tie, edges), err_msg=f"{tie} {edges}")


def test_label_ties_hand_cases():
    # one video of 2 frames, k = 1: both frames see the clipped window [1, 0] -> a 1:1 tie
    vids = np.array([7, 7])
    b = np.array([[1], [0]])
    np.testing.assert_array_equal(smooth_labels(b, vids, 1, tie="keep"), [[1], [0]])
    np.testing.assert_array_equal(smooth_labels(b, vids, 1, tie="positive"), [[1], [1]])
    np.testing.assert_array_equal(smooth_labels(b, vids, 1, tie="negative"), [[0], [0]])
    # 5 frames, k = 1: windows {0,1} {0,1,2} {1,2,3} {2,3,4} {3,4}
    b = np.array([[0], [1], [1], [0], [1]])
    vids = np.zeros(5, dtype=int)
    # frame 0: 0,1 tie; 1: 0,1,1 -> 1; 2: 1,1,0 -> 1; 3: 1,0,1 -> 1; 4: 0,1 tie
    np.testing.assert_array_equal(smooth_labels(b, vids, 1, tie="keep")[:, 0], [0, 1, 1, 1, 1])
    np.testing.assert_array_equal(smooth_labels(b, vids, 1, tie="positive")[:, 0], [1, 1, 1, 1, 1])
    np.testing.assert_array_equal(smooth_labels(b, vids, 1, tie="negative")[:, 0], [0, 1, 1, 1, 0])
    # with edges='keep' only frames 1..3 (full windows) change
    np.testing.assert_array_equal(smooth_labels(b, vids, 1, edges="keep")[:, 0], [0, 1, 1, 1, 1])


def test_windows_never_cross_videos():
    vids = np.array(["a"] * 6 + ["b"] * 6 + ["a"] * 0)
    probs = np.concatenate([np.zeros((6, 12)), np.ones((6, 12))])
    np.testing.assert_array_equal(smooth_probs(probs, vids, 4), probs)
    np.testing.assert_array_equal(smooth_labels(probs.astype(int), vids, 4), probs.astype(int))
    # hand case with clipped ends: one video [0, 3, 6, 9], k = 1 -> [1.5, 3, 6, 7.5]
    out = smooth_probs(np.array([[0.0], [3.0], [6.0], [9.0]]), np.zeros(4), 1)
    np.testing.assert_allclose(out[:, 0], [1.5, 3.0, 6.0, 7.5])


def test_apply_postprocess_composes_the_steps():
    vids = _frames(5, interleave=True)
    probs = np.random.default_rng(6).random((vids.size, 12))
    thr = np.linspace(0.3, 0.6, 12)
    expected = smooth_labels(binarize(smooth_probs(probs, vids, 8), thr), vids, 6)
    np.testing.assert_array_equal(apply_postprocess(probs, vids, 8, 6, thr), expected)
    np.testing.assert_array_equal(apply_postprocess(probs, vids, 0, None, thr), binarize(probs, thr))


def _temporal_data(seed=0, videos=6, frames=120):
    """Labels in long episodes and noisy probabilities around them: smoothing should help."""
    rng = np.random.default_rng(seed)
    vids, labels = [], []
    for v in range(videos):
        lab = np.zeros((frames, 12), dtype=np.int64)
        for j in range(12):
            for _ in range(3):
                s = rng.integers(0, frames - 20)
                lab[s: s + rng.integers(10, 30), j] = 1
        vids += [f"vid{v}"] * frames
        labels.append(lab)
    labels = np.concatenate(labels)
    probs = np.clip(0.25 + 0.5 * labels + rng.normal(0, 0.3, labels.shape), 0, 1)
    return probs, labels, np.array(vids)


def test_sweep_rows_and_csv_round_trip(tmp_path):
    probs, labels, vids = _temporal_data()
    rows = sweep(probs, labels, vids, ks=range(1, 4), progress=False)
    assert [r["method"] for r in rows] == ["none"] + ["prob"] * 3 + ["label"] * 3 + ["prob+label"] * 3
    assert rows[0]["mean_f1"] == pytest.approx(f1_per_au(probs, labels).mean())
    r = rows[2]  # prob, k = 2
    assert (r["prob_k"], r["label_k"]) == (2, 0)
    assert r["mean_f1"] == pytest.approx(f1_per_au(smooth_probs(probs, vids, 2), labels).mean())
    r = rows[-1]  # prob 8 then label 3
    assert (r["prob_k"], r["label_k"]) == (8, 3)
    ref = f1_per_au(apply_postprocess(probs, vids, 8, 3), labels)
    assert r["mean_f1"] == pytest.approx(ref.mean())
    assert r["AU26"] == pytest.approx(ref[-1])
    # on temporally smooth labels with frame noise every smoothing beats none
    assert all(row["mean_f1"] > rows[0]["mean_f1"] for row in rows[1:])
    assert best_sweep_row(rows)["method"] != "none"

    path = write_sweep_csv(rows, str(tmp_path / "sweep.csv"))
    back = read_sweep_csv(path)
    assert [b["method"] for b in back] == [r["method"] for r in rows]
    np.testing.assert_allclose([b["mean_f1"] for b in back], [r["mean_f1"] for r in rows], atol=1e-6)


def test_smoothing_bad_inputs():
    with pytest.raises(ValueError, match="k must be an integer >= 0"):
        smooth_probs(np.zeros((3, 12)), np.zeros(3), -1)
    with pytest.raises(ValueError, match=r"video_ids must have shape \(3,\)"):
        smooth_probs(np.zeros((3, 12)), np.zeros(4), 1)
    with pytest.raises(ValueError, match="only 0 and 1"):
        smooth_labels(np.full((3, 12), 0.5), np.zeros(3), 1)
    with pytest.raises(ValueError, match="tie must be one of"):
        smooth_labels(np.zeros((3, 12)), np.zeros(3), 1, tie="maybe")
