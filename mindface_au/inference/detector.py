"""``AUDetector``: the Python API of inference, returning pandas tables (as py-feat and LibreFace do).

    from mindface_au.inference import AUDetector

    detector = AUDetector(model="work_dirs/demo_cpu/best.ckpt")   # or "au.onnx", "au.mindir"
    frames = detector.detect_video("clip.mp4", skip_frames=2, smooth="prob=8,label=6")
    frames[frames.success == 1].AU12_p.mean()
    frames.to_csv("clip.csv")          # the CSV tools/infer.py writes
    frames.plot_timeline("clip.png")   # the PNG heat map of --plot

Every ``detect_*`` runs :func:`mindface_au.inference.run.process_input`, the loop of
``tools/infer.py``, without an output folder: the same rows, columns (``csv_format``) and
smoothing, returned as an :class:`~mindface_au.inference.table.AUTable` (a DataFrame). A model
with the intensity head (``model.intensity``) adds the 0-5 intensities ``AUxx_r`` (smoothed into
``AUxx_r_smooth`` with the probabilities).

``model`` is a checkpoint (``.ckpt``; its saved config rebuilds the network unless ``config``),
an exported ``.mindir`` / ``.onnx`` file (settings from its ``.json`` sidecar), or a registered
network name (``mindface_au.list_models('network')``) with ``checkpoint=`` holding the weights.
"""
from __future__ import annotations

import os
import warnings
from typing import Optional, Sequence, Union

import numpy as np

from ..evaluation.thresholds import resolve_thresholds
from ..sidecar import read_sidecar
from .predictor import AUPredictor
from .run import InferOptions, process_input
from .sources import ArraySource, SourceError, expand_inputs, is_video_file
from .table import AUTable, as_au_table

EXPORTED_EXTENSIONS = (".mindir", ".onnx", ".xml")
SYNTHETIC_NOTICE = ("{model} was trained on synthetic (rendered) faces only, not on real ones: its AU outputs on "
                    "real faces show that the pipeline runs, not what the faces do. For meaningful AUs, train on "
                    "Aff-Wild2 (convert the Glint360K backbone, train with a paper recipe, export); see the README.")


def trained_on_synthetic(meta: dict) -> Optional[bool]:
    """What a checkpoint's (or export sidecar's) metadata says about its training data: True for synthetic
    data, False for real data, None when it does not say. Reads ``meta['trained_on']['synthetic']``,
    else the saved config's ``data.synthetic``."""
    trained_on = meta.get("trained_on")
    if isinstance(trained_on, dict) and trained_on.get("synthetic") is not None:
        return bool(trained_on["synthetic"])
    data = (meta.get("config") or {}).get("data") or {}
    if data.get("synthetic") is not None:
        return bool(data["synthetic"])
    return None


def _smooth_ks(smooth) -> tuple:
    from ..evaluation import parse_smooth_spec

    if smooth is None or smooth is False:
        return 0, 0
    if smooth is True:
        from ..evaluation.smoothing import PAPER_LABEL_K, PAPER_PROB_K

        return PAPER_PROB_K, PAPER_LABEL_K
    if isinstance(smooth, str):
        return parse_smooth_spec(smooth)
    prob_k, label_k = smooth
    return int(prob_k), int(label_k)


