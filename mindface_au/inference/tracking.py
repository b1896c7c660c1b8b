"""Following faces across frames: identities by box overlap, landmarks by optical flow.

:class:`LandmarkFlowTracker` moves the 5 landmarks of each face from one frame to the next with
pyramidal Lucas-Kanade (``cv2.calcOpticalFlowPyrLK``), so the detector can run on one frame in N
only. A face's track is *lost* (and the caller re-detects) when any point's flow status is 0,
when a point's forward-backward error (track forward, then back; distance to where it started)
exceeds ``max_fb_error`` times the face's eye distance, when the eye distance changes by more
than ``max_scale_change``, or when the frame is a cut: the correlation of the grey histograms
of consecutive frames falls below ``cut_correlation``.

Face identities by box overlap: greedy IoU matching.

:class:`IoUTracker` keeps the last box of every live track. Each frame, the pairs (track, box)
are taken in order of decreasing IoU; a pair is matched when neither side is matched yet and its
IoU reaches ``iou_threshold``. Unmatched boxes start new tracks with fresh ids (0, 1, 2, ...,
never reused); a track that goes unmatched for more than ``max_missed`` consecutive frames is
dropped, so a face that comes back after that gets a new id.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) intersection over union of boxes a (N, 4) and b (M, 4), both x, y, w, h."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ax0, ay0, ax1, ay1 = a[:, 0:1], a[:, 1:2], a[:, 0:1] + a[:, 2:3], a[:, 1:2] + a[:, 3:4]
    bx0, by0, bx1, by1 = b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax1, bx1) - np.maximum(ax0, bx0), 0, None)
    ih = np.clip(np.minimum(ay1, by1) - np.maximum(ay0, by0), 0, None)
    inter = iw * ih
    union = a[:, 2:3] * a[:, 3:4] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


@dataclass
class Track:
    track_id: int
    box: np.ndarray  # (4,) x, y, w, h of the last matched detection
    missed: int = 0  # consecutive frames without a match
    hits: int = 1  # frames matched so far


class IoUTracker:
    """Greedy IoU tracker. ``update(boxes (N, 4)) -> list of N ids``, one per box, in box order."""

    def __init__(self, iou_threshold: float = 0.3, max_missed: int = 10):
        if not 0.0 < iou_threshold <= 1.0:
            raise ValueError(f"iou_threshold must lie in (0, 1], got {iou_threshold}")
        if max_missed < 0:
            raise ValueError(f"max_missed must be >= 0, got {max_missed}")
        self.iou_threshold = float(iou_threshold)
        self.max_missed = int(max_missed)
        self.reset()

    def reset(self) -> None:
        self.tracks: Dict[int, Track] = {}
        self._next_id = 0

    def update(self, boxes: np.ndarray) -> List[int]:
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        track_ids = list(self.tracks)
        ids = [-1] * len(boxes)
        if track_ids and len(boxes):
            iou = iou_matrix(np.stack([self.tracks[t].box for t in track_ids]), boxes)
            order = np.argsort(-iou, axis=None, kind="stable")
            used_tracks = set()
            for flat in order:
                ti, bi = divmod(int(flat), len(boxes))
                if iou[ti, bi] < self.iou_threshold:
                    break
                if ti in used_tracks or ids[bi] != -1:
                    continue
                used_tracks.add(ti)
                ids[bi] = track_ids[ti]
        matched = set(ids)
        for tid in track_ids:
            track = self.tracks[tid]
            if tid in matched:
                track.missed = 0
                track.hits += 1
            else:
                track.missed += 1
                if track.missed > self.max_missed:
                    del self.tracks[tid]
        for bi, box in enumerate(boxes):
            if ids[bi] == -1:
                ids[bi] = self._next_id
                self.tracks[self._next_id] = Track(self._next_id, box.copy())
                self._next_id += 1
            else:
                self.tracks[ids[bi]].box = box.copy()
        return ids


def grey_histogram(grey: np.ndarray, bins: int = 32) -> np.ndarray:
    """(bins,) float32 normalised histogram of a uint8 grey image (for cut detection)."""
    hist = cv2.calcHist([grey], [0], None, [bins], [0, 256])
    return cv2.normalize(hist, hist).ravel()


class LandmarkFlowTracker:
    """Moves faces' (5, 2) landmarks between consecutive frames with LK optical flow (see module doc).

    ``start(grey, landmarks)`` after a detection (``landmarks``: a list of (5, 2) arrays, one per
    face); ``track(grey)`` on the next frame returns the moved landmarks (same order), or None when
    any face is lost or the frame is a cut; then call ``start`` again with fresh detections.
    ``grey``: (H, W) uint8. Counters ``tracked`` / ``lost`` / ``cuts`` tell how it went.
    """

    def __init__(self, max_fb_error: float = 0.05, max_scale_change: float = 0.2, cut_correlation: float = 0.6,
                 win_size: int = 31, levels: int = 3):
        self.max_fb_error = float(max_fb_error)
        self.max_scale_change = float(max_scale_change)
        self.cut_correlation = float(cut_correlation)
        self.lk = dict(winSize=(win_size, win_size), maxLevel=levels,
                       criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))
        self.tracked = self.lost = self.cuts = 0
        self.reset()

    def reset(self) -> None:
        self._grey: Optional[np.ndarray] = None
        self._hist: Optional[np.ndarray] = None
        self._points: Optional[np.ndarray] = None  # (F * 5, 1, 2) float32

    @property
    def active(self) -> bool:
        return self._points is not None

    def start(self, grey: np.ndarray, landmarks: Sequence[np.ndarray]) -> None:
        if not len(landmarks):
            self.reset()
            return
        self._grey = grey
        self._hist = grey_histogram(grey)
        self._points = np.concatenate([np.asarray(lm, np.float32).reshape(5, 2) for lm in landmarks]).reshape(-1, 1, 2)

    def is_cut(self, grey: np.ndarray) -> bool:
        """Whether ``grey`` starts a new shot relative to the last frame (histogram correlation)."""
        return self._hist is not None and cv2.compareHist(self._hist, grey_histogram(grey),
                                                          cv2.HISTCMP_CORREL) < self.cut_correlation

    def track(self, grey: np.ndarray) -> Optional[List[np.ndarray]]:
        if not self.active:
            return None
        if self.is_cut(grey):
            self.cuts += 1
            self.reset()
            return None
        prev = self._points
        moved, status, _ = cv2.calcOpticalFlowPyrLK(self._grey, grey, prev, None, **self.lk)
        back, back_status, _ = cv2.calcOpticalFlowPyrLK(grey, self._grey, moved, None, **self.lk)
        old = prev.reshape(-1, 5, 2)
        new = moved.reshape(-1, 5, 2)
        eyes_old = np.linalg.norm(old[:, 1] - old[:, 0], axis=1)
        eyes_new = np.linalg.norm(new[:, 1] - new[:, 0], axis=1)
        fb = np.linalg.norm((back - prev).reshape(-1, 5, 2), axis=2).max(axis=1)
        ok = ((status.reshape(-1, 5) == 1).all(1) & (back_status.reshape(-1, 5) == 1).all(1)
              & (fb <= self.max_fb_error * np.maximum(eyes_old, 1.0))
              & (np.abs(eyes_new / np.maximum(eyes_old, 1e-6) - 1.0) <= self.max_scale_change))
        if not ok.all():
            self.lost += 1
            self.reset()
            return None
        self.tracked += 1
        self._grey, self._hist, self._points = grey, grey_histogram(grey), moved
        return [lm.copy() for lm in new]
