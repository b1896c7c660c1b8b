"""Frame sources: images, folders, videos and webcams; bad inputs are named and the others go on."""
import os
import shutil

import cv2
import numpy as np
import pytest

from testlib.faces import feat_file
from mindface_au.inference.face import create_detector
from mindface_au.inference.sources import (FolderSource, ImageSource, SourceError, SourceWarning, VideoSource,
                                           open_source)
from mindface_au.inference.stream import iter_faces


def _write_video(path, frames, fps=10.0, fourcc="MJPG"):
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), fps, (64, 48))
    assert writer.isOpened()
    for k in range(frames):
        writer.write(np.full((48, 64, 3), 10 * k % 256, np.uint8))
    writer.release()
    return path


@pytest.fixture
def mixed_folder(tmp_path):
    """Two real photos, a corrupt JPEG, a text file and a hidden file, with names that need natural sorting."""
    folder = tmp_path / "images"
    folder.mkdir()
    shutil.copy(feat_file("single_face.jpg"), folder / "img10.jpg")
    shutil.copy(feat_file("0-f1-su-ph.jpg"), folder / "img2.jpg")
    data = open(feat_file("multi_face.jpg"), "rb").read()
    (folder / "img3.jpg").write_bytes(data[:200])  # truncated: header only
    (folder / "notes.txt").write_text("not a picture")
    (folder / ".DS_Store").write_bytes(b"\0\1")
    return str(folder)


def test_folder_reports_bad_files_and_goes_on(mixed_folder):
    source = open_source(mixed_folder, fps=25)
    assert isinstance(source, FolderSource) and source.expected_frames == 4
    with pytest.warns(SourceWarning) as caught:
        frames = list(source)
    assert [os.path.basename(f.name) for f in frames] == ["img2.jpg", "img10.jpg"]
    assert [f.index for f in frames] == [1, 3]  # positions in img2, img3, img10, notes.txt
    assert [f.timestamp for f in frames] == [0.0, 2 / 25]
    assert all(f.image.ndim == 3 and f.image.shape[2] == 3 and f.image.dtype == np.uint8 for f in frames)
    bad = dict((os.path.basename(p), msg) for p, msg in source.errors)
    assert set(bad) == {"img3.jpg", "notes.txt"}
    assert "not a readable image" in bad["img3.jpg"] and "not an image" in bad["notes.txt"]
    assert any("img3.jpg" in str(w.message) for w in caught)
    # the good photos go on through detection
    records = list(iter_faces(frames, create_detector("yuface")))
    assert [r.success for r in records] == [1, 1]


def test_missing_unreadable_and_empty_inputs_are_named(tmp_path):
    with pytest.raises(SourceError, match="nothere.mp4: no such file"):
        open_source(str(tmp_path / "nothere.mp4"))
    (tmp_path / "garbage.mp4").write_bytes(os.urandom(4096))
    with pytest.raises(SourceError, match="garbage.mp4: cannot open as a video"):
        open_source(str(tmp_path / "garbage.mp4"))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nrubbish")
    with pytest.raises(SourceError, match="broken.png: not a readable image"):
        open_source(str(tmp_path / "broken.png"))
    (tmp_path / "zero.jpg").write_bytes(b"")
    with pytest.raises(SourceError, match="zero.jpg: not a readable image"):
        open_source(str(tmp_path / "zero.jpg"))
    empty = _write_video(str(tmp_path / "empty.avi"), 0)
    with pytest.raises(SourceError, match="empty.avi: video has no frames"):
        open_source(empty)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(SourceError, match="nothing: folder holds no files"):
        open_source(str(tmp_path / "nothing"))
    if os.geteuid() != 0:  # root reads anything
        locked = tmp_path / "locked.jpg"
        shutil.copy(feat_file("single_face.jpg"), locked)
        locked.chmod(0)
        with pytest.raises(SourceError, match="locked.jpg: permission denied"):
            open_source(str(locked))


def test_video_frames_numbers_timestamps_and_skipping(tmp_path):
    path = _write_video(str(tmp_path / "ten.avi"), 10, fps=10.0)
    source = open_source(path)
    assert isinstance(source, VideoSource) and source.fps == pytest.approx(10.0)
    frames = list(source)
    assert [f.index for f in frames] == list(range(1, 11))
    np.testing.assert_allclose([f.timestamp for f in frames], np.arange(10) / 10.0, atol=1e-6)
    assert [int(f.image.mean()) for f in frames] == pytest.approx([10 * k for k in range(10)], abs=2)
    skipped = open_source(path, skip_frames=3)
    assert skipped.expected_frames == 3
    got = list(skipped)
    assert [f.index for f in got] == [1, 5, 9] and skipped.frames_seen == 10
    np.testing.assert_allclose([f.timestamp for f in got], [0.0, 0.4, 0.8], atol=1e-6)
    assert [int(f.image.mean()) for f in got] == pytest.approx([0, 40, 80], abs=2)
    assert [f.index for f in open_source(path, max_frames=2)] == [1, 2]
    assert len(list(source)) == 10  # a source can be iterated again


def test_single_image_and_grey_image(tmp_path):
    grey = cv2.cvtColor(cv2.imread(feat_file("single_face.jpg")), cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(tmp_path / "grey.png"), grey)
    source = open_source(str(tmp_path / "grey.png"))
    assert isinstance(source, ImageSource)
    (frame,) = list(source)
    assert (frame.index, frame.timestamp) == (1, 0.0) and frame.image.shape == grey.shape + (3,)


def test_webcam_that_does_not_exist_is_an_error():
    with pytest.raises(SourceError, match="webcam 97: cannot open"):
        open_source("webcam:97")


def test_bad_arguments():
    with pytest.raises(ValueError, match="skip_frames"):
        open_source(feat_file("single_face.jpg"), skip_frames=-1)
