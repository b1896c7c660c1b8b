"""The frame index: every usable frame of a split as flat numpy arrays, plus a read report.

A :class:`FrameIndex` holds N frames (rows) of V videos without one Python object per frame:

* ``video_ids`` (N,) int32: index into ``video_names`` of each frame's video;
* ``frames`` (N,) int32: 1-based frame number inside its video (the annotation line number);
* ``labels`` (N, A) int8: 0/1 per AU in ``au_names`` order (the reader's columns; default the 12
  Aff-Wild2 AUs, :data:`~mindface_au.constants.AU_NAMES`); -1 = not coded for that AU (BP4D's 9s,
  list files read with ``keep_partial``), to be masked; :meth:`FrameIndex.select_aus` keeps the
  columns of a model's AU set;
* ``intensity`` (N, A) float32 or None: 0-5 intensity per AU where the release codes it, NaN
  where it does not (DISFA: every AU; BP4D: AUs 6, 10, 12, 14, 17 from the FERA 2015 files);
* per video: ``video_names`` (V,), ``video_dirs`` (V,) the image folder relative to ``image_root``,
  and ``name_formats`` (V,) how a frame number becomes a file name (``"{:05d}.jpg"``).

Image paths are made on demand (:meth:`FrameIndex.path`, :attr:`FrameIndex.paths`), so the index
of Aff-Wild2 (2.6 M frames) takes ~60 MB. A list file whose names follow no per-video pattern
keeps explicit paths instead.

:class:`ReadReport` tells what the reader dropped: per video the annotation rows, the rows
dropped because they hold -1 (not annotated), the frames dropped because their image is
missing, and the videos skipped as malformed (``strict: false``).

The readers cache the index on disk, one ``.npz`` per read (:mod:`.index_cache`).
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..constants import AU_NAMES


@dataclass
class ReadReport:
    """What a reader kept and dropped, per video (arrays of shape (V,)) and in total."""

    video_names: List[str]
    rows: np.ndarray  # annotation rows (frames) per video
    unannotated: np.ndarray  # rows dropped because they hold -1
    missing: np.ndarray  # annotated rows dropped because the image file is absent
    skipped: Dict[str, str] = field(default_factory=dict)  # malformed video -> reason (strict: false)

    @property
    def kept(self) -> np.ndarray:
        return self.rows - self.unannotated - self.missing

    def totals(self) -> dict:
        return {"videos": len(self.video_names), "rows": int(self.rows.sum()),
                "unannotated": int(self.unannotated.sum()), "missing": int(self.missing.sum()),
                "kept": int(self.kept.sum()), "skipped_videos": len(self.skipped)}

    def per_video(self) -> Dict[str, dict]:
        kept = self.kept
        return {name: {"rows": int(self.rows[i]), "unannotated": int(self.unannotated[i]),
                       "missing": int(self.missing[i]), "kept": int(kept[i])}
                for i, name in enumerate(self.video_names)}

    def summary(self, max_videos: int = 10) -> str:
        """A few lines for people: totals, the videos with most drops, the skipped videos."""
        t = self.totals()
        lines = [f"{t['videos']} videos, {t['rows']} annotation rows: kept {t['kept']}, dropped "
                 f"{t['unannotated']} unannotated (-1) rows and {t['missing']} frames without image"
                 + (f"; skipped {t['skipped_videos']} malformed videos" if self.skipped else "")]
        dropped = self.unannotated + self.missing
        for i in np.argsort(-dropped, kind="stable")[:max_videos]:
            if dropped[i] == 0:
                break
            lines.append(f"  {self.video_names[i]}: {self.unannotated[i]} unannotated, {self.missing[i]} missing "
                         f"of {self.rows[i]}")
        for name, reason in list(self.skipped.items())[:max_videos]:
            lines.append(f"  skipped {name}: {reason}")
        return "\n".join(lines)


@dataclass
class FrameIndex:
    """N frames of V videos as numpy arrays; see the module docstring for the fields."""

    image_root: str
    video_names: List[str]
    video_dirs: List[str]
    name_formats: List[str]
    video_ids: np.ndarray
    frames: np.ndarray
    labels: np.ndarray
    report: ReadReport
    explicit_paths: Optional[np.ndarray] = None  # (N,) str, only when names follow no per-video pattern
    source: str = ""  # what was read (for messages)
    from_cache: bool = False
    au_names: Tuple[str, ...] = AU_NAMES  # the label columns
    intensity: Optional[np.ndarray] = None  # (N, A) float32, NaN = not coded

    def __post_init__(self):
        n = len(self.video_ids)
        self.au_names = tuple(self.au_names)
        if self.frames.shape != (n,) or self.labels.shape != (n, len(self.au_names)):
            raise ValueError(f"inconsistent index arrays: video_ids {self.video_ids.shape}, frames "
                             f"{self.frames.shape}, labels {self.labels.shape} for {len(self.au_names)} AUs")
        if self.intensity is not None and self.intensity.shape != self.labels.shape:
            raise ValueError(f"intensity {self.intensity.shape} does not match labels {self.labels.shape}")
        self._paths = None

    def __len__(self) -> int:
        return len(self.video_ids)

    @property
    def num_videos(self) -> int:
        return len(self.video_names)

    def path(self, i: int) -> str:
        """Relative image path of frame ``i`` (relative to ``image_root``, '/' separated)."""
        if self.explicit_paths is not None:
            return str(self.explicit_paths[i])
        v = int(self.video_ids[i])
        d = self.video_dirs[v]
        name = self.name_formats[v].format(int(self.frames[i]))
        return f"{d}/{name}" if d else name

    def abspath(self, i: int) -> str:
        return os.path.join(self.image_root, self.path(i))

    @property
    def paths(self) -> np.ndarray:
        """(N,) object array of relative image paths (built once, on first use)."""
        if self._paths is None:
            if self.explicit_paths is not None:
                self._paths = np.asarray(self.explicit_paths, dtype=object)
            else:
                out = np.empty(len(self), dtype=object)
                for v, (lo, hi) in enumerate(self.video_ranges()):
                    d, fmt = self.video_dirs[v], self.name_formats[v]
                    prefix = d + "/" if d else ""
                    out[lo:hi] = [prefix + fmt.format(f) for f in self.frames[lo:hi].tolist()]
                self._paths = out
        return self._paths

    def video_ranges(self) -> List[tuple]:
        """[(lo, hi)] of each video's frames; requires frames grouped by video (readers ensure it)."""
        counts = np.bincount(self.video_ids, minlength=self.num_videos)
        ends = np.cumsum(counts)
        starts = ends - counts
        if len(self) and np.any(np.diff(self.video_ids) < 0):
            raise ValueError("frames are not grouped by video")
        return list(zip(starts.tolist(), ends.tolist()))

    def select_aus(self, au_names: Sequence[str]) -> "FrameIndex":
        """This index with the label columns of ``au_names`` in that order (itself when they are its own).

        A model's AU set (``data.aus``) must be among the AUs the data set labels: ValueError naming
        those missing otherwise.
        """
        au_names = tuple(au_names)
        if au_names == self.au_names:
            return self
        missing = [a for a in au_names if a not in self.au_names]
        if missing:
            raise ValueError(f"{self.source or self.image_root}: data.aus asks for {', '.join(missing)}, which the "
                             f"data does not label (its AUs: {', '.join(self.au_names)})")
        cols = [self.au_names.index(a) for a in au_names]
        intensity = None if self.intensity is None else np.ascontiguousarray(self.intensity[:, cols])
        return dataclasses.replace(self, labels=np.ascontiguousarray(self.labels[:, cols]), au_names=au_names,
                                   intensity=intensity)

    def positive_rate(self) -> np.ndarray:
        """(A,) fraction of frames where each AU is 1 (among frames where it is annotated)."""
        lab = self.labels.astype(np.float64)
        annotated = (self.labels >= 0).sum(0)
        return np.where(annotated > 0, (lab == 1).sum(0) / np.maximum(annotated, 1), 0.0)

    def subject_counts(self, subject_of=lambda video: video) -> Dict[str, dict]:
        """Per subject: ``frames`` and per AU ``{au: [positive, negative, not coded]}`` (subject = ``subject_of(video)``)."""
        out: Dict[str, dict] = {}
        for v, (lo, hi) in enumerate(self.video_ranges()):
            entry = out.setdefault(subject_of(self.video_names[v]),
                                   {"frames": 0, "aus": {au: [0, 0, 0] for au in self.au_names}})
            entry["frames"] += hi - lo
            lab = self.labels[lo:hi]
            for j, au in enumerate(self.au_names):
                counts = entry["aus"][au]
                counts[0] += int((lab[:, j] == 1).sum())
                counts[1] += int((lab[:, j] == 0).sum())
                counts[2] += int((lab[:, j] < 0).sum())
        return out

    def __repr__(self) -> str:
        return (f"FrameIndex({len(self)} frames, {self.num_videos} videos, image_root={self.image_root!r}, "
                f"source={self.source!r})")


