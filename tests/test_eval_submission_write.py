"""write_submission / read_frame_counts / order_by_template and evaluate_predictions, on hand-made arrays."""
import json

import numpy as np
import pytest

from mindface_au.evaluation import resolve_thresholds
from mindface_au.constants import ABAW_HEADER
from mindface_au.evaluation import (ABAW6_HEADER, evaluate_predictions, order_by_template, read_abaw5, read_abaw6,
                                    read_frame_counts, write_submission)

# two videos, frames in index order; vidA has no image for frame 3, vidB none for frame 1
VIDEO_IDS = np.array(["vidB", "vidB", "vidA", "vidA", "vidA"])
FRAMES = np.array([2, 3, 1, 2, 4])
PREDS = np.zeros((5, 12), np.int8)
PREDS[:, 0] = [1, 0, 1, 0, 1]  # AU1 tells the rows apart


def test_frame_counts_csv_header_comments_and_errors(tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text("video,frames\n# a comment\nvidA,5\n\nvidB, 3\n")
    assert read_frame_counts(str(path)) == {"vidA": 5, "vidB": 3}
    path.write_text("vidA,5\nvidB,three\n")
    with pytest.raises(ValueError, match=r"counts.csv:2: expected 'video,frames', got 'vidB,three'"):
        read_frame_counts(str(path))


def test_abaw5_fills_gaps_up_to_the_frame_counts(tmp_path):
    out = tmp_path / "sub"
    written = write_submission(str(out), "abaw5", VIDEO_IDS, FRAMES, PREDS, {"vidA": 5})
    assert written["videos"] == 2 and written["rows"] == 5 + 3  # vidA: counted 5; vidB: its last frame, 3
    got = read_abaw5(str(out))
    assert (out / "vidA.txt").read_text().splitlines()[0] == ABAW_HEADER
    # vidA frames 1..5 <- 1, 2, 2 (tie at 3: the earlier), 4, 4; vidB frames 1..3 <- 2, 2, 3
    np.testing.assert_array_equal(got["vidA"][:, 0], [1, 0, 0, 1, 1])
    np.testing.assert_array_equal(got["vidB"][:, 0], [1, 1, 0])


def test_abaw6_rows_follow_the_template_and_a_missing_location_is_named(tmp_path):
    template = tmp_path / "template.txt"
    template.write_text(ABAW6_HEADER + "\nvidA/00004.jpg\nvidB/00001.jpg\nvidA/00001.jpg\n")
    out = tmp_path / "predictions.txt"
    written = write_submission(str(out), "abaw6", VIDEO_IDS, FRAMES, PREDS, template=str(template))
    locations, preds = read_abaw6(written["paths"][0])
    assert locations == ["vidA/00004.jpg", "vidB/00001.jpg", "vidA/00001.jpg"]
    np.testing.assert_array_equal(preds[:, 0], [1, 1, 1])
    template.write_text(ABAW6_HEADER + "\nvidA/00009.jpg\n")
    with pytest.raises(ValueError, match=r"template.txt: 1 image locations have no prediction, e.g. \['vidA/00009.jpg'\]"):
        write_submission(str(out), "abaw6", VIDEO_IDS, FRAMES, PREDS, template=str(template))
    with pytest.raises(ValueError, match="abaw6 format only"):
        write_submission(str(tmp_path / "x"), "abaw5", VIDEO_IDS, FRAMES, PREDS, template=str(template))


def test_order_by_template_leaves_out_unlisted_rows(tmp_path):
    template = tmp_path / "t.txt"
    template.write_text(ABAW6_HEADER + "\nb/00001.jpg\n")
    locs, preds = order_by_template(["a/00001.jpg", "b/00001.jpg"], np.array([[0] * 12, [1] * 12]), str(template))
    assert locs == ["b/00001.jpg"] and preds.tolist() == [[1] * 12]


def test_evaluate_predictions_writes_a_result_whose_thresholds_the_tools_reuse(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, (40, 12)).astype(np.int8)
    probs = np.clip(0.6 * labels + 0.4 * rng.random((40, 12)), 0, 1).astype(np.float32)
    pred = {"probs": probs, "labels": labels, "video_ids": np.repeat(["v1", "v2"], 20)}
    result = evaluate_predictions(pred, str(tmp_path), 0.5, sources=["m.ckpt"])
    saved = json.load(open(tmp_path / "eval_result.json"))
    assert saved["frames"] == 40 and saved["videos"] == 2 and saved["checkpoints"] == ["m.ckpt"]
    assert saved["mean_f1"] == pytest.approx(result["mean_f1"]) and (tmp_path / "eval_f1_per_au.png").stat().st_size
    assert min(saved["best_threshold_per_au_f1"][j] - saved["per_au_f1"][j] for j in range(12)) >= 0
    np.testing.assert_allclose(resolve_thresholds(str(tmp_path / "eval_result.json")), saved["thresholds"])
