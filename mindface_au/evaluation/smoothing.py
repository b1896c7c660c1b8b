"""Temporal post-processing of per-frame AU predictions (paper, Sec. 3.5 and Table 2).

* **Probability smoothing** (:func:`smooth_probs`): each frame's probability becomes the mean
  over frames t-k ... t+k of the same video. Paper's best k = 8.
* **Label smoothing** (:func:`smooth_labels`): each frame's 0/1 prediction becomes the majority
  vote over frames t-k ... t+k of the same video. Paper's best k = 6, after probability
  smoothing with k = 8 (:func:`apply_postprocess`).

Windows and videos:

* ``video_ids`` (N,) names each frame's video (any hashable dtype numpy can sort: str or int).
  Within a video, frames must appear in temporal order; the videos' frames may form contiguous
  blocks or be interleaved in any way: the frames are stably sorted by video, smoothed, and put
  back in the input order. A video's window counts the frames present in the arrays, so a
  missing (dropped) frame is skipped over, not treated as a gap.
* Windows never cross videos. ``edges='clip'`` (default, the spec): near a video's ends the
  window is cut to the frames that exist, e.g. the first frame averages frames 0..k. With
  ``edges='keep'`` (what the authors' script did) a frame whose full 2k+1 window does not fit
  inside its video keeps its own value.
* Majority over a clipped window of even length can tie (e.g. k = 1 at a video's first frame:
  2 frames, one vote each). ``tie='keep'`` (default): a tie keeps the frame's own label, which
  is neutral between 0 and 1; ``tie='positive'``: ties give 1 (count >= half);
  ``tie='negative'``: ties give 0 (strict majority). Full windows (2k+1 frames) never tie; there
  all three rules equal the authors' ``count > k``.

Everything is vectorised with cumulative sums (O(N * C) per call, no loop over frames or videos).
"""
from __future__ import annotations

import csv
import io
from typing import Iterable, List, Optional, Sequence

import numpy as np

from ..constants import AU_NAMES
from ..fileio import atomic_write_text
from .metrics import binarize, binary_f1, check_probs_labels
from .thresholds import ThresholdLike, as_thresholds

EDGES = ("clip", "keep")
TIES = ("keep", "positive", "negative")
PAPER_PROB_K = 8
PAPER_LABEL_K = 6


class _Windows:
    """Window bounds of every frame, in video-sorted order.

    ``order`` (N,) sorts the frames by video (stably); for sorted position i the window is
    ``[lo[i], hi[i])`` and ``full[i]`` says whether it is the whole 2k+1 frames.
    """

    def __init__(self, video_ids, n: int, k: int):
        ids = np.asarray(video_ids)
        if ids.ndim != 1 or ids.shape[0] != n:
            raise ValueError(f"video_ids must have shape ({n},) to match the predictions, got {ids.shape}")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise ValueError(f"window half-width k must be an integer >= 0, got {k!r}")
        k = int(k)
        _, codes = np.unique(ids, return_inverse=True)
        codes = codes.reshape(-1)
        self.order = np.argsort(codes, kind="stable")
        sorted_codes = codes[self.order]
        breaks = np.flatnonzero(np.diff(sorted_codes)) + 1
        starts = np.concatenate([[0], breaks]).astype(np.int64)
        ends = np.concatenate([breaks, [n]]).astype(np.int64)
        start = np.repeat(starts, ends - starts)
        end = np.repeat(ends, ends - starts)
        pos = np.arange(n, dtype=np.int64)
        self.lo = np.maximum(pos - k, start)
        self.hi = np.minimum(pos + k + 1, end)
        self.full = (pos - k >= start) & (pos + k + 1 <= end)

    def window_sums(self, x_sorted: np.ndarray) -> np.ndarray:
        """(N, C) values in sorted order -> (N, C) sums over each frame's window."""
        csum = np.zeros((x_sorted.shape[0] + 1, x_sorted.shape[1]), dtype=x_sorted.dtype)
        np.cumsum(x_sorted, axis=0, out=csum[1:])
        return csum[self.hi] - csum[self.lo]

    def unsort(self, x_sorted: np.ndarray) -> np.ndarray:
        out = np.empty_like(x_sorted)
        out[self.order] = x_sorted
        return out


