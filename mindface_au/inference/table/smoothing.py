"""The paper's temporal post-processing over an AU table, per face track, in new columns
(:mod:`mindface_au.evaluation.smoothing` does the smoothing)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ...evaluation import binarize, smooth_labels, smooth_probs
from .columns import CsvLayout


def smooth_table(table: pd.DataFrame, layout: CsvLayout, prob_k: int = 0, label_k: int = 0, thresholds=0.5,
                 frame_step: int = 1, edges: str = "clip") -> tuple:
    """The paper's post-processing per face track, in new columns: ``(table, layout)``.

    Windows count **frames**: ``prob_k=8`` averages the rows of frames t-8 ... t+8. When only every
    ``frame_step``-th frame was processed (``--skip-frames frame_step - 1``), that window holds
    ``prob_k // frame_step`` processed frames on each side. Rows with ``success=0`` are skipped
    over, as :mod:`mindface_au.evaluation.smoothing` skips frames absent from a video; each
    ``face_id`` is its own track. ``edges``: 'clip' or 'keep' (see that module).

    Adds ``<AU>_p_smooth`` (when ``prob_k``) and ``<AU>_c_smooth`` (decisions of the smoothed
    probabilities at ``thresholds``, then label smoothing when ``label_k``); the raw columns stay.
    A table with intensities (``layout.intensity``) also gets ``<AU>_r_smooth`` when ``prob_k``: the
    intensities averaged over the same windows as the probabilities.
    """
    frame_step = max(1, int(frame_step))
    rows_prob, rows_label = int(prob_k) // frame_step, int(label_k) // frame_step
    for name, k, rows in (("prob", prob_k, rows_prob), ("label", label_k, rows_label)):
        if k and not rows:
            warnings.warn(f"--smooth {name}={k}: a window of +-{k} frames holds no other processed frame when "
                          f"one frame in {frame_step} is processed; {name} smoothing does nothing", stacklevel=2)
    if not (prob_k or label_k):
        return table, layout
    out_layout = layout.with_smoothing(bool(prob_k), True)
    ok = (table["success"] == 1).to_numpy()
    n_aus = len(layout.au_names)
    probs = table[layout.p_columns].to_numpy(np.float64)
    intensity = table[layout.r_columns].to_numpy(np.float64)  # (N, 0) without intensity columns
    smoothed = np.concatenate([probs, intensity], axis=1)
    decisions = np.full(probs.shape, layout.faceless_decision)
    if ok.any():
        # rows in frame order within each track (a stable sort keeps the written order otherwise)
        order = np.flatnonzero(ok)[np.argsort(table["frame"].to_numpy()[ok], kind="stable")]
        tracks = table["face_id"].to_numpy()[order]
        values = smoothed[order]  # probabilities and intensities share the windows
        if rows_prob:
            values = smooth_probs(values, tracks, rows_prob, edges=edges)
        d = binarize(values[:, :n_aus], thresholds)
        if rows_label:
            d = smooth_labels(d, tracks, rows_label, edges=edges)
        smoothed[order] = values
        decisions[order] = d
    out = table.copy()
    if prob_k:
        for j, c in enumerate(layout.ps_columns + layout.rs_columns):
            out[c] = smoothed[:, j]
    for j, c in enumerate(layout.cs_columns):
        out[c] = decisions[:, j]
    return out[out_layout.columns], out_layout
