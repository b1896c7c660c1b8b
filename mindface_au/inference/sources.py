"""Frame sources: an image, a folder of images, a video file or a webcam, as one iterator of frames.

``open_source(spec)`` checks the input at once and raises :class:`SourceError` (whose message names
the file) for a missing or unreadable file, a file that is neither an image nor a video OpenCV can
open, a video with no frames, or a folder without files. Iterating yields :class:`Frame` objects:

* ``index``: 1-based frame number in the source: the video's frame number (as the ABAW layout
  numbers frames, ``<index:05d>.jpg``), or the position of the file in the folder's natural sort
  order (``img2`` before ``img10``); 1 for a single image. Skipped frames keep their numbers.
* ``timestamp``: seconds: the video's presentation time of the frame; ``(index - 1) / fps`` for a
  folder when ``fps`` is given, else 0.0; seconds since opening for a webcam.
* ``image``: (H, W, 3) uint8 **BGR** (OpenCV's order; alpha dropped, grey expanded).
* ``name``: the image file's path (folder, image) or the video path / ``webcam:N``.

``start_frame=K`` (videos, folders) yields no frame before frame K (a resumed run: earlier video frames
are grabbed, not converted, so timestamps stay the video's own).
``skip_frames=N`` processes one frame, then skips N (every (N+1)-th frame; 0 = all). Skipped video
frames are grabbed but not converted. In a folder, a file that is not an image or does not decode
is reported (a :class:`SourceWarning` and an entry in ``source.errors``) and the others go on.
Videos inside a folder are not frames of it: :func:`expand_inputs` makes each one an input of its
own (a folder of videos is processed video by video), and the folder's images stay one input.
"""
from __future__ import annotations

import os
import re
import time
import warnings
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple, Union

import cv2
import numpy as np

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".dib", ".tif", ".tiff", ".webp", ".ppm",
                              ".pgm", ".pbm", ".pnm", ".jp2", ".sr", ".ras", ".exr", ".hdr", ".pic"})

VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv",
                              ".3gp", ".ts", ".mts", ".m2ts", ".ogv", ".mxf"})


class SourceError(Exception):
    """An input that cannot be used at all; the message names it."""


class SourceWarning(UserWarning):
    """One file inside a folder could not be used; the rest of the folder is processed."""


@dataclass
class Frame:
    index: int
    timestamp: float
    image: np.ndarray  # (H, W, 3) uint8 BGR
    name: str


def read_image(path: str) -> np.ndarray:
    """(H, W, 3) uint8 BGR image from a file; :class:`SourceError` naming the file if that fails."""
    _check_readable_file(path)
    data = np.fromfile(path, np.uint8)  # imdecode instead of imread: non-ASCII paths work everywhere
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise SourceError(f"{path}: not a readable image (empty, corrupt or unsupported format)")
    return image


def _check_readable_file(path: str) -> None:
    if not os.path.exists(path):
        raise SourceError(f"{path}: no such file or folder")
    if not os.path.isfile(path):
        raise SourceError(f"{path}: not a regular file")
    if not os.access(path, os.R_OK):
        raise SourceError(f"{path}: permission denied")


def _natural_key(name: str) -> Tuple:
    return tuple(int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name))


def _keep(index: int, skip_frames: int, start_frame: int = 1) -> bool:
    return index >= start_frame and (index - 1) % (skip_frames + 1) == 0


class FrameSource:
    """Base of every source. Attributes: ``name``, ``kind``, ``fps`` (None if unknown), ``errors``
    (list of (file, message) for files skipped inside a folder), ``expected_frames`` (frames the
    iterator is expected to yield; approximate for videos, None for a webcam)."""

    kind = "?"

    def __init__(self, name: str, skip_frames: int = 0, max_frames: Optional[int] = None, start_frame: int = 1):
        if skip_frames < 0:
            raise ValueError(f"skip_frames must be >= 0, got {skip_frames}")
        if max_frames is not None and max_frames < 1:
            raise ValueError(f"max_frames must be >= 1, got {max_frames}")
        self.name = name
        self.skip_frames = int(skip_frames)
        self.max_frames = max_frames
        self.start_frame = max(1, int(start_frame))
        self.fps: Optional[float] = None
        self.frames_seen = 0  # frames (skipped ones included) read by the last iteration so far
        self.errors: List[Tuple[str, str]] = []

    def _count(self, total: Optional[int]) -> Optional[int]:
        if total is None:
            return self.max_frames
        n = -(-total // (self.skip_frames + 1)) - (self.start_frame - 1) // (self.skip_frames + 1)
        return n if self.max_frames is None else min(n, self.max_frames)

    def _report(self, path: str, message: str) -> None:
        self.errors.append((path, message))
        warnings.warn(f"{path}: {message}; skipped", SourceWarning, stacklevel=3)

    def __iter__(self) -> Iterator[Frame]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, skip_frames={self.skip_frames})"


