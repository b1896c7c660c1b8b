"""ABAW5 and ABAW6 submission files on a hand-built cropped_aligned tree with missing frames."""
import os

import numpy as np
import pytest

from mindface_au.constants import ABAW_HEADER
from mindface_au.evaluation import (ABAW6_HEADER, abaw6_rows, apply_postprocess, fill_missing_frames, image_location,
                                    parse_image_location, read_abaw5, read_abaw5_file, read_abaw6,
                                    read_abaw6_locations, write_abaw5, write_abaw6)


def _one_hot_rows(n):
    """Frame t's prediction has a 1 in column t-1 (mod 12): every frame's row is distinguishable."""
    p = np.zeros((n, 12), dtype=np.int64)
    p[np.arange(n), np.arange(n) % 12] = 1
    return p


@pytest.fixture
def tree(tmp_path):
    """cropped_aligned/<video>/<k:05d>.jpg with some frames missing, plus each video's true frame count."""
    present = {"vidA": [1, 2, 4, 6], "vidB_left": [3, 5], "vidC": [1]}
    n_frames = {"vidA": 8, "vidB_left": 5, "vidC": 3}
    root = tmp_path / "cropped_aligned"
    for video, frames in present.items():
        (root / video).mkdir(parents=True)
        for k in frames:
            (root / video / f"{k:05d}.jpg").write_bytes(b"")
    return root, n_frames


def _scan(root):
    """What predict_abaw would do: list the images, 'predict' one row per image."""
    videos = sorted(os.listdir(root))
    frames = [np.array(sorted(int(f[:-4]) for f in os.listdir(root / v))) for v in videos]
    preds = [_one_hot_rows(f.max())[f - 1] for f in frames]  # the prediction of frame t is row t
    return videos, frames, preds


# expected nearest frame for every frame (ties -> the earlier frame)
EXPECTED_SOURCE = {"vidA": [1, 2, 2, 4, 4, 6, 6, 6], "vidB_left": [3, 3, 3, 3, 5], "vidC": [1, 1, 1]}


def test_fill_missing_frames_nearest_earlier_on_ties():
    full = fill_missing_frames(np.array([6, 1, 4, 2]), _one_hot_rows(6)[[5, 0, 3, 1]], 8)
    np.testing.assert_array_equal(full, _one_hot_rows(8)[np.array(EXPECTED_SOURCE["vidA"]) - 1])
    with pytest.raises(ValueError, match="more than once"):
        fill_missing_frames([1, 1], np.zeros((2, 12)), 3)
    with pytest.raises(ValueError, match=r"lie in 1..3"):
        fill_missing_frames([1, 4], np.zeros((2, 12)), 3)


def test_abaw5_round_trip_on_tree(tree, tmp_path):
    root, n_frames = tree
    videos, frames, preds = _scan(root)
    out = tmp_path / "abaw5"
    paths = write_abaw5(str(out), videos, frames, preds, [n_frames[v] for v in videos])
    assert sorted(os.path.basename(p) for p in paths) == sorted(f"{v}.txt" for v in videos)
    text = (out / "vidC.txt").read_text()
    assert text == ABAW_HEADER + "\n" + "1,0,0,0,0,0,0,0,0,0,0,0\n" * 3
    back = read_abaw5(str(out))
    assert sorted(back) == sorted(videos)
    for v in videos:
        src = np.array(EXPECTED_SOURCE[v])
        np.testing.assert_array_equal(back[v], _one_hot_rows(12)[src - 1], err_msg=v)
    assert not [f for f in os.listdir(out) if f.startswith(".")]  # no temporary files left


