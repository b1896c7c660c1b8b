"""tools/prepare_videos.py: raw videos -> ROOT/cropped_aligned/<video>/<k:05d>.jpg on real faces."""
import os
import subprocess
import sys

import cv2
import pytest

from testlib.faces import feat_file
from mindface_au.constants import ABAW_HEADER
from mindface_au.inference.face import create_detector
from mindface_au.inference.prepare import prepare_video

from testlib import ROOT


def test_prepare_video_writes_numbered_crops(tmp_path):
    video = feat_file("single_face.mp4")
    stats = prepare_video(video, str(tmp_path), create_detector("yuface"), skip_frames=5, progress=False,
                          annotation_split="Train_Set")
    folder = tmp_path / "cropped_aligned" / "single_face"
    names = sorted(os.listdir(folder))
    assert names == [f"{k:05d}.jpg" for k in range(1, 73, 6)]  # 1-based frame numbers kept
    assert (stats.frames_total, stats.frames_processed, stats.frames_with_face) == (72, 12, 12)
    assert stats.crops_written == {"single_face": 12}
    crop = cv2.imread(str(folder / "00013.jpg"))
    assert crop.shape == (112, 112, 3)
    # the crop is a face: found again by the detector once padded
    padded = cv2.copyMakeBorder(crop, 56, 56, 56, 56, cv2.BORDER_CONSTANT)
    assert create_detector("yuface").detect(cv2.resize(padded, (448, 448)))
    lines = (tmp_path / "annotations" / "AU_Detection_Challenge" / "Train_Set" / "single_face.txt").read_text()
    lines = lines.splitlines()
    assert lines[0] == ABAW_HEADER and len(lines) == 73 and set(lines[1:]) == {",".join(["-1"] * 12)}
    with pytest.raises(FileExistsError, match="already holds crops"):
        prepare_video(video, str(tmp_path), create_detector("yuface"), skip_frames=5, progress=False)
    again = prepare_video(video, str(tmp_path), create_detector("yuface"), skip_frames=35, progress=False,
                          overwrite=True)
    assert sorted(os.listdir(folder)) == ["00001.jpg", "00037.jpg"] and again.crops_written == {"single_face": 2}


def test_cli_writes_faceless_videos_no_crops_and_reports_failures(tmp_path):
    out = tmp_path / "root"
    cmd = [sys.executable, os.path.join(ROOT, "tools", "prepare_videos.py"), feat_file("no_face.mp4"),
           str(tmp_path / "missing.mp4"), feat_file("single_face.mp4"), "--out", str(out), "--skip-frames", "11",
           "--no-progress"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    assert "missing.mp4: no such file" in result.stderr and "1 of 3 videos failed" in result.stderr
    assert not (out / "cropped_aligned" / "no_face").exists()  # faceless frames have no file
    assert sorted(os.listdir(out / "cropped_aligned" / "single_face")) == [f"{k:05d}.jpg" for k in range(1, 73, 12)]
    assert "0 with a face" in result.stdout and "6 with a face (100.0%)" in result.stdout
