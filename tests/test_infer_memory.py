"""Memory flat in video length: the face detector in a worker process replaced per memory budget
(yuface 2023.5.1 grows ~30 KB per call), same faces as in-process; the bound itself on a long video."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from mindface_au.inference.detector_worker import WorkerDetector, process_rss_mb
from mindface_au.inference.face import create_detector

from testlib import ROOT
from testlib.faces import feat_file, feat_frames

pytest.importorskip("yuface")


def _frames(name="single_face.mp4", n=12, size=(320, 180)):
    return feat_frames(name, size, limit=n)


def test_worker_detector_finds_the_same_faces_and_is_replaced_past_its_budget():
    frames = _frames("single_face.mp4") + _frames("no_face.mp4", n=4)
    expected = [create_detector("yuface").detect(f) for f in frames]
    with WorkerDetector("yuface", budget_mb=1e-3) as worker:  # any growth (RSS moves by pages): a fresh child
        got = [worker.detect(f) for f in frames * 4][-len(frames):]  # ~2 MB of yuface growth: replaced
        assert worker.restarts >= 1 and worker.calls == 4 * len(frames)
        assert worker.child_rss_mb > 0
    for want, have in zip(expected, got):
        assert len(want) == len(have)
        for a, b in zip(want, have):
            np.testing.assert_array_equal(a.box, b.box)
            np.testing.assert_array_equal(a.landmarks, b.landmarks)
            assert a.score == b.score
    assert any(expected) and not expected[-1]  # faces in the first clip, none in no_face.mp4


def test_scratch_memory_that_comes_and_goes_does_not_replace_the_worker():
    """yuface on 960x540 frames: the child's RSS swings by ~33 MB every few calls (57 <-> 90 MB here) as
    its scratch memory is freed and taken again; a baseline at the lowest RSS replaced the child 10 times
    in these 40 frames (22 in the 98 of the whole video). Its leak, ~37 KB a call, stays far under 32 MB."""
    frames = _frames("no_face.mp4", n=40, size=(960, 540))
    with WorkerDetector("yuface") as worker:
        for frame in frames:
            worker.detect(frame)
        assert worker.calls == 40 and worker.restarts == 0, worker.child_rss_mb


def test_a_dead_worker_is_replaced_and_the_frame_retried():
    frame = _frames(n=1)[0]
    with WorkerDetector("yuface") as worker:
        first = worker.detect(frame)
        worker._process.kill()
        worker._process.wait()
        again = worker.detect(frame)
        assert worker.restarts == 1 and len(first) == len(again) == 1


def test_worker_detector_refuses_a_bad_budget_or_detector():
    with pytest.raises(ValueError, match="budget_mb"):
        WorkerDetector("yuface", budget_mb=0)
    with pytest.raises(ValueError, match="unknown face detector"):
        WorkerDetector("dlib")
    assert process_rss_mb() > 0


@pytest.mark.slow
def test_rss_after_10k_frames_exceeds_rss_after_1k_by_less_than_50_mb():
    """The issue's bound, through the benchmark (the tiny backbone and its head alone: the network's size
    does not change the growth, and LRP, ARL and fusion cost ~0.6 of the ~3.8 ms per frame; a 112x63 real
    face looped to 10k frames: yuface finds it in every frame, at less CPU than at the benchmark's
    160x90); a correctness property (memory flat in video length), not a timing."""
    feat_file("single_face.mp4")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench_memory.py"), "--frames", "10000",
                          "--checkpoints", "1000,10000", "--size", "112x63", "--set", "model.lrp.enabled=false",
                          "--set", "model.arl.enabled=false", "--set", "model.fusion.kind=none"],
                         capture_output=True, text=True, env=env, timeout=1800)
    assert res.returncode == 0, res.stderr[-3000:]
    lines = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    summary = lines[-1]
    assert summary["frames"] == 10000 and summary["faces"] == 10000
    assert summary["growth_1k_to_10k_mb"] < 50, lines
    assert lines[1]["detector_restarts"] >= 1  # the leak was there, and the worker was replaced
