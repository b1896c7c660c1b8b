"""The timeline of an AU table: the first face's probabilities (and intensities) on the source's frame
grid, drawn by :func:`mindface_au.plots.plot_au_timeline`."""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import pandas as pd

from ... import plots
from ...evaluation import binarize
from .columns import CsvLayout


def timeline_probs(table: pd.DataFrame, layout: CsvLayout, columns=None) -> Tuple[np.ndarray, int]:
    """The first face track's probabilities on the source's frame grid: ``(probs, face_id)``.

    ``probs`` is (T, C), T = the last frame (frames count from 1), C = ``len(layout.au_names)``:
    the rows are placed at their frame numbers, however many frames were skipped, and each holds
    until the next processed frame; frames without a face are NaN. ``table`` must have rows.
    ``columns``: other per-AU columns to place the same way (``layout.r_columns``: the intensities).
    """
    ok = table["success"] == 1
    face = int(table.loc[ok, "face_id"].min()) if ok.any() else 0
    track = table[table["face_id"] == face]
    probs = track.set_index("frame")[layout.p_columns if columns is None else list(columns)]
    probs = probs[~probs.index.duplicated(keep="first")].sort_index()
    frames = np.unique(table["frame"].to_numpy())
    step = int(np.diff(frames).min()) if len(frames) > 1 else 1
    probs = probs.reindex(pd.RangeIndex(1, int(probs.index.max()) + step))
    if step > 1:
        probs = probs.ffill(limit=step - 1)
    return probs.to_numpy(np.float64), face


def plot_table_timeline(table: pd.DataFrame, layout: CsvLayout, png_path: str, fps: Optional[float] = None,
                        title: str = "AU probabilities", thresholds=None) -> Optional[str]:
    """Heat map of the AU probabilities of the first face track over time (:func:`timeline_probs`),
    with the decisions at ``thresholds`` (scalar or (C,)) below it when given, and the 0-5
    intensities below them when the table has ``AUxx_r`` columns.

    The x axis is the source's frames (seconds when ``fps``). Returns ``png_path``, or None when
    the table has no rows.
    """
    if not len(table):
        return None
    probs, face = timeline_probs(table, layout)
    decisions = None if thresholds is None else binarize(probs, thresholds)
    # the AU names go along where the plot's default labels (Aff-Wild2's for 12 AUs) would not be the model's;
    # the intensities only when the table has them (the keywords of a 12-AU occurrence plot stay as they were)
    named = {} if plots.au_labels(len(layout.au_names)) == list(layout.au_names) else {"au_names": layout.au_names}
    if layout.r_columns:
        placed = timeline_probs(table, layout, layout.r_columns)[0]
        named["intensity"] = np.where(np.isnan(probs), np.nan, placed)  # no face: blank (openface holds 0 there)
    return plots.plot_au_timeline(probs, png_path, fps=fps, title=f"{title} (face {face})", decisions=decisions,
                                  **named)
