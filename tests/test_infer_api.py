"""AUDetector, the Python API: tables (pandas DataFrames) from images, arrays, videos and folders, through
the same loop as tools/infer.py (identical CSV bytes)."""
import os
import shutil
import warnings

import cv2
import numpy as np
import pandas as pd
import pytest

from mindface_au.inference import AUDetector, AUTable
from mindface_au.inference.table import CsvLayout, csv_columns

from testlib.faces import feat_file
from testlib.infer import THRESHOLDS
from testlib.run import run_command

pytestmark = pytest.mark.slow  # real videos through the network and the infer tool


@pytest.fixture(scope="module")
def ckpt(tiny_ckpt):
    return tiny_ckpt


@pytest.fixture(scope="module")
def real_ckpt(tiny_ckpt_real_data):
    return tiny_ckpt_real_data


@pytest.fixture(scope="module")
def detector(ckpt):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return AUDetector(model=ckpt)


def test_detect_video_returns_one_row_per_frame_of_a_real_video(detector):
    video = feat_file("single_face.mp4")
    table = detector.detect_video(video)
    assert isinstance(table, AUTable) and isinstance(table, pd.DataFrame)
    assert list(table.columns) == csv_columns()
    n = int(cv2.VideoCapture(video).get(cv2.CAP_PROP_FRAME_COUNT))
    assert len(table) == n == 72 and table["frame"].tolist() == list(range(1, 73))
    assert (table["success"] == 1).all() and table["timestamp"].is_monotonic_increasing
    probs = table.filter(regex=r"_p$").to_numpy()
    assert probs.shape == (72, 12) and ((probs > 0) & (probs < 1)).all()
    # decisions are taken on the network's probabilities; the table rounds those to 4 decimals as the CSV does
    clear = np.abs(probs - 0.5) > 1e-4
    np.testing.assert_array_equal(table.filter(regex=r"_c$").to_numpy()[clear], (probs >= 0.5)[clear])
    assert table.attrs["fps"] == pytest.approx(30.0)
    # pandas operations keep the type and its helpers
    assert isinstance(table[table.success == 1], AUTable)


def test_detect_video_matches_the_cli_csv_byte_for_byte(detector, ckpt, tmp_path):
    video = feat_file("single_face.mp4")
    res = run_command("infer", "--no-progress", video, "--ckpt", ckpt, "--out", tmp_path, "--skip-frames", "3", "--smooth", "prob=8,label=4")
    assert res.returncode == 0, res.stderr[-3000:]
    table = detector.detect_video(video, skip_frames=3, smooth="prob=8,label=4")
    assert len(table) == 18 and "AU12_p_smooth" in table and "AU12_c_smooth" in table
    written = table.to_csv(str(tmp_path / "api.csv"))
    assert written == str(tmp_path / "api.csv")
    cli = open(tmp_path / "single_face.csv", encoding="utf-8").read()
    assert open(written, encoding="utf-8").read() == cli == table.to_csv()
    png = table.plot_timeline(str(tmp_path / "t.png"))
    assert os.path.getsize(png) > 1000


def test_detect_image_path_and_array_agree_and_thresholds(ckpt, detector):
    path = feat_file("single_face.jpg")
    from_path = detector.detect_image(path)
    bgr = cv2.imread(path)
    from_bgr = detector.detect_image(bgr)
    from_rgb = detector.detect_image(bgr[:, :, ::-1].copy(), rgb=True)
    assert len(from_path) == 1 and from_path["success"].tolist() == [1]
    for other in (from_bgr, from_rgb):
        np.testing.assert_array_equal(other.filter(like="_p").to_numpy(), from_path.filter(like="_p").to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        saved = AUDetector(model=ckpt, threshold="ckpt", csv_format="openface")
    table = saved.detect_image(path)
    layout = CsvLayout("openface")
    assert list(table.columns) == layout.columns
    p = table[layout.p_columns].to_numpy()[0]
    clear = np.abs(p - np.array(THRESHOLDS)) > 1e-4
    np.testing.assert_array_equal(table[layout.c_columns].to_numpy()[0][clear], (p >= np.array(THRESHOLDS))[clear])
    none = detector.detect_image(np.zeros((240, 320, 3), np.uint8))
    assert none["success"].tolist() == [0] and none.filter(like="_p").isna().all(axis=None)


def test_detect_folder_images_and_videos(detector, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(feat_file("single_face.jpg"), folder / "img2.jpg")
    shutil.copy(feat_file("multi_face.jpg"), folder / "img10.jpg")
    shutil.copy(feat_file("single_face.mp4"), folder / "clip.mp4")
    table = detector.detect_folder(folder, skip_frames=11)  # the video by itself, then the images
    assert list(table.columns) == csv_columns(extra_columns=("file",))
    assert table["file"].tolist() == ["clip.mp4"] * 6 + ["img2.jpg"]  # skipping applies to the images too
    assert table["frame"].tolist() == [1, 13, 25, 37, 49, 61, 1]
    images = detector.detect_folder(folder, skip_frames=0).query("file != 'clip.mp4'")
    assert images["file"].tolist() == ["img2.jpg", "img10.jpg"] and images["frame"].tolist() == [1, 2]


def test_synthetic_notice_once_and_registered_name(ckpt, real_ckpt):
    with pytest.warns(UserWarning, match="trained on synthetic"):
        synthetic = AUDetector(model=ckpt, face_detector=None)
    assert "synthetic" in synthetic.notice
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no notice for a checkpoint trained on real data
        real = AUDetector(model=real_ckpt, face_detector=None)
    assert real.notice is None and real.trained_on_synthetic is False
    named = AUDetector(model="au_net", checkpoint=real_ckpt, face_detector=None)
    crop = cv2.resize(cv2.imread(feat_file("single_face.jpg")), (112, 112))
    np.testing.assert_array_equal(named.detect_image(crop).filter(like="_p").to_numpy(),
                                  real.detect_image(crop).filter(like="_p").to_numpy())
    with pytest.raises(FileNotFoundError, match="not a registered network"):
        AUDetector(model="no_such_net")
