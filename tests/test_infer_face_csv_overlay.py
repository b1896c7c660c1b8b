"""The per-frame AU CSV (exact columns, incremental appends, faceless rows) and the overlay drawing/video."""
import csv

import cv2
import numpy as np
import pytest

from mindface_au.constants import AU_NAMES
from mindface_au.inference.csv_writer import AUCsvWriter, csv_columns, read_au_csv
from mindface_au.inference.overlay import OverlayVideoWriter, draw_face, draw_no_face

EXPECTED_HEADER = ("frame,timestamp,face_id,confidence,success,"
                   "AU1_p,AU2_p,AU4_p,AU6_p,AU7_p,AU10_p,AU12_p,AU15_p,AU23_p,AU24_p,AU25_p,AU26_p,"
                   "AU1_c,AU2_c,AU4_c,AU6_c,AU7_c,AU10_c,AU12_c,AU15_c,AU23_c,AU24_c,AU25_c,AU26_c")


def _lines(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_columns_are_exact():
    assert ",".join(csv_columns()) == EXPECTED_HEADER
    assert csv_columns(extra_columns=("file",))[-1] == "file"


def test_rows_are_appended_as_they_come(tmp_path):
    path = str(tmp_path / "out" / "video.csv")
    probs = np.linspace(0.05, 0.95, 12)
    decisions = (probs >= 0.5).astype(int)
    with AUCsvWriter(path) as writer:
        assert _lines(path) == [EXPECTED_HEADER.split(",")]  # header on disk at once
        writer.write(1, 0.0, 0, 0.987654, 1, probs, decisions)
        lines = _lines(path)  # read by another handle while the writer is still open
        assert len(lines) == 2 and lines[1][:5] == ["1", "0.000", "0", "0.988", "1"]
        assert lines[1][5:17] == [f"{p:.4f}" for p in probs]
        assert lines[1][17:] == [str(d) for d in decisions]
        writer.write(2, 1 / 30, 0, 0.0, 0)  # frame without a face
        writer.write_many([(3, 2 / 30, 0, 0.9, 1, probs[::-1], decisions[::-1]),
                           (3, 2 / 30, 1, 0.8, 1, probs, decisions)])
        assert writer.rows_written == 4
    lines = _lines(path)
    assert len(lines) == 5 and all(len(line) == 29 for line in lines)
    assert lines[2][:5] == ["2", "0.033", "0", "0.000", "0"] and lines[2][5:] == [""] * 24
    table = read_au_csv(path)
    np.testing.assert_array_equal(table["frame"], [1, 2, 3, 3])
    np.testing.assert_array_equal(table["face_id"], [0, 0, 0, 1])
    np.testing.assert_array_equal(table["success"], [1, 0, 1, 1])
    np.testing.assert_allclose(table["AU1_p"], [0.05, np.nan, 0.95, 0.05], atol=5e-5)
    np.testing.assert_array_equal(table["AU26_c"], [1, np.nan, 0, 1])


def test_extra_columns_and_bad_rows(tmp_path):
    path = str(tmp_path / "folder.csv")
    with AUCsvWriter(path, extra_columns=("file",)) as writer:
        writer.write(1, 0.0, 0, 0.9, 1, np.full(12, 0.7), np.ones(12, int), extra=("a.jpg",))
        with pytest.raises(ValueError, match="expected 12 probabilities"):
            writer.write(2, 0.0, 0, 0.9, 1, np.full(11, 0.7), np.ones(11, int), extra=("b.jpg",))
        with pytest.raises(ValueError, match="success=0 takes no AU values"):
            writer.write(2, 0.0, 0, 0.0, 0, np.full(12, 0.7), np.ones(12, int), extra=("b.jpg",))
        with pytest.raises(ValueError, match="NaN"):
            writer.write(2, 0.0, 0, 0.9, 1, np.full(12, np.nan), np.ones(12, int), extra=("b.jpg",))
        with pytest.raises(ValueError, match="0/1"):
            writer.write(2, 0.0, 0, 0.9, 1, np.full(12, 0.7), np.full(12, 2), extra=("b.jpg",))
        with pytest.raises(ValueError, match="extra values"):
            writer.write(2, 0.0, 0, 0.9, 1, np.full(12, 0.7), np.ones(12, int))
    table = read_au_csv(path)
    assert list(table["file"]) == ["a.jpg"] and len(table["frame"]) == 1
    with open(path, "a", encoding="utf-8") as f:
        f.write("2,0.0,0\n")
    with pytest.raises(ValueError, match=r"folder.csv:3: expected 30 columns, got 3"):
        read_au_csv(path)
    lines = open(path, encoding="utf-8").read().splitlines()[:2]
    lines[1] = lines[1].replace("0.7000", "high", 1)
    open(path, "w", encoding="utf-8").write("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"folder.csv:2: column 'AU1_p' holds 'high'"):
        read_au_csv(path)


def test_overlay_draws_box_and_active_aus_only():
    image = np.zeros((360, 640, 3), np.uint8)
    probs = np.zeros(12)
    decisions = np.zeros(12, int)
    probs[AU_NAMES.index("AU12")], decisions[AU_NAMES.index("AU12")] = 0.91, 1
    out = draw_face(image.copy(), (100, 80, 120, 150), face_id=3, probs=probs, decisions=decisions)
    assert out[80, 150].any() and out[230, 150].any()  # top and bottom edges of the box
    assert not out[155, 160].any()  # inside the box left untouched
    right = out[80:120, 225:400]
    assert right.any()  # the one active AU is written to the right of the box
    none_active = draw_face(image.copy(), (100, 80, 120, 150), probs=probs, decisions=np.zeros(12, int))
    assert not none_active[80:120, 225:400].any()
    at_edge = draw_face(image.copy(), (560, 80, 70, 90), probs=probs, decisions=decisions)
    assert at_edge[80:120, 380:555].any()  # no room on the right: text on the left
    assert draw_no_face(image.copy())[:40, :120].any()


def test_overlay_video_writer_round_trip(tmp_path):
    path = str(tmp_path / "sub" / "overlay.mp4")
    with OverlayVideoWriter(path, fps=12) as writer:
        for k in range(6):
            frame = np.zeros((120, 160, 3), np.uint8)
            draw_face(frame, (20 + 5 * k, 20, 60, 70), face_id=0)
            writer.write(frame)
    capture = cv2.VideoCapture(path)
    assert capture.isOpened()
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 6
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(12)
    ok, first = capture.read()
    assert ok and first.shape == (120, 160, 3) and first[20, 40, 1] > 100  # green box edge survives encoding
    capture.release()
    with pytest.raises(OSError, match="cannot write a video"):
        OverlayVideoWriter(str(tmp_path / "x.mp4"), fourcc="ZZZZ").write(np.zeros((8, 8, 3), np.uint8))