class AUDetector:
    """Faces -> per-frame AU probabilities and decisions, as tables.

    Args:
        model: checkpoint, exported file, or registered network name (see the module docstring);
            None gives random weights (with a warning).
        checkpoint: the weights when ``model`` is a registered name.
        config: a config file to rebuild a checkpoint's network instead of its saved config.
        overrides: ``key=value`` config overrides (e.g. ``device=CPU``).
        face_detector: ``'yuface'`` (default), ``'haar'``, a detector object, or None when the
            inputs already are aligned face crops.
        threshold: decisions: 0.5 (default, as every tool), a number, ``'ckpt'`` (the model's saved
            per-AU thresholds), a JSON file, or an array of one value per AU.
        all_faces: every face, tracked across frames (``face_id``), instead of the largest only.
        csv_format: column names of the tables: ``'mindface'`` or ``'openface'``.
        smooth_edges: ``'clip'`` or ``'keep'``, the window rule at a video's ends when smoothing.
        batch_size: faces per network call.
        warn_synthetic: warn once when the model was trained on synthetic faces.
        detector_memory_mb: a named ``face_detector`` runs in a child process replaced once it grew by this
            many MB (:class:`~.detector_worker.WorkerDetector`: memory stays flat however long the video);
            0 or None runs it in this process (yuface then grows ~30 KB per frame).
        precision, runtime: of an exported model (see :meth:`AUPredictor.from_exported`): ``fp32``/``bf16``/
            ``int8`` and ``openvino``/``onnxruntime``/``mindspore``; None = from the file and the CPU.
    """

    def __init__(self, model: Optional[str] = None, checkpoint: Optional[str] = None, *, config: Optional[str] = None,
                 overrides: Sequence[str] = (), face_detector="yuface", threshold="0.5", all_faces: bool = False,
                 csv_format: str = "mindface", smooth_edges: str = "clip", batch_size: int = 32,
                 progress: bool = False, warn_synthetic: bool = True, precision: Optional[str] = None,
                 runtime: Optional[str] = None, detector_memory_mb: Optional[float] = 32.0):
        from .table import CSV_FORMATS

        if csv_format not in CSV_FORMATS:
            raise ValueError(f"csv_format must be one of {CSV_FORMATS}, got {csv_format!r}")
        self.csv_format, self.smooth_edges, self.all_faces, self.progress = csv_format, smooth_edges, all_faces, progress
        self.model_path = model
        meta: dict = {}
        model = None if model is None else os.fspath(model)
        if model is not None and model.lower().endswith(EXPORTED_EXTENSIONS):
            if checkpoint:
                raise ValueError(f"{model} is an exported model: it takes no checkpoint")
            self.predictor = AUPredictor.from_exported(model, batch_size=batch_size, precision=precision,
                                                       runtime=runtime)
            meta = read_sidecar(model) or {}
            saved = meta.get("thresholds")
        else:
            overrides = list(overrides)
            ckpt = model
            if model is not None and not os.path.isfile(model) and not model.lower().endswith(".ckpt"):
                from ..models import list_models

                if model not in list_models("network"):
                    raise FileNotFoundError(f"{model}: no such checkpoint or exported file, and not a registered "
                                            f"network ({', '.join(list_models('network'))})")
                overrides.append(f"model.name={model}")
                ckpt = checkpoint
                self.model_path = checkpoint or model
            elif checkpoint:
                raise ValueError("checkpoint= goes with a registered network name; give the checkpoint as model=")
            if ckpt is not None:
                from ..checkpoint import load_checkpoint_meta

                meta = load_checkpoint_meta(ckpt)
            self.predictor = AUPredictor.from_checkpoint(ckpt, config, overrides, batch_size=batch_size)
            saved = meta.get("thresholds")
        self.au_names = list(self.predictor.au_names)
        self.saved_thresholds = None if saved is None else np.asarray(saved, np.float32)
        self.set_threshold(threshold)
        self.trained_on_synthetic = trained_on_synthetic(meta)
        self.notice = (SYNTHETIC_NOTICE.format(model=self.model_path) if self.trained_on_synthetic else None)
        if self.notice and warn_synthetic:
            warnings.warn(self.notice, stacklevel=2)
        if face_detector is None or not isinstance(face_detector, str):
            self.face_detector = face_detector
        elif detector_memory_mb:
            from .detector_worker import WorkerDetector

            self.face_detector = WorkerDetector(face_detector, budget_mb=detector_memory_mb)
        else:
            from .face import create_detector

            self.face_detector = create_detector(face_detector)

    def set_threshold(self, threshold) -> None:
        """Change the decision thresholds (any value ``threshold=`` takes)."""
        self.thresholds = resolve_thresholds(threshold, self.saved_thresholds, self.au_names,
                                             saved_source=str(self.model_path or "the model"))
        self.predictor.thresholds = self.thresholds

    # ------------------------------------------------------------------ the loop, shared with tools/infer.py
    def options(self, out_dir: Optional[str] = None, **kwargs) -> InferOptions:
        """:class:`InferOptions` with this detector's settings (``kwargs`` override them)."""
        settings = dict(all_faces=self.all_faces, aligned=self.face_detector is None, csv_format=self.csv_format,
                        smooth_edges=self.smooth_edges, progress=self.progress)
        settings.update(kwargs)
        return InferOptions(out_dir=out_dir, **settings)

    def process(self, spec, opts: InferOptions, stem: Optional[str] = None):
        """One input through :func:`process_input` (what ``tools/infer.py`` calls per input)."""
        return process_input(spec, self.predictor, self.face_detector, opts, stem=stem)

    def _table(self, spec, opts: InferOptions) -> AUTable:
        result = self.process(spec, opts)
        if result.error:
            raise SourceError(result.error)
        return as_au_table(result.table, source=result.name, fps=result.fps, kind=result.kind,
                           thresholds=self.thresholds.tolist())

    # ------------------------------------------------------------------ the API
    def detect_image(self, image: Union[str, os.PathLike, np.ndarray], rgb: bool = False) -> AUTable:
        """One image (a path, or an (H, W, 3) uint8 array: BGR as OpenCV reads it, RGB with ``rgb=True``):
        one row per face (the largest only unless ``all_faces``), or one ``success=0`` row."""
        spec = ArraySource(image, rgb=rgb) if isinstance(image, np.ndarray) else os.fspath(image)
        return self._table(spec, self.options())

    def detect_video(self, path: Union[str, os.PathLike], skip_frames: int = 0, smooth=None) -> AUTable:
        """Every frame of a video (one row per frame and face; ``success=0`` rows where no face was found).

        skip_frames: process one frame, then skip N. smooth: None, ``'prob=8,label=6'``, ``(prob_k,
        label_k)`` or True (the paper's 8, 6); windows count frames; smoothed values go in
        ``<AU>_p_smooth`` (``<AU>_r_smooth``) / ``<AU>_c_smooth``, the raw ones stay.
        """
        prob_k, label_k = _smooth_ks(smooth)
        return self._table(os.fspath(path), self.options(skip_frames=skip_frames, prob_k=prob_k, label_k=label_k))

    def detect_folder(self, path: Union[str, os.PathLike], skip_frames: int = 0, smooth=None,
                      fps: Optional[float] = None) -> AUTable:
        """The images of a folder (one table, column ``file``) and its videos (video by video, as
        :meth:`detect_video`; their rows carry the video's file name in ``file``)."""
        import pandas as pd

        path = os.fspath(path)
        if not os.path.isdir(path):
            raise SourceError(f"{path}: not a folder")
        prob_k, label_k = _smooth_ks(smooth)
        tables = []
        for spec in expand_inputs([path]):
            opts = self.options(skip_frames=skip_frames, prob_k=prob_k, label_k=label_k, fps=fps)
            table = self._table(spec, opts)
            if is_video_file(spec):
                table = table.assign(file=os.path.basename(spec))
            tables.append(pd.DataFrame(table))
        if not tables:
            raise SourceError(f"{path}: folder holds no images or videos")
        columns = max((list(t.columns) for t in tables), key=len)
        out = pd.concat(tables, ignore_index=True)
        out = out[[c for c in columns if c != "file"] + ["file"]]
        return as_au_table(out, source=path, fps=fps, kind="folder", thresholds=self.thresholds.tolist())

    def __repr__(self) -> str:
        return (f"AUDetector(model={self.model_path!r}, backend={self.predictor.backend!r}, "
                f"face_detector={getattr(self.face_detector, 'name', self.face_detector)!r}, "
                f"csv_format={self.csv_format!r})")