def test_abaw6_round_trip_on_tree(tree, tmp_path):
    root, n_frames = tree
    videos, frames, preds = _scan(root)
    locations, rows = abaw6_rows(videos, frames, preds, [n_frames[v] for v in videos])
    assert locations[:3] == ["vidA/00001.jpg", "vidA/00002.jpg", "vidA/00003.jpg"]
    assert len(locations) == sum(n_frames.values())
    path = write_abaw6(str(tmp_path), locations, rows)
    assert os.path.basename(path) == "predictions.txt"
    lines = open(path).read().splitlines()
    assert lines[0] == "image_location,AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26" == ABAW6_HEADER
    assert lines[3] == "vidA/00003.jpg,0,1,0,0,0,0,0,0,0,0,0,0"  # missing frame 3 <- frame 2 (tie, earlier)
    locs_back, preds_back = read_abaw6(path)
    assert locs_back == locations
    for loc, row in zip(locs_back, preds_back):
        video, frame = parse_image_location(loc)
        src = EXPECTED_SOURCE[video][frame - 1]
        np.testing.assert_array_equal(row, _one_hot_rows(12)[src - 1], err_msg=loc)
    assert read_abaw6_locations(path) == locations


def test_submission_from_probabilities_with_postprocessing(tree, tmp_path):
    """The path predict_abaw takes: probabilities -> smoothing -> 0/1 -> files."""
    root, n_frames = tree
    videos, frames, _ = _scan(root)
    rng = np.random.default_rng(0)
    probs = [rng.random((f.size, 12)) for f in frames]
    vid_ids = np.concatenate([[v] * f.size for v, f in zip(videos, frames)])
    binary = apply_postprocess(np.concatenate(probs), vid_ids, 2, 1, 0.5)
    split = np.split(binary, np.cumsum([f.size for f in frames])[:-1])
    write_abaw5(str(tmp_path / "s"), videos, frames, split, [n_frames[v] for v in videos])
    back = read_abaw5(str(tmp_path / "s"))
    for v, f, b in zip(videos, frames, split):
        np.testing.assert_array_equal(back[v][f - 1], b)


def test_readers_accept_bom_crlf_and_name_bad_lines(tmp_path):
    good = tmp_path / "v.txt"
    good.write_bytes(("\ufeff" + ABAW_HEADER + "\r\n" + "0,1,0,0,0,0,0,0,0,0,-1,1\r\n\r\n").encode("utf-8"))
    np.testing.assert_array_equal(read_abaw5_file(str(good)), [[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, -1, 1]])
    with pytest.raises(ValueError, match="is not one of 0, 1"):
        read_abaw5_file(str(good), allow_unannotated=False)
    bad = tmp_path / "bad.txt"
    bad.write_text(ABAW_HEADER + "\n" + "0,0,0,0,0,0,0,0,0,0,0,0\n" + "0,0,0,0,0,0,2,0,0,0,0,0\n")
    with pytest.raises(ValueError, match=r"bad\.txt:3: value '2' for AU12"):
        read_abaw5_file(str(bad))
    short = tmp_path / "short.txt"
    short.write_text(ABAW_HEADER + "\n0,0,0\n")
    with pytest.raises(ValueError, match=r"short\.txt:2: expected 12 values, got 3"):
        read_abaw5_file(str(short))
    header = tmp_path / "header.txt"
    header.write_text("AU1,AU2\n")
    with pytest.raises(ValueError, match=r"header\.txt:1: expected the header"):
        read_abaw5_file(str(header))
    template = tmp_path / "template.txt"
    template.write_text(ABAW6_HEADER + "\nvid/00001.jpg,\nvid/00002.jpg,\n")
    assert read_abaw6_locations(str(template)) == ["vid/00001.jpg", "vid/00002.jpg"]


def test_writer_errors(tmp_path):
    target = tmp_path / "predictions.txt"
    with pytest.raises(ValueError, match="0/1"):
        write_abaw6(str(target), ["a/00001.jpg"], np.full((1, 12), 0.7))
    with pytest.raises(ValueError, match="2 videos, 1 frame arrays"):
        write_abaw5(str(tmp_path / "s"), ["a", "b"], [np.array([1])], [np.zeros((1, 12))] * 2)
    with pytest.raises(ValueError, match="video b: frame numbers must lie in 1..2"):
        write_abaw5(str(tmp_path / "s"), ["a", "b"], [np.array([1]), np.array([3])], [np.zeros((1, 12))] * 2, [1, 2])
    assert not target.exists()
    assert not (tmp_path / "s").exists()  # nothing written when any video is bad
    with pytest.raises(ValueError, match="invalid video name"):
        image_location("a/b", 1)
    assert parse_image_location("x_left/00012.jpg") == ("x_left", 12)