def video_codes(video_ids) -> np.ndarray:
    """(N,) video ids of any sortable dtype -> (N,) int64 codes (same grouping, cheaper to re-sort).

    Encode once when smoothing the same frames several times (as :func:`sweep` does).
    """
    ids = np.asarray(video_ids)
    if ids.ndim != 1:
        raise ValueError(f"video_ids must be 1-D, got shape {ids.shape}")
    if ids.dtype.kind in "iub":
        return ids.astype(np.int64, copy=False)
    return np.unique(ids, return_inverse=True)[1].reshape(-1).astype(np.int64)


def _check_edges(edges: str) -> None:
    if edges not in EDGES:
        raise ValueError(f"edges must be one of {EDGES}, got {edges!r}")


def smooth_probs(probs, video_ids, k: int, edges: str = "clip") -> np.ndarray:
    """Mean probability over frames t-k ... t+k of the same video.

    Args:
        probs: (N, C) probabilities.
        video_ids: (N,) video of each frame.
        k: window half-width (0 returns the input unchanged).
        edges: 'clip' or 'keep' (see the module docstring).

    Returns:
        (N, C) float64, in the input's frame order.
    """
    _check_edges(edges)
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probs must be 2-D (N, n_aus), got shape {p.shape}")
    win = _Windows(video_ids, p.shape[0], k)
    x = p[win.order]
    counts = (win.hi - win.lo).astype(np.float64)[:, None]
    mean = win.window_sums(x) / np.maximum(counts, 1.0)
    if edges == "keep":
        mean[~win.full] = x[~win.full]
    return win.unsort(mean)


def smooth_labels(binary, video_ids, k: int, tie: str = "keep", edges: str = "clip") -> np.ndarray:
    """Majority vote of 0/1 predictions over frames t-k ... t+k of the same video.

    Args:
        binary: (N, C) 0/1 (or bool) predictions.
        video_ids: (N,) video of each frame.
        k: window half-width (0 returns the input unchanged).
        tie: what an even clipped window with as many 1s as 0s gives: 'keep' (the frame's own
            label), 'positive' (1) or 'negative' (0).
        edges: 'clip' or 'keep' (see the module docstring).

    Returns:
        (N, C) int8 0/1, in the input's frame order.
    """
    _check_edges(edges)
    if tie not in TIES:
        raise ValueError(f"tie must be one of {TIES}, got {tie!r}")
    b = np.asarray(binary)
    if b.ndim != 2:
        raise ValueError(f"binary predictions must be 2-D (N, n_aus), got shape {b.shape}")
    if not np.all((b == 0) | (b == 1)):
        raise ValueError("binary predictions must hold only 0 and 1")
    b = b.astype(np.int64)
    win = _Windows(video_ids, b.shape[0], k)
    x = b[win.order]
    twice_votes = 2 * win.window_sums(x)
    size = (win.hi - win.lo)[:, None]
    out = (twice_votes > size).astype(np.int8)
    ties = twice_votes == size
    if tie == "keep":
        out[ties] = x[ties]
    elif tie == "positive":
        out[ties] = 1
    if edges == "keep":
        out[~win.full] = x[~win.full]
    return win.unsort(out)


def apply_postprocess(probs, video_ids, prob_k: Optional[int] = PAPER_PROB_K, label_k: Optional[int] = PAPER_LABEL_K,
                      thresholds: ThresholdLike = 0.5, tie: str = "keep", edges: str = "clip") -> np.ndarray:
    """The paper's post-processing: smooth probabilities (k = ``prob_k``), threshold, smooth labels.

    ``prob_k`` / ``label_k`` of 0 or None skip that step. Returns (N, C) int8 0/1 predictions.
    """
    p = np.asarray(probs, dtype=np.float64)
    if prob_k and label_k:
        video_ids = video_codes(video_ids)
    if prob_k:
        p = smooth_probs(p, video_ids, prob_k, edges=edges)
    pred = binarize(p, thresholds)
    if label_k:
        pred = smooth_labels(pred, video_ids, label_k, tie=tie, edges=edges)
    return pred


