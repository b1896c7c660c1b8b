"""Per-AU F1, threshold search and the all-positive baseline."""
import numpy as np
import pytest

from mindface_au.constants import THRESHOLD_GRID
from mindface_au.evaluation import (all_positive_f1, best_thresholds, binarize, binary_f1, f1_over_grid,
                                    f1_per_au, mean_f1)


def test_f1_hand_computed_cases():
    labels = np.array([[1, 0, 1, 0],
                       [1, 0, 1, 0],
                       [0, 0, 0, 1],
                       [0, 0, 0, 1]])
    probs = np.array([[0.9, 0.1, 0.5, 0.2],
                      [0.4, 0.2, 0.7, 0.3],
                      [0.6, 0.3, 0.49, 0.1],
                      [0.1, 0.4, 0.0, 0.2]])
    f1 = f1_per_au(probs, labels)
    # AU0: pred 1,0,1,0 -> TP 1, FP 1, FN 1 -> 2/4
    # AU1: no positive label, no positive prediction -> 0 (zero_division=0)
    # AU2: 0.5 counts as positive (>=): pred 1,1,0,0 -> perfect
    # AU3: nothing predicted, 2 positives -> 0
    np.testing.assert_allclose(f1, [0.5, 0.0, 1.0, 0.0])
    assert mean_f1(probs, labels) == pytest.approx(0.375)

    # per-AU thresholds: AU0 at 0.35 -> pred 1,1,1,0: TP 2 FP 1 FN 0 -> 4/5;
    # AU3 at 0.15 -> pred 1,1,0,1: TP 1 FP 2 FN 1 -> 2/5
    f1_t = f1_per_au(probs, labels, thresholds=[0.35, 0.5, 0.5, 0.15])
    np.testing.assert_allclose(f1_t, [0.8, 0.0, 1.0, 0.4])


def test_f1_ignores_unannotated_entries_per_au():
    rng = np.random.default_rng(1)
    labels = (rng.random((200, 12)) < 0.3).astype(np.int64)
    probs = rng.random((200, 12))
    masked = labels.copy()
    masked[rng.random((200, 12)) < 0.2] = -1
    f1 = f1_per_au(probs, masked, 0.4)
    for j in range(12):
        keep = masked[:, j] >= 0
        pred = probs[keep, j] >= 0.4
        y = masked[keep, j]
        tp = np.sum(pred & (y == 1))
        expected = 2 * tp / (pred.sum() + y.sum())
        assert f1[j] == pytest.approx(expected)
    # the mask matters: the unmasked labels give a different answer
    assert not np.allclose(f1, f1_per_au(probs, labels, 0.4))


def test_binary_f1_matches_sklearn_path():
    rng = np.random.default_rng(2)
    labels = (rng.random((300, 12)) < 0.25).astype(np.int64)
    labels[rng.random((300, 12)) < 0.1] = -1
    preds = (rng.random((300, 12)) < 0.3).astype(np.int8)
    preds[:, 5] = 0  # an AU never predicted
    np.testing.assert_allclose(binary_f1(preds, labels), f1_per_au(preds, labels), atol=1e-12)


def test_best_thresholds_equal_brute_force():
    rng = np.random.default_rng(3)
    n = 400
    labels = (rng.random((n, 12)) < rng.uniform(0.05, 0.5, 12)).astype(np.int64)
    labels[rng.random((n, 12)) < 0.05] = -1
    # probabilities on the 0.05 grid, so many equal a threshold exactly (tests the >= boundary)
    probs = np.round(np.clip(0.5 * labels + rng.random((n, 12)) * 0.7, 0, 1) * 20) / 20
    thr, f1 = best_thresholds(probs, labels)
    table = np.stack([f1_per_au(probs, labels, t) for t in THRESHOLD_GRID])
    np.testing.assert_allclose(f1_over_grid(probs, labels), table, atol=1e-12)
    best = table.argmax(axis=0)  # first maximum = lowest threshold
    np.testing.assert_allclose(thr, np.asarray(THRESHOLD_GRID)[best])
    np.testing.assert_allclose(f1, table.max(axis=0), atol=1e-12)
    np.testing.assert_allclose(f1_per_au(probs, labels, thr), f1, atol=1e-12)


def test_all_positive_baseline():
    labels = np.array([[1, 0, 0], [0, 0, 1], [1, 0, -1], [1, 0, 0]])
    # AU0: P 3 of 4 -> 6/7; AU1: no positives -> 0; AU2: P 1 of 3 annotated -> 2/4
    np.testing.assert_allclose(all_positive_f1(labels), [6 / 7, 0.0, 0.5])


def test_bad_inputs_give_clear_errors():
    with pytest.raises(ValueError, match="labels must be 0, 1 or -1.*row 1, column 0"):
        f1_per_au(np.zeros((2, 2)), np.array([[0, 1], [2, 0]]))
    with pytest.raises(ValueError, match="does not match"):
        f1_per_au(np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        binarize(np.zeros((2, 3)), [0.5, 0.5])


def test_saved_predictions_round_trip_and_rescore(tmp_path):
    from mindface_au.evaluation import load_predictions, save_predictions

    rng = np.random.default_rng(6)
    probs = rng.random((40, 12)).astype(np.float32)
    labels = (rng.random((40, 12)) < 0.3).astype(np.int8)
    labels[0, 3] = -1
    vids = np.repeat(["vid_a", "vid_b_left"], 20)
    path = save_predictions(str(tmp_path / "val_probs.npz"), probs, labels, vids, np.tile(np.arange(1, 21), 2),
                            meta={"thresholds": np.full(12, 0.4), "ckpt": "best.ckpt"})
    back = load_predictions(path)
    np.testing.assert_array_equal(back["probs"], probs)
    np.testing.assert_array_equal(back["labels"], labels)
    assert back["video_ids"].tolist() == vids.tolist()
    assert back["frames"][-1] == 20 and back["meta"]["ckpt"] == "best.ckpt"
    assert f1_per_au(back["probs"], back["labels"], back["meta"]["thresholds"]).tolist() == \
        f1_per_au(probs, labels, 0.4).tolist()
    only = load_predictions(save_predictions(str(tmp_path / "p.npz"), probs))
    assert only["labels"] is None and only["meta"] == {}
    with pytest.raises(ValueError, match=r"labels must have shape \(40, 12\)"):
        save_predictions(str(tmp_path / "bad.npz"), probs, labels[:5])
