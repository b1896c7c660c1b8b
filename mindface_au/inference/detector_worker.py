"""A face detector in a child process that is replaced once it has grown by a memory budget.

yuface 2023.5.1 (its only release) keeps about 26-35 KB per ``detect`` call inside the process, so a
3-hour video at 25 fps would end ~10 GB larger than it started. :class:`WorkerDetector` keeps memory
flat in video length whatever the detector does: the detector runs in a child process (started
as ``python -m mindface_au.inference.detector_worker``: it imports OpenCV and the detector, never
MindSpore, nor the caller's main module), which reports its resident memory (RSS) with every
answer. The detector's scratch memory comes and goes between calls (yuface on 960x540 frames: RSS
swings between ~57 and ~90 MB every few calls), while what it leaks stays, so the child is judged by
its floor, the lowest RSS of its last :data:`WINDOW` answers: once that floor exceeds the floor of its
first :data:`WINDOW` answers by ``budget_mb``, the child is replaced by a fresh one at the next call
(a single RSS against the lowest ever seen replaced it every few frames for memory it gives back
anyway). The parent holds no detector state, so the
faces found are exactly those of the detector run in-process (same code, same frames).

Cost per frame: one (H, W, 3) uint8 frame pickled through a pipe (~0.7 MB for 640x360, well under
a millisecond); a replacement (a fresh child's imports, about a second) every ~1,000 frames of yuface
with the default 32 MB. The child's floor stays below its first floor + ``budget_mb``: the old child
is stopped before the new one starts (a spare started ahead would hide the second but add its
~55 MB to the peak).
A child that dies (a crash in the detector) is restarted and the frame retried once.

    detector = WorkerDetector("yuface", budget_mb=64)
    faces = detector.detect(bgr)          # list[Face], as create_detector("yuface").detect(bgr)
    detector.restarts, detector.close()
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import deque
from multiprocessing.connection import Connection, Pipe
from typing import List, Optional

import numpy as np

from .face import Face

DEFAULT_BUDGET_MB = 32.0
#: Answers over which a child's floor (its lowest RSS) is taken: several swings of its scratch memory.
WINDOW = 16


def process_rss_mb(pid: Optional[int] = None) -> float:
    """Resident memory of a process (this one by default) in MB (10^6 bytes), from /proc; 0.0 where /proc is absent."""
    try:
        with open(f"/proc/{pid or 'self'}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return 0.0


def _serve(conn, name: str, options: dict) -> None:
    """The child's loop: receive a frame (or None to stop), answer ``(faces as tuples, rss_mb)``. Ctrl+C in a
    terminal reaches the whole process group: the child ignores it (the parent finishes, then stops it);
    a parent that dies closes the pipe, and the child ends."""
    import signal

    from .face import create_detector

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    detector = create_detector(name, **options)
    while True:
        try:
            image = conn.recv()
        except EOFError:
            return
        if image is None:
            return
        faces = [(f.box, f.score, f.landmarks) for f in detector.detect(image)]
        conn.send((faces, process_rss_mb()))


class WorkerDetector:
    """:func:`~.face.create_detector` ``(name, **options)`` run in a child process replaced every
    ``budget_mb`` MB of growth (see the module docstring). Follows the :class:`~.face.FaceDetector`
    protocol; thread-safe (one call at a time)."""

    def __init__(self, name: str = "yuface", budget_mb: float = DEFAULT_BUDGET_MB, **options):
        from .face import create_detector

        if budget_mb <= 0:
            raise ValueError(f"budget_mb must be > 0, got {budget_mb}")
        create_detector(name, **options)  # fail here (missing package, bad option), not in the child
        self.name, self.options, self.budget_mb = name, dict(options), float(budget_mb)
        self.restarts = 0  # children replaced (memory budget or crash)
        self.calls = 0
        self._process = self._conn = None
        self._baseline: Optional[float] = None  # the current child's first floor
        self._recent: deque = deque(maxlen=WINDOW)  # its last RSS answers
        self._rss = 0.0
        self._lock = threading.Lock()

    @property
    def child_rss_mb(self) -> float:
        """The current child's RSS at its last answer (MB)."""
        return self._rss

    def _spawn(self) -> tuple:
        """A new child (starting in the background) and the parent's end of its pipe."""
        parent, child = Pipe()
        fd = child.fileno()
        process = subprocess.Popen([sys.executable, "-m", __name__, str(fd), self.name, json.dumps(self.options)],
                                   pass_fds=[fd], stdin=subprocess.DEVNULL)
        child.close()
        return process, parent

    def _start(self) -> None:
        self._process, self._conn = self._spawn()
        self._baseline = None
        self._recent.clear()

    def _stop(self) -> None:
        if self._process is None:
            return
        try:
            self._conn.send(None)
        except (OSError, ValueError):
            pass
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._conn.close()
        self._process = self._conn = None

    def _ask(self, image: np.ndarray):
        if self._process is None:
            self._start()
        self._conn.send(image)
        return self._conn.recv()

    def detect(self, bgr: np.ndarray) -> List[Face]:
        """Faces in a (H, W, 3) uint8 BGR image, best score first (as the in-process detector)."""
        image = np.ascontiguousarray(bgr)
        with self._lock:
            try:
                faces, rss = self._ask(image)
            except (EOFError, OSError, BrokenPipeError):  # the child died: once more with a fresh one
                self._stop()
                self.restarts += 1
                faces, rss = self._ask(image)
            self.calls += 1
            self._rss = rss
            self._recent.append(rss)
            if len(self._recent) == WINDOW:
                floor = min(self._recent)
                if self._baseline is None:
                    self._baseline = floor
                elif floor - self._baseline > self.budget_mb:
                    self._stop()  # the next call starts a fresh child
                    self.restarts += 1
        return [Face(box=b, score=s, landmarks=lm) for b, s, lm in faces]

    def close(self) -> None:
        with self._lock:
            self._stop()

    def __enter__(self) -> "WorkerDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):  # pragma: no cover - best effort at interpreter exit
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass


if __name__ == "__main__":  # the child: python -m mindface_au.inference.detector_worker FD NAME OPTIONS_JSON
    _serve(Connection(int(sys.argv[1])), sys.argv[2], json.loads(sys.argv[3]))
