"""Per-frame AU tables for images, folders, videos and webcams: the one loop behind ``tools/infer.py``
and :class:`~mindface_au.inference.detector.AUDetector`.

For each input, frames stream through detection + alignment (:func:`~.stream.iter_faces`, called
from :func:`process_input` only); face crops are batched through the :class:`AUPredictor`
(:class:`~.batcher.FrameBatcher`); each batch becomes a table (:mod:`mindface_au.inference.table`)
that is appended to ``<out>/<stem>.csv`` at once (so a long video never holds more than one batch
of frames in memory), or collected and returned when there is no output folder (the Python API).
Temporal smoothing (``prob_k`` / ``label_k``, the paper's post-processing, windows in frames) is a
second pass over the table, per face track; the timeline plot reads the table too.

Resuming (``InferOptions.resume``): the CSV a kill left behind is kept up to its last frame, that
frame and the rest are computed and appended (:mod:`~.resume`), and smoothing / the plot run over
the whole table at the end, so the CSV equals an uninterrupted run's. The overlay of the resumed part
goes to ``<stem>_overlay_from<frame>.mp4`` (an MP4 cut by SIGKILL has no index and cannot be
extended; Ctrl+C / SIGTERM close it properly).

Stopping: when ``InferOptions.stop`` (a :class:`threading.Event` the caller sets; the command line
sets it on Ctrl+C or SIGTERM) is set, the batch in flight is predicted and written, the overlay
video and the CSV are closed, and the result says ``interrupted``. Nothing here handles signals.
"""
from __future__ import annotations

import os
import time
from typing import Iterator, Optional

from tqdm import tqdm

from .batcher import FrameBatcher, TableSink
from .csv_writer import AUCsvWriter
from .naming import output_stem
from .options import InferOptions, InputResult
from .predictor import AUPredictor
from .resume import ResumePoint, clear_complete, mark_complete, read_resume_point, truncate_csv
from .sources import FrameSource, SourceError, open_source
from .stream import iter_faces, prefetch
from .table import CsvLayout, plot_table_timeline, read_au_csv, smooth_table, write_au_csv
from .tracking import IoUTracker


def _open(spec, opts: InferOptions, result: InputResult, start_frame: int = 1) -> Optional[FrameSource]:
    """The input's frame source, or None with ``result.error`` set when it cannot be opened."""
    try:
        source = spec if isinstance(spec, FrameSource) else open_source(spec, skip_frames=opts.skip_frames,
                                                                          fps=opts.fps, start_frame=start_frame)
    except SourceError as exc:
        result.error = str(exc)
        return None
    result.kind, result.fps = source.kind, source.fps
    return source


def _face_records(source: FrameSource, detector, opts: InferOptions, result: InputResult,
                  names: Optional[dict]) -> Iterator:
    """The source's face records (detected, tracked, aligned 112x112 crops), read ahead in a thread when
    ``opts.prefetch``; a folder's file names go into ``names`` (frame index -> path) as frames are read."""
    def frames():
        for frame in source:
            if names is not None:
                names[frame.index] = frame.name
            yield frame

    tracker = IoUTracker() if opts.all_faces else None
    records = iter_faces(frames(), None if opts.aligned else detector, opts.all_faces, tracker, size=112,
                         detect_every=opts.detect_every, timings=result.seconds)
    return prefetch(records, opts.prefetch) if opts.prefetch > 0 else records


def _feed(records, batcher: FrameBatcher, opts: InferOptions, result: InputResult, bar) -> None:
    """Every record into ``batcher`` until the records end or ``opts.stop`` is set (checked between
    frames: ``result.interrupted``); the time spent waiting for faces goes into ``result.seconds``."""
    wait_key = "waiting_for_faces" if opts.prefetch > 0 else "source_detect_align"
    last = None
    t0 = time.perf_counter()
    for record in records:
        result.seconds[wait_key] = result.seconds.get(wait_key, 0.0) + time.perf_counter() - t0
        if record.frame_idx != last:
            if opts.stop is not None and opts.stop.is_set():
                result.interrupted = True
                return
            bar.update(1)
            last = record.frame_idx
        batcher.add(record)
        t0 = time.perf_counter()


