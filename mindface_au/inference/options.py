"""What an inference run is asked for (:class:`InferOptions`) and what happened to one input
(:class:`InputResult`)."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import List, Optional

import pandas as pd


@dataclass
class InferOptions:
    """What ``tools/infer.py`` (or ``AUDetector``) asks for, besides the inputs and the model.

    ``out_dir`` None: nothing is written, the table comes back in ``InputResult.table``.
    ``stop``: an Event; once set (by the caller: ``tools/infer.py`` sets it on Ctrl+C / SIGTERM), the
    batch in flight is finished and the input ends (interrupted).
    """

    out_dir: Optional[str]
    all_faces: bool = False
    aligned: bool = False
    skip_frames: int = 0
    prob_k: int = 0
    label_k: int = 0
    save_aligned: bool = False
    plot: bool = False
    overlay: bool = False
    progress: bool = True
    fps: Optional[float] = None  # timestamps of image folders
    csv_format: str = "mindface"
    smooth_edges: str = "clip"
    stop: Optional[threading.Event] = None
    detect_every: int = 1  # > 1: detect on one frame in N, optical-flow landmark tracking in between
    prefetch: int = 16  # decode + detect this many faces ahead in a producer thread (0: serial)
    resume: bool = False  # continue the CSV on disk from its last frame (see mindface_au.inference.resume)
    mark_complete: bool = False  # record finished inputs under <out>/.complete/ (corpus runs skip them)


@dataclass
class InputResult:
    """What happened to one input."""

    name: str
    csv_path: Optional[str] = None
    rows: int = 0
    faces: int = 0
    frames: int = 0  # frames whose rows were written
    error: Optional[str] = None
    warnings: List[str] = field(default_factory=list)
    seconds: dict = field(default_factory=dict)  # time spent: source+detection+alignment, network, writing
    stem: str = ""
    overlay_path: Optional[str] = None
    plot_path: Optional[str] = None
    interrupted: bool = False
    kind: str = ""  # the source's kind: image, folder, video, webcam
    fps: Optional[float] = None
    table: Optional[pd.DataFrame] = None  # the rows, when InferOptions.out_dir is None
    resumed_from: Optional[int] = None  # the frame a resumed run started at (its rows before it were kept)
    already_complete: bool = False  # nothing to do: the outputs on disk were finished
