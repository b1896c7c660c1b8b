"""Face identities across frames by box overlap: greedy IoU matching.

:class:`IoUTracker` keeps the last box of every live track. Each frame, the pairs (track, box)
are taken in order of decreasing IoU; a pair is matched when neither side is matched yet and its
IoU reaches ``iou_threshold``. Unmatched boxes start new tracks with fresh ids (0, 1, 2, ...,
never reused); a track that goes unmatched for more than ``max_missed`` consecutive frames is
dropped, so a face that comes back after that gets a new id.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List

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