def concat_indexes(parts: Sequence[FrameIndex], source: str = "") -> FrameIndex:
    """One index from several with the same ``image_root`` (videos renumbered, order kept)."""
    if not parts:
        raise ValueError("no indexes to concatenate")
    roots = {p.image_root for p in parts}
    if len(roots) != 1:
        raise ValueError(f"cannot concatenate indexes with different image roots: {sorted(roots)}")
    if len({p.au_names for p in parts}) != 1:
        raise ValueError(f"cannot concatenate indexes with different AU columns: {sorted({p.au_names for p in parts})}")
    names, dirs, fmts, vids, offset = [], [], [], [], 0
    for p in parts:
        names += p.video_names
        dirs += p.video_dirs
        fmts += p.name_formats
        vids.append(p.video_ids + offset)
        offset += p.num_videos
    if len(set(names)) != len(names):
        raise ValueError("the same video appears in two of the indexes being joined")
    explicit = None
    if any(p.explicit_paths is not None for p in parts):
        explicit = np.concatenate([np.asarray(p.paths, dtype=object) for p in parts])
    report = ReadReport(sum((p.report.video_names for p in parts), []),
                        np.concatenate([p.report.rows for p in parts]),
                        np.concatenate([p.report.unannotated for p in parts]),
                        np.concatenate([p.report.missing for p in parts]),
                        {k: v for p in parts for k, v in p.report.skipped.items()})
    if len({p.au_names for p in parts}) != 1:
        raise ValueError("cannot concatenate indexes of different AU sets")
    intensity = None
    if any(p.intensity is not None for p in parts):
        intensity = np.concatenate([p.intensity if p.intensity is not None
                                    else np.full(p.labels.shape, np.nan, np.float32) for p in parts])
    return FrameIndex(parts[0].image_root, names, dirs, fmts, np.concatenate(vids).astype(np.int32),
                      np.concatenate([p.frames for p in parts]), np.concatenate([p.labels for p in parts]),
                      report, explicit, source or "+".join(p.source for p in parts),
                      au_names=parts[0].au_names, intensity=intensity)


