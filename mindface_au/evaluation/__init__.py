"""Evaluation: ABAW F1 scores (:func:`score`), decision thresholds, temporal smoothing, ensembles,
submissions, reports.

Everything here works on numpy arrays with one column per AU of a model, in its order (the
config's ``data.aus``; Aff-Wild2's :data:`mindface_au.constants.AU_NAMES` by default) and imports
no MindSpore: running networks over a split is
:mod:`mindface_au.engine.evaluator`, the ``Model.eval`` metric :mod:`mindface_au.engine.metric`.
"""
from .ensemble import AUTHORS_WEIGHTS, normalise_weights, weighted_mean
from .evaluate import evaluate_predictions
from .metrics import (all_positive_f1, best_thresholds, binarize, binary_f1, f1_over_grid, f1_per_au, mean_f1,
                      roc_auc_per_au)
from .predictions import load_predictions, save_predictions
from .scoring import AUScore, score
from .report import format_f1_table
from .smoothing import (PAPER_LABEL_K, PAPER_PROB_K, apply_postprocess, best_sweep_row, parse_smooth_spec, read_sweep_csv,
                        smooth_labels, smooth_probs, sweep, video_codes, write_sweep_csv)
from .submission import (ABAW6_HEADER, abaw6_rows, fill_missing_frames, image_location, order_by_template,
                         parse_image_location, read_abaw5, read_abaw5_file, read_abaw6, read_abaw6_locations,
                         read_frame_counts, write_abaw5, write_abaw6, write_submission)
from .thresholds import as_thresholds, read_threshold_file, resolve_thresholds


__all__ = [
    "AUTHORS_WEIGHTS", "normalise_weights", "weighted_mean",
    "evaluate_predictions",
    "all_positive_f1", "best_thresholds", "binarize", "binary_f1", "f1_over_grid",
    "f1_per_au", "mean_f1", "roc_auc_per_au",
    "load_predictions", "save_predictions",
    "AUScore", "score",
    "format_f1_table",
    "PAPER_LABEL_K", "PAPER_PROB_K", "apply_postprocess", "best_sweep_row", "parse_smooth_spec", "read_sweep_csv", "smooth_labels",
    "smooth_probs", "sweep", "video_codes", "write_sweep_csv",
    "ABAW6_HEADER", "abaw6_rows", "fill_missing_frames", "image_location", "order_by_template", "parse_image_location",
    "read_abaw5", "read_abaw5_file", "read_abaw6", "read_abaw6_locations", "read_frame_counts", "write_abaw5",
    "write_abaw6", "write_submission",
    "as_thresholds", "read_threshold_file", "resolve_thresholds",
]
