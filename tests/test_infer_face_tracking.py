"""Face ids across frames: the greedy IoU tracker on synthetic moving boxes and on a real video."""
import numpy as np
import pytest

from testlib.faces import feat_file
from mindface_au.inference.face import create_detector
from mindface_au.inference.sources import open_source
from mindface_au.inference.stream import iter_faces
from mindface_au.inference.tracking import IoUTracker, iou_matrix


def test_iou_matrix_hand_cases():
    a = np.array([[0, 0, 10, 10], [100, 100, 5, 5]])
    b = np.array([[5, 0, 10, 10], [0, 0, 10, 10], [20, 20, 1, 1], [0, 0, 0, 0]])
    expected = np.array([[50 / 150, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    np.testing.assert_allclose(iou_matrix(a, b), expected)
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 4)


def _walk(start, step, frames):
    return [np.array([start[0] + step[0] * t, start[1] + step[1] * t, 60, 80], np.float64) for t in range(frames)]


def test_ids_follow_moving_faces_whatever_the_detection_order():
    rng = np.random.default_rng(0)
    paths = [_walk((0, 0), (6, 2), 30), _walk((300, 50), (-5, 1), 30), _walk((150, 300), (0, -4), 30)]
    tracker = IoUTracker(iou_threshold=0.3, max_missed=3)
    first = tracker.update(np.stack([p[0] for p in paths]))
    assert first == [0, 1, 2]
    for t in range(1, 30):
        order = rng.permutation(3)
        ids = tracker.update(np.stack([paths[k][t] + rng.normal(0, 1.5, 4) for k in order]))
        assert ids == [first[k] for k in order], f"frame {t}"


def test_short_gap_keeps_the_id_long_gap_gives_a_new_one():
    tracker = IoUTracker(iou_threshold=0.3, max_missed=2)
    a, b = np.array([0, 0, 50, 50.0]), np.array([200, 0, 50, 50.0])
    assert tracker.update(np.stack([a, b])) == [0, 1]
    assert tracker.update(a[None]) == [0]  # b missed once
    assert tracker.update(a[None]) == [0]  # b missed twice (= max_missed, still alive)
    assert tracker.update(np.stack([b, a])) == [1, 0]  # back: same id
    for _ in range(3):  # b gone for 3 > max_missed frames: dropped
        tracker.update(a[None])
    assert tracker.update(np.stack([a, b])) == [0, 2]
    assert tracker.update(np.zeros((0, 4))) == []


def test_greedy_matching_prefers_the_best_overlap():
    tracker = IoUTracker(iou_threshold=0.1)
    tracker.update(np.array([[0, 0, 100, 100.0]]))
    # two candidates overlap the track; the better one keeps id 0, the other is new
    ids = tracker.update(np.array([[60, 0, 100, 100.0], [10, 0, 100, 100.0]]))
    assert ids == [1, 0]


def test_invalid_settings():
    with pytest.raises(ValueError, match="iou_threshold"):
        IoUTracker(iou_threshold=0)
    with pytest.raises(ValueError, match="max_missed"):
        IoUTracker(max_missed=-1)


def test_one_person_keeps_one_id_through_a_real_video():
    source = open_source(feat_file("single_face.mp4"), skip_frames=3)
    records = list(iter_faces(source, create_detector("yuface"), all_faces=True))
    assert len(records) == 18 and {r.face_id for r in records} == {0}