class ImageSource(FrameSource):
    """A single image file: one frame, index 1, timestamp 0."""

    kind = "image"

    def __init__(self, path: str, **kwargs):
        super().__init__(path, **kwargs)
        self._image = read_image(path)
        self.expected_frames = 1

    def __iter__(self) -> Iterator[Frame]:
        self.frames_seen = 1
        yield Frame(1, 0.0, self._image, self.name)


class ArraySource(FrameSource):
    """An image already in memory: one frame, index 1, timestamp 0. ``rgb=True`` for RGB arrays
    (PIL, matplotlib); the default is OpenCV's BGR. Grey and 4-channel images are converted."""

    kind = "image"

    def __init__(self, image: np.ndarray, name: str = "array", rgb: bool = False, **kwargs):
        from .face import as_bgr

        super().__init__(name, **kwargs)
        try:
            bgr = as_bgr(image)
        except ValueError as exc:
            raise SourceError(f"{name}: {exc}") from None
        self._image = np.ascontiguousarray(bgr[:, :, ::-1]) if rgb else bgr
        self.expected_frames = 1

    def __iter__(self) -> Iterator[Frame]:
        self.frames_seen = 1
        yield Frame(1, 0.0, self._image, self.name)


class FolderSource(FrameSource):
    """Every regular, non-hidden file of a folder (not recursive), in natural sort order."""

    kind = "folder"

    def __init__(self, path: str, fps: Optional[float] = None, **kwargs):
        super().__init__(path, **kwargs)
        if not os.access(path, os.R_OK | os.X_OK):
            raise SourceError(f"{path}: permission denied")
        self.fps = fps
        names = [n for n in os.listdir(path) if not n.startswith(".") and os.path.isfile(os.path.join(path, n))]
        if not names:
            raise SourceError(f"{path}: folder holds no files")
        names = [n for n in names if not is_video_file(n)]
        if not names:
            raise SourceError(f"{path}: folder holds only videos; each is an input of its own (expand_inputs)")
        self.files = [os.path.join(path, n) for n in sorted(names, key=_natural_key)]
        self.expected_frames = self._count(len(self.files))

    def __iter__(self) -> Iterator[Frame]:
        self.errors = []
        done = 0
        for index, path in enumerate(self.files, start=1):
            self.frames_seen = index
            if not _keep(index, self.skip_frames, self.start_frame):
                continue
            if os.path.splitext(path)[1].lower() not in IMAGE_EXTENSIONS:
                self._report(path, "not an image (unknown extension)")
                continue
            try:
                image = read_image(path)
            except SourceError as e:
                self._report(path, str(e).split(": ", 1)[-1])
                continue
            timestamp = (index - 1) / self.fps if self.fps else 0.0
            yield Frame(index, float(timestamp), image, path)
            done += 1
            if self.max_frames is not None and done >= self.max_frames:
                return


class VideoSource(FrameSource):
    """A video file decoded with OpenCV (FFmpeg backend)."""

    kind = "video"

    def __init__(self, path: str, **kwargs):
        super().__init__(path, **kwargs)
        _check_readable_file(path)
        capture = self._open()
        try:
            ok, _ = capture.read()
            if not ok:
                raise SourceError(f"{path}: video has no frames (or none that decode)")
            fps = capture.get(cv2.CAP_PROP_FPS)
            self.fps = float(fps) if fps and np.isfinite(fps) and fps > 0 else None
            count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            self.frame_count = count if count > 0 else None  # container's estimate, not always exact
        finally:
            capture.release()
        self.expected_frames = self._count(self.frame_count)

    def _open(self) -> "cv2.VideoCapture":
        capture = cv2.VideoCapture(self.name)
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"{self.name}: cannot open as a video or image (unknown format or corrupt file)")
        return capture

    def __iter__(self) -> Iterator[Frame]:
        capture = self._open()
        try:
            index = done = self.frames_seen = 0
            while True:
                if not capture.grab():
                    return
                index += 1
                self.frames_seen = index
                if not _keep(index, self.skip_frames, self.start_frame):
                    continue
                msec = capture.get(cv2.CAP_PROP_POS_MSEC)
                ok, image = capture.retrieve()
                if not ok or image is None:
                    return
                if (msec <= 0 and index > 1) or not np.isfinite(msec):
                    timestamp = (index - 1) / self.fps if self.fps else 0.0
                else:
                    timestamp = msec / 1000.0
                yield Frame(index, float(timestamp), image, self.name)
                done += 1
                if self.max_frames is not None and done >= self.max_frames:
                    return
        finally:
            capture.release()