def select_videos(index: FrameIndex, keep: Sequence[str], source: str = "") -> FrameIndex:
    """The frames of the videos named in ``keep`` (order of ``index`` kept; videos renumbered)."""
    wanted = set(keep)
    kept_v = [v for v, name in enumerate(index.video_names) if name in wanted]
    new_id = np.full(index.num_videos, -1, np.int32)
    new_id[kept_v] = np.arange(len(kept_v), dtype=np.int32)
    rows = np.flatnonzero(new_id[index.video_ids] >= 0)
    r = index.report
    report_rows = [i for i, name in enumerate(r.video_names) if name in wanted]
    report = ReadReport([r.video_names[i] for i in report_rows], r.rows[report_rows], r.unannotated[report_rows],
                        r.missing[report_rows], {k: v for k, v in r.skipped.items() if k in wanted})
    pick = lambda items: [items[v] for v in kept_v]  # noqa: E731
    return FrameIndex(index.image_root, pick(index.video_names), pick(index.video_dirs), pick(index.name_formats),
                      new_id[index.video_ids[rows]], index.frames[rows], index.labels[rows], report,
                      None if index.explicit_paths is None else index.explicit_paths[rows],
                      source or index.source, au_names=index.au_names,
                      intensity=None if index.intensity is None else index.intensity[rows])