def _stream(source: FrameSource, records, predictor: AUPredictor, layout: CsvLayout, opts: InferOptions,
            result: InputResult, names: Optional[dict], point: Optional[ResumePoint] = None):
    """Run the records through the predictor into the CSV (or a :class:`TableSink`); returns the sink.
    Whatever stops the loop, the batch in flight is written and every file and the reader are closed;
    read and write errors end up in ``result.error``."""
    bar = tqdm(total=source.expected_frames, desc=result.stem, unit="frame", disable=not opts.progress, leave=False)
    sink = None
    try:
        if point is not None:  # a resumed run: cut the CSV back to the frame before point.start_frame
            truncate_csv(result.csv_path, point, AUCsvWriter.header_of(layout).rstrip("\n"))
        sink = (AUCsvWriter(result.csv_path, layout=layout, append=point is not None) if opts.out_dir
                else TableSink(layout))
        batcher = FrameBatcher(predictor, sink, layout, opts, result.stem, result, source.fps, names)
        try:
            _feed(records, batcher, opts, result, bar)
        finally:
            batcher.close()  # the batch in flight: predicted, written; the overlay closed
    except (SourceError, OSError, ValueError) as exc:
        result.error = f"{result.name}: {exc}"
    finally:
        if sink is not None:
            sink.close()
        bar.close()
        close = getattr(records, "close", None)
        if close is not None:
            close()  # stops the frame reader (a producer thread, if any)
    return sink


def _resume_point(opts: InferOptions, result: InputResult) -> Optional[ResumePoint]:
    """Where this input continues (``opts.resume`` and a CSV on disk), else None: it starts over."""
    if not (opts.out_dir and opts.resume):
        return None
    point = read_resume_point(result.csv_path)
    if point is not None and point.finished:  # smoothed (at the end of a run, or of a stopped one): raw rows again
        table = read_au_csv(result.csv_path)
        write_au_csv(table[[c for c in table.columns if not c.endswith("_smooth")]], result.csv_path)
        point = read_resume_point(result.csv_path)
    if point is not None:
        result.resumed_from = point.start_frame
    return point


def process_input(spec, predictor: AUPredictor, detector, opts: InferOptions, stem: Optional[str] = None
                  ) -> InputResult:
    """Run one input (a path, ``webcam:N`` or a :class:`FrameSource`) to its table: the CSV in
    ``opts.out_dir`` (and optional crops, overlay, smoothing, plot), or ``result.table`` when
    ``out_dir`` is None. Errors are reported in the result (``error``), never raised, so the other
    inputs go on; ``stem`` names the outputs (default :func:`~.naming.output_stem`). With
    ``opts.resume`` a CSV on disk is continued from its last frame (see the module docstring)."""
    result = InputResult(name=str(getattr(spec, "name", spec)), stem=stem or output_stem(spec))
    if opts.out_dir:
        result.csv_path = os.path.join(opts.out_dir, f"{result.stem}.csv")
    try:
        point = _resume_point(opts, result)
    except (OSError, ValueError) as exc:
        result.error = f"{result.name}: cannot resume {result.csv_path}: {exc}"
        return result
    if opts.mark_complete and opts.out_dir:
        clear_complete(opts.out_dir, result.stem)
    source = _open(spec, opts, result, start_frame=point.start_frame if point else 1)
    if source is None:
        return result
    folder = source.kind == "folder"
    layout = CsvLayout(opts.csv_format, predictor.au_names, ("file",) if folder else (),
                       intensity=predictor.has_intensity)
    names = {} if folder else None
    records = _face_records(source, detector, opts, result, names)
    sink = _stream(source, records, predictor, layout, opts, result, names, point)
    result.warnings = [f"{path}: {msg}" for path, msg in getattr(source, "errors", [])]
    if result.error is None and result.frames == 0 and not result.interrupted:
        result.error = f"{result.name}: no frames could be read"
    if result.error is None:
        try:
            _post_process(result, layout, sink, predictor, opts, source)
        except (OSError, ValueError) as exc:
            result.error = f"{result.name}: {exc}"
    return _finish(result, opts)


def _finish(result: InputResult, opts: InferOptions) -> InputResult:
    """Record a finished input (``opts.mark_complete``) so that corpus reruns skip it."""
    if opts.mark_complete and opts.out_dir and result.error is None and not result.interrupted:
        mark_complete(opts.out_dir, result.stem, source=result.name, frames=result.frames, rows=result.rows,
                      resumed_from=result.resumed_from)
    return result


def _post_process(result: InputResult, layout: CsvLayout, sink, predictor, opts: InferOptions, source) -> None:
    """Smoothing (videos and webcams) and the timeline plot, over the whole table."""
    smooth = source.kind in ("video", "webcam") and (opts.prob_k or opts.label_k)
    plot = opts.plot and opts.out_dir and result.rows
    if opts.out_dir is None:
        table = sink.table()
    elif smooth or plot:
        table = read_au_csv(result.csv_path)
    else:
        return
    if smooth:
        table, layout = smooth_table(table, layout, opts.prob_k, opts.label_k, predictor.thresholds,
                                     frame_step=opts.skip_frames + 1, edges=opts.smooth_edges)
        if opts.out_dir:
            write_au_csv(table, result.csv_path, layout)
    if plot:
        result.plot_path = plot_table_timeline(table, layout, os.path.join(opts.out_dir, f"{result.stem}_timeline.png"),
                                               source.fps, result.stem, predictor.thresholds)
    if opts.out_dir is None:
        result.table = table