class WebcamSource(FrameSource):
    """A camera by OpenCV index; runs until the camera stops or ``max_frames`` frames were yielded."""

    kind = "webcam"

    def __init__(self, device: int, **kwargs):
        super().__init__(f"webcam:{int(device)}", **kwargs)
        self.device = int(device)
        capture = cv2.VideoCapture(self.device)
        opened = capture.isOpened()
        capture.release()
        if not opened:
            raise SourceError(f"webcam {self.device}: cannot open the camera")
        self.expected_frames = self.max_frames

    def __iter__(self) -> Iterator[Frame]:
        capture = cv2.VideoCapture(self.device)
        if not capture.isOpened():
            raise SourceError(f"webcam {self.device}: cannot open the camera")
        fps = capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and fps > 0 else None
        start = time.monotonic()
        try:
            index = done = self.frames_seen = 0
            while True:
                ok, image = capture.read()
                if not ok:
                    return
                index += 1
                self.frames_seen = index
                if not _keep(index, self.skip_frames):
                    continue
                yield Frame(index, time.monotonic() - start, image, self.name)
                done += 1
                if self.max_frames is not None and done >= self.max_frames:
                    return
        finally:
            capture.release()


def is_video_file(path: str) -> bool:
    """Whether a file name has a video extension (:data:`VIDEO_EXTENSIONS`)."""
    return os.path.splitext(str(path))[1].lower() in VIDEO_EXTENSIONS


def expand_inputs(specs) -> List[str]:
    """The inputs with every list file (``.txt`` / ``.lst``: one input per line, see
    :func:`~.corpus.read_list_file`) replaced by its inputs, and every folder that holds videos
    replaced by its videos (natural sort order), followed by the folder itself when it also holds
    other files (its images, one input). Other inputs, missing ones included (:func:`open_source`
    names them), are kept as given."""
    from .corpus import is_list_file, read_list_file

    out: List[str] = []
    for spec in specs:
        path = str(spec)
        if is_list_file(path):
            out.extend(expand_inputs(read_list_file(path)))
            continue
        if not os.path.isdir(path) or not os.access(path, os.R_OK | os.X_OK):
            out.append(spec)
            continue
        names = sorted((n for n in os.listdir(path) if not n.startswith(".") and os.path.isfile(os.path.join(path, n))),
                       key=_natural_key)
        videos = [os.path.join(path, n) for n in names if is_video_file(n)]
        out.extend(videos)
        if len(videos) < len(names) or not names:
            out.append(spec)
    return out


def open_source(spec: Union[str, int, os.PathLike], skip_frames: int = 0, max_frames: Optional[int] = None,
                fps: Optional[float] = None, start_frame: int = 1) -> FrameSource:
    """The source for ``spec``: an int (or ``'webcam:N'``) is a camera, a folder a folder of images,
    a file with an image extension an image, any other file a video. ``fps`` sets folder timestamps;
    ``start_frame`` skips the frames before it (a resumed run).
    Raises :class:`SourceError` naming the input when it cannot be used."""
    kwargs = dict(skip_frames=skip_frames, max_frames=max_frames, start_frame=start_frame)
    if isinstance(spec, int) or (isinstance(spec, str) and re.fullmatch(r"webcam:\d+", spec)):
        return WebcamSource(int(spec) if isinstance(spec, int) else int(spec.split(":")[1]), **kwargs)
    path = os.fspath(spec)
    if os.path.isdir(path):
        return FolderSource(path, fps=fps, **kwargs)
    _check_readable_file(path)
    if os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS:
        return ImageSource(path, **kwargs)
    return VideoSource(path, **kwargs)
