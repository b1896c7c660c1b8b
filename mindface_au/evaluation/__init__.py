"""Evaluation: ABAW F1 metrics, threshold search, temporal smoothing, ensembles, submissions, reports.

Everything here works on numpy arrays in the Aff-Wild2 AU order of
:data:`mindface_au.constants.AU_NAMES`; only :class:`AUF1Metric` and :func:`predict_checkpoints`
(running checkpoints over a split) touch MindSpore, on first use.
"""
from .ensemble import AUTHORS_WEIGHTS, normalise_weights, weighted_mean
from .evaluate import evaluate_predictions, predict_checkpoints
from .metrics import (all_positive_f1, as_thresholds, best_thresholds, binarize, binary_f1,
                      f1_over_grid, f1_per_au, mean_f1)
from .predictions import load_predictions, save_predictions
from .report import format_f1_table
from .smoothing import (PAPER_LABEL_K, PAPER_PROB_K, apply_postprocess, best_sweep_row, parse_smooth_spec, read_sweep_csv,
                        smooth_labels, smooth_probs, sweep, video_codes, write_sweep_csv)
from .submission import (ABAW6_HEADER, abaw6_rows, fill_missing_frames, image_location, order_by_template,
                         parse_image_location, read_abaw5, read_abaw5_file, read_abaw6, read_abaw6_locations,
                         read_frame_counts, write_abaw5, write_abaw6, write_submission)


def __getattr__(name):  # MindSpore only on first use of the Metric
    if name == "AUF1Metric":
        from .ms_metric import AUF1Metric

        return AUF1Metric
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AUTHORS_WEIGHTS", "normalise_weights", "weighted_mean",
    "evaluate_predictions", "predict_checkpoints",
    "AUF1Metric", "all_positive_f1", "as_thresholds", "best_thresholds", "binarize", "binary_f1", "f1_over_grid",
    "f1_per_au", "mean_f1",
    "load_predictions", "save_predictions",
    "format_f1_table",
    "PAPER_LABEL_K", "PAPER_PROB_K", "apply_postprocess", "best_sweep_row", "parse_smooth_spec", "read_sweep_csv", "smooth_labels",
    "smooth_probs", "sweep", "video_codes", "write_sweep_csv",
    "ABAW6_HEADER", "abaw6_rows", "fill_missing_frames", "image_location", "order_by_template", "parse_image_location",
    "read_abaw5", "read_abaw5_file", "read_abaw6", "read_abaw6_locations", "read_frame_counts", "write_abaw5",
    "write_abaw6", "write_submission",
]
