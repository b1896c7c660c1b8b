"""Inference on real faces: detection, alignment, tracking, the AU predictor, per-frame CSV and overlays."""
from .predictor import AUPredictor, preprocess

__all__ = ["AUPredictor", "preprocess"]
