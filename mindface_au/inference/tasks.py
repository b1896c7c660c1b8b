"""Corpus tasks: one input of ``infer --ray`` as a plain function of picklable arguments (a Ray task).

:func:`infer_task` builds the :class:`~.detector.AUDetector` once per worker process and keeps it;
``prepare-videos``' task is :func:`~.prepare.prepare_task`.
"""
from __future__ import annotations

from typing import Dict

_DETECTORS: Dict[str, object] = {}  # per worker process: AUDetector by its settings (built once, reused)


def infer_task(spec: str, stem: str, detector_kwargs: dict, options_kwargs: dict) -> dict:
    """One input of a corpus run (a Ray task): the :class:`~.detector.AUDetector` of ``detector_kwargs``
    (built once per worker) over ``spec`` with ``InferOptions(**options_kwargs)``; a plain dict back."""
    import json

    from .detector import AUDetector

    key = json.dumps(detector_kwargs, sort_keys=True, default=str)
    if key not in _DETECTORS:
        _DETECTORS[key] = AUDetector(**detector_kwargs)
    detector = _DETECTORS[key]
    result = detector.process(spec, detector.options(**options_kwargs), stem=stem)
    return {"name": result.name, "stem": result.stem, "frames": result.frames, "rows": result.rows,
            "faces": result.faces, "error": result.error, "warnings": result.warnings, "csv": result.csv_path,
            "resumed_from": result.resumed_from, "seconds": round(sum(result.seconds.values()), 2)}
