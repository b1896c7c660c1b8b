"""``AUPredictor``: per-AU probabilities and decisions for aligned face crops, from any backend.

Backends (:mod:`mindface_au.inference.backends`, chosen from the file): a checkpoint + config
(the MindSpore Cell in GRAPH_MODE), a MindIR file (``ms.load`` + ``nn.GraphCell``), an ONNX file
(ONNX Runtime, fp32 or int8 QDQ; or OpenVINO with ``runtime='openvino'``) or an OpenVINO IR
(``.xml``, fp32 / bf16 / int8). Only the Cell and MindIR need MindSpore. Exported files carry no
settings, so export writes ``<file>.json`` beside them (input size, normalisation, eval resize,
per-AU thresholds; :mod:`mindface_au.sidecar`); the predictor reads it when present.

``predict(faces)``: ``faces`` are aligned RGB crops, uint8, (B, H, W, 3) or a list of (H, W, 3)
(ArcFace 112x112 template, as :mod:`mindface_au.inference.align` makes them). They get the
evaluation transform of training (resize to ``resize * S / 112``, centre crop S, normalise)
and go through the network in batches. Returns ``(probs (B, n) float32, decisions (B, n) int8)``
with the checkpoint's per-AU thresholds (0.5 where none were saved). ``predict_outputs(faces)``
gives :class:`AUOutputs`: the same, plus the intensities (B, n) in [0, 5] of a model with the
intensity head (``has_intensity``; None without it). Whether a model has it comes from its config
(a checkpoint) or from the exported file's metadata / sidecar (:mod:`mindface_au.sidecar`), and
every output's width is checked against it (:func:`mindface_au.outputs.split_outputs`).
"""
from __future__ import annotations

import os
import warnings
from typing import NamedTuple, Optional, Sequence

import numpy as np

from ..constants import AU_NAMES
from ..engine.predict import predict_array
from ..evaluation.metrics import binarize
from ..evaluation.thresholds import resolve_thresholds
from ..outputs import output_width, split_outputs
from ..sidecar import exported_au_names, exported_intensity, read_sidecar, sidecar_path

from ..transforms import eval_preprocess as preprocess  # noqa: E402  (the eval transform of training)


class AUOutputs(NamedTuple):
    """What :meth:`AUPredictor.predict_outputs` gives for B crops: ``probs`` (B, n) float32, ``decisions``
    (B, n) int8, ``intensity`` (B, n) float32 in [0, 5] or None (a model without the intensity head)."""

    probs: np.ndarray
    decisions: np.ndarray
    intensity: Optional[np.ndarray] = None