def parse_smooth_spec(text: Optional[str]) -> tuple:
    """``'prob=8,label=6'`` -> ``(8, 6)``; either part may be left out (0 = off); None or '' -> (0, 0)."""
    values = {"prob": 0, "label": 0}
    for part in filter(None, (text or "").split(",")):
        key, _, val = part.partition("=")
        if key.strip() not in values or not val.strip().isdigit():
            raise ValueError(f"--smooth {text!r}: expected prob=K,label=K with integers K >= 0")
        values[key.strip()] = int(val)
    return values["prob"], values["label"]


# --------------------------------------------------------------------------- Table 2 sweep
def _row(method: str, prob_k: int, label_k: int, per_au: np.ndarray, au_names: Sequence[str]) -> dict:
    row = {"method": method, "prob_k": int(prob_k), "label_k": int(label_k), "mean_f1": float(per_au.mean())}
    row.update({name: float(v) for name, v in zip(au_names, per_au)})
    return row


def sweep(probs, labels, video_ids, ks: Iterable[int] = range(1, 11), thresholds: ThresholdLike = 0.5,
          both_prob_k: int = PAPER_PROB_K, tie: str = "keep", edges: str = "clip",
          au_names: Sequence[str] = AU_NAMES, progress: bool = True) -> List[dict]:
    """F1 of every post-processing of the paper's Table 2 layout.

    Rows (one dict each): ``method='none'`` (k = 0); ``'prob'`` for each k (probability smoothing
    only); ``'label'`` for each k (label smoothing only); ``'prob+label'`` for each k
    (probability smoothing with ``both_prob_k``, then label smoothing with k). Keys:
    ``method, prob_k, label_k, mean_f1`` and one per AU name (its F1).
    """
    p, y = check_probs_labels(probs, labels)
    thr = as_thresholds(thresholds, p.shape[1])
    if np.asarray(video_ids).shape != (p.shape[0],):
        raise ValueError(f"video_ids must have shape ({p.shape[0]},) to match the predictions, "
                         f"got {np.asarray(video_ids).shape}")
    video_ids = video_codes(video_ids)
    names = list(au_names) if len(au_names) == p.shape[1] else [f"AU_{j}" for j in range(p.shape[1])]
    ks = [int(k) for k in ks]
    jobs = [("none", 0, 0)] + [("prob", k, 0) for k in ks] + [("label", 0, k) for k in ks] + \
           [("prob+label", both_prob_k, k) for k in ks]
    thresholded = {0: binarize(p, thr)}
    if both_prob_k:
        thresholded[both_prob_k] = binarize(smooth_probs(p, video_ids, both_prob_k, edges=edges), thr)
    rows = []
    iterator = jobs
    if progress:
        from tqdm import tqdm

        iterator = tqdm(jobs, desc="smoothing sweep", leave=False)
    for method, pk, lk in iterator:
        pred = thresholded.get(pk)
        if pred is None:
            pred = binarize(smooth_probs(p, video_ids, pk, edges=edges), thr)
        if lk:
            pred = smooth_labels(pred, video_ids, lk, tie=tie, edges=edges)
        rows.append(_row(method, pk, lk, binary_f1(pred, y), names))
    return rows


def best_sweep_row(rows: Sequence[dict], method: Optional[str] = None) -> dict:
    """The row with the highest mean F1 (of ``method`` if given; ties: the first)."""
    pool = [r for r in rows if method is None or r["method"] == method]
    if not pool:
        raise ValueError(f"no sweep rows for method {method!r}")
    return max(pool, key=lambda r: r["mean_f1"])


def sweep_to_csv(rows: Sequence[dict]) -> str:
    """CSV text of sweep rows (header = the first row's keys)."""
    if not rows:
        raise ValueError("no sweep rows to write")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0].keys()), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


def write_sweep_csv(rows: Sequence[dict], path: str) -> str:
    """Write sweep rows as CSV to ``path`` (atomically); returns ``path``."""
    return atomic_write_text(path, sweep_to_csv(rows))


def read_sweep_csv(path: str) -> List[dict]:
    """Read a CSV written by :func:`write_sweep_csv` back into rows (numbers parsed)."""
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            row = {}
            for key, v in r.items():
                if key == "method":
                    row[key] = v
                elif key in ("prob_k", "label_k"):
                    row[key] = int(v)
                else:
                    row[key] = float(v)
            rows.append(row)
    return rows
