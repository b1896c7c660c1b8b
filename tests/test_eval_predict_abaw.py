"""tools/predict_abaw.py: both submission formats on a hand-built tree with missing frames."""
import os
import shutil

import cv2
import numpy as np
import pytest

from mindface_au.constants import ABAW_HEADER
from mindface_au.evaluation import read_abaw5, read_abaw6

from testlib.run import run_command

pytestmark = pytest.mark.slow  # runs of the tools

# video -> frames that have an image (the videos have 6 and 5 frames: gaps at 3 and at the end)
TREE = {"vidA": [1, 2, 4, 5, 6], "vidB_left": [2, 3, 4]}


@pytest.fixture(scope="module")
def tree(tmp_path_factory, tiny_ckpt_real_data):
    base = tmp_path_factory.mktemp("abawtest")
    rng = np.random.default_rng(0)
    for video, frames in TREE.items():
        d = base / "root" / "cropped_aligned" / video
        d.mkdir(parents=True)
        for k in frames:
            cv2.imwrite(str(d / f"{k:05d}.jpg"), rng.integers(0, 255, (112, 112, 3), dtype=np.uint8))
    (base / "videos.txt").write_text("vidA\nvidB_left\n")
    (base / "counts.csv").write_text("video,frames\nvidA,6\nvidB_left,5\n")
    shutil.copy(tiny_ckpt_real_data, base / "m.ckpt")  # decisions at the default --threshold 0.5
    return base


def run(*args):
    res = run_command("predict-abaw", *args)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return res


def test_abaw5_one_file_per_video_with_every_frame(tree):
    out = tree / "sub5"
    run("--ckpt", str(tree / "m.ckpt"), "--root", str(tree / "root"), "--videos", str(tree / "videos.txt"),
        "--frame-counts", str(tree / "counts.csv"), "--format", "abaw5", "--out", str(out))
    assert sorted(os.listdir(out)) == ["vidA.txt", "vidB_left.txt"]
    lines = (out / "vidA.txt").read_text().splitlines()
    assert lines[0] == ABAW_HEADER and len(lines) == 1 + 6
    preds = read_abaw5(str(out))
    assert preds["vidA"].shape == (6, 12) and preds["vidB_left"].shape == (5, 12)
    np.testing.assert_array_equal(preds["vidA"][2], preds["vidA"][1])  # frame 3 (no image) <- frame 2 (tie: earlier)
    np.testing.assert_array_equal(preds["vidB_left"][0], preds["vidB_left"][1])  # frame 1 <- frame 2
    np.testing.assert_array_equal(preds["vidB_left"][4], preds["vidB_left"][3])  # frame 5 <- frame 4


def test_abaw6_predictions_in_template_order(tree):
    template = tree / "template.txt"
    locations = ["vidB_left/00005.jpg", "vidA/00001.jpg", "vidA/00003.jpg"]
    template.write_text("image_location,AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26\n" +
                        "".join(f"{loc}\n" for loc in locations))
    out = tree / "predictions.txt"
    run("--ckpt", str(tree / "m.ckpt"), "--root", str(tree / "root"), "--frame-counts", str(tree / "counts.csv"),
        "--format", "abaw6", "--template", str(template), "--out", str(out))
    locs, preds = read_abaw6(str(out))
    assert list(locs) == locations and preds.shape == (3, 12) and set(np.unique(preds)) <= {0, 1}
    abaw5 = read_abaw5(str(tree / "sub5")) if (tree / "sub5").exists() else None
    if abaw5 is not None:
        np.testing.assert_array_equal(preds[1], abaw5["vidA"][0])


def test_missing_video_is_named(tree):
    (tree / "bad.txt").write_text("vidA\nvidC\n")
    res = run_command("predict-abaw", "--ckpt", str(tree / "m.ckpt"), "--root", str(tree / "root"),
                      "--videos", str(tree / "bad.txt"), "--out", str(tree / "x"))
    assert res.returncode == 2 and "vidC" in res.stderr