class AUPredictor:
    """Probabilities, 0/1 decisions (and intensities) for aligned face crops. Build with a ``from_*``
    constructor; ``has_intensity``: the model's output holds the n intensities after the n probabilities."""

    def __init__(self, run, input_size: int = 112, resize: int = 128, norm: str = "imagenet",
                 thresholds: Optional[Sequence[float]] = None, batch_size: int = 32, backend: str = "cell",
                 au_names: Sequence[str] = AU_NAMES, precision: str = "fp32", intensity: bool = False):
        self._run = run
        self.has_intensity = bool(intensity)
        self.input_size = int(input_size)
        self.resize = int(resize)
        self.norm = norm
        self.au_names = list(au_names)
        self.thresholds = resolve_thresholds(0.5 if thresholds is None else thresholds, au_names=self.au_names)
        self.batch_size = int(batch_size)
        self.backend = backend
        self.precision = precision

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_checkpoint(cls, ckpt: Optional[str], config: Optional[str] = None, overrides=(), batch_size: int = 32):
        """From a checkpoint (its saved config unless ``config``); ``ckpt=None`` gives random weights + a warning."""
        from ..config import config_au_names
        from ..factory import config_from_checkpoint, restore_model
        from ..engine.predict import sigmoid_cell
        from ..runtime import setup_for_config

        cfg = config_from_checkpoint(ckpt, config, overrides)
        setup_for_config(cfg, fallback=True, seed=False)  # a saved Ascend config runs on this machine
        net, meta = restore_model(cfg, ckpt)
        from .backends import CellBackend

        return cls(CellBackend(sigmoid_cell(net), ckpt, batch_size), cfg["model"]["input_size"], cfg["data"]["resize"],
                   cfg["data"]["norm"], meta.get("thresholds"), batch_size, backend="cell",
                   au_names=config_au_names(cfg), intensity=cfg["model"].get("intensity", False))

    @classmethod
    def from_exported(cls, path: str, batch_size: int = 32, precision: Optional[str] = None,
                      runtime: Optional[str] = None, threads: Optional[int] = None, **settings):
        """From an ``.xml`` (OpenVINO IR), ``.onnx`` or ``.mindir`` file, its runtime chosen from the file.

        ``precision`` (``fp32``/``bf16``/``int8``, None = the file's, or the CPU's best for OpenVINO),
        ``runtime`` (``openvino``/``onnxruntime``/``mindspore``, e.g. an ONNX file in OpenVINO) and
        ``threads`` go to :func:`~mindface_au.inference.backends.open_backend`. Settings come from the
        file's ``.json`` sidecar, else ``settings``/defaults; the AU names and whether the output has
        intensities from the file (ONNX, OpenVINO) or its sidecar, else Aff-Wild2's 12 without.
        """
        from .backends import open_backend

        model = open_backend(path, precision=precision, runtime=runtime, threads=threads)
        info = read_sidecar(path)
        if info is None:
            info = {}
            warnings.warn(f"{path}: no {os.path.basename(sidecar_path(path))} beside it; assuming input 112, "
                          "ImageNet normalisation and thresholds 0.5", stacklevel=2)
        info.update({k: v for k, v in settings.items() if v is not None})
        au_names = exported_au_names(info, model.au_names, path)
        intensity = exported_intensity(info, model.intensity, path)
        backend = {"mindspore": "mindir", "onnxruntime": "onnx", "openvino": "openvino"}[model.runtime]
        return cls(model, info.get("input_size", 112), info.get("resize", 128), info.get("norm", "imagenet"),
                   info.get("thresholds"), batch_size, backend=backend, au_names=au_names,
                   precision=model.precision, intensity=intensity)

    # ------------------------------------------------------------------ prediction
    @property
    def output_width(self) -> int:
        """Columns of the model's output: n, or 2n with the intensity head."""
        return output_width(len(self.au_names), self.has_intensity)

    def predict_preprocessed(self, x: np.ndarray) -> np.ndarray:
        """(B, 3, S, S) float32 network input -> the model's output in batches of ``batch_size``: (B, n)
        probabilities, or (B, 2n) with the intensity head (then the intensities).

        The Cell backend zero-pads a short batch to the next power of two (at most ``batch_size``):
        GRAPH_MODE compiles once per input shape, so this bounds the compilations.
        """
        out = predict_array(self._run, x, self.batch_size, num_outputs=self.output_width)
        if out.shape[-1] != self.output_width:
            raise ValueError(f"{getattr(self._run, 'path', None) or 'the model'}: its output has {out.shape[-1]} "
                             f"columns, expected {self.output_width} ({len(self.au_names)} AUs, "
                             f"{'with' if self.has_intensity else 'without'} intensity)")
        return out

    def predict_outputs(self, faces) -> AUOutputs:
        """Aligned RGB uint8 crops -> :class:`AUOutputs` (probabilities, decisions, intensities or None)."""
        if len(faces) == 0:
            out = np.zeros((0, self.output_width), np.float32)
        else:
            out = self.predict_preprocessed(preprocess(faces, self.input_size, self.resize, self.norm))
        probs, intensity = split_outputs(out, len(self.au_names))
        return AUOutputs(probs, binarize(probs, self.thresholds), intensity)

    def predict(self, faces) -> tuple:
        """Aligned RGB uint8 crops -> (probs (B, n) float32, decisions (B, n) int8)."""
        return tuple(self.predict_outputs(faces)[:2])
