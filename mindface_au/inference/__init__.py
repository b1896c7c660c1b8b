"""Inference on real faces: detection, alignment, tracking, the AU predictor, per-frame tables and overlays."""
from .predictor import AUPredictor, preprocess


def __getattr__(name):  # lazy: the table API pulls in pandas and tqdm
    if name == "AUDetector":
        from .detector import AUDetector

        return AUDetector
    if name == "AUTable":
        from .table import AUTable

        return AUTable
    raise AttributeError(name)


__all__ = ["AUDetector", "AUPredictor", "AUTable", "preprocess"]
