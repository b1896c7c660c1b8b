"""Inference on real faces: detection, alignment, tracking, the AU predictor, per-frame tables and overlays.

Names are imported on first use, so that a face-detector worker process (:mod:`.detector_worker`)
imports OpenCV and the detector only, not the predictor's dependencies.
"""
_LAZY = {"AUDetector": "detector", "AUPredictor": "predictor", "preprocess": "predictor", "AUTable": "table"}


def __getattr__(name):  # lazy: the predictor pulls in the evaluation code, the table API pandas and tqdm
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(name)


__all__ = ["AUDetector", "AUPredictor", "AUTable", "preprocess"]
