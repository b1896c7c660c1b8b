"""The synthetic face renderer: a 112x112 cartoon face whose 17 AUs show where FACS puts them.

Every frame is a cartoon face drawn with OpenCV (anti-aliased ellipses and polylines) in
canonical aligned coordinates (eyes near y = 48, mouth near y = 83, like ``cropped_aligned``),
then posed, lit, blurred, noised and JPEG-compressed. Each AU (Aff-Wild2's 12, and the 5 that
BP4D and DISFA add) moves or marks its own facial region the way FACS describes it, with a
strength proportional to its intensity (0-1 here; a FACS intensity 0-5 is ``intensity / 5``):

======  ====================  ==================================================================
AU1     inner brow raiser     inner brow ends up; horizontal wrinkles in the central forehead
AU2     outer brow raiser     outer brow ends up; wrinkles in the lateral forehead
AU4     brow lowerer          brows down and drawn together; vertical furrows between them
AU5     upper lid raiser      upper lids up (white above the iris), lid crease higher
AU6     cheek raiser          cheeks up and brighter; lower lids pushed up; crow's feet
AU7     lid tightener         both lids narrow the eye (lower lid most), tense lid lines
AU9     nose wrinkler         wrinkles across the nose bridge, nostrils and the nose's sides up
AU10    upper lip raiser      upper lip centre up (teeth show); deep nasolabial folds; nostrils up
AU12    lip corner puller     mouth corners up and out; creases at the corners
AU14    dimpler               dimples just outside the mouth corners, corners drawn in a little
AU15    lip corner depressor  mouth corners down; shadow lines below the corners
AU17    chin raiser           chin boss pushed up and wrinkled; lower lip pushed up
AU20    lip stretcher         mouth stretched sideways (wider, thinner lips, corners a little down)
AU23    lip tightener         mouth narrower, lips thinner, short creases at the corners
AU24    lip pressor           lips pressed thin and dark-lined; bulges above and below the lips
AU25    lips part             dark gap between the lips, upper teeth visible
AU26    jaw drop              chin, chin crease and lower lip down (a wide opening with AU25)
======  ====================  ==================================================================

Per video the nuisance is sampled here too: identity (face shape, feature placement and size,
skin tone, hair, lips), scene (background, directional lighting and colour cast, blur, sensor
noise, JPEG quality) and a slow pose drift (roll, yaw, scale, shift) with blinks and gaze.
:func:`render_face` (identity, scene, AU intensities (A,) of ``au_names``, pose) -> (112, 112, 3) uint8 RGB.
With the 12 Aff-Wild2 AUs (the default) the pixels are those of the 12-AU renderer.
The dataset writer is :mod:`mindface_au.data.synthetic`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Sequence

import cv2
import numpy as np

from ..constants import AU_NAMES

SIZE = 112
RENDERED_AUS = AU_NAMES + ("AU5", "AU9", "AU14", "AU17", "AU20")
SHIFT = 4  # OpenCV drawing: fixed-point coordinates with 4 fractional bits
ONE = 1 << SHIFT

SKIN_ANCHORS = np.array([(244, 214, 192), (228, 180, 150), (205, 145, 112), (170, 110, 78), (120, 78, 55),
                         (88, 58, 42)], dtype=np.float32)  # RGB, light to dark
HAIR_COLOURS = np.array([(25, 20, 18), (60, 40, 28), (105, 72, 42), (160, 125, 80), (200, 175, 130),
                         (120, 120, 120), (45, 30, 25)], dtype=np.float32)


# ------------------------------------------------------------------------------------ identity


@dataclass
class Identity:
    """Per-person appearance (pixels are canonical 112x112 coordinates, colours RGB 0..255)."""

    skin: np.ndarray
    hair: np.ndarray
    brow: np.ndarray
    lip: np.ndarray
    iris: np.ndarray
    face_w: float
    face_h_up: float
    face_h_lo: float
    face_cy: float
    eye_dx: float
    eye_y: float
    eye_w: float
    eye_h: float
    brow_gap: float
    brow_thick: int
    nose_y: float
    mouth_y: float
    mouth_w: float
    lip_up: float
    lip_lo: float
    hairline: float


def sample_identity(rng: np.random.Generator) -> Identity:
    t = rng.uniform(0, len(SKIN_ANCHORS) - 1)
    lo = int(t)
    skin = SKIN_ANCHORS[lo] * (1 - (t - lo)) + SKIN_ANCHORS[min(lo + 1, len(SKIN_ANCHORS) - 1)] * (t - lo)
    skin = np.clip(skin * rng.uniform(0.94, 1.06, 3), 0, 255)
    hair = np.clip(HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))] * rng.uniform(0.85, 1.15), 0, 255)
    brow = np.minimum(hair, skin * 0.45) * rng.uniform(0.7, 1.0)
    lip = np.clip(skin * 0.55 + np.array([190, 70, 80], np.float32) * 0.45 * rng.uniform(0.8, 1.1), 0, 255)
    iris = np.array([(60, 40, 25), (90, 60, 30), (70, 100, 120), (80, 90, 60)], np.float32)[rng.integers(4)]
    return Identity(
        skin=skin.astype(np.float32), hair=hair.astype(np.float32), brow=brow.astype(np.float32),
        lip=lip.astype(np.float32), iris=iris,
        face_w=rng.uniform(37, 43), face_h_up=rng.uniform(43, 48), face_h_lo=rng.uniform(43, 47),
        face_cy=rng.uniform(55, 58), eye_dx=rng.uniform(16, 19), eye_y=rng.uniform(46, 50),
        eye_w=rng.uniform(6.5, 8), eye_h=rng.uniform(3.8, 4.8), brow_gap=rng.uniform(10, 13),
        brow_thick=int(rng.integers(2, 4)), nose_y=rng.uniform(64, 68), mouth_y=rng.uniform(81, 85),
        mouth_w=rng.uniform(12.5, 16), lip_up=rng.uniform(3.0, 4.5), lip_lo=rng.uniform(3.8, 5.5),
        hairline=rng.uniform(4, 12))


@dataclass
class Pose:
    """Per-frame nuisance: roll (degrees), yaw (-1..1, features shift sideways), scale, shift (pixels)."""

    roll: float = 0.0
    yaw: float = 0.0
    scale: float = 1.0
    tx: float = 0.0
    ty: float = 0.0
    blink: float = 0.0
    gaze_x: float = 0.0
    gaze_y: float = 0.0


@dataclass
class Scene:
    """Per-video rendering conditions."""

    background: np.ndarray  # (112, 112, 3) float32 RGB
    light_dir: float
    light_strength: float
    gain: float
    cast: np.ndarray  # (3,)
    noise: np.ndarray  # (K, 112, 112, 3) float32 bank of noise frames
    blur: float
    jpeg_quality: int

    def light_field(self) -> np.ndarray:
        """(112, 112, 3) float32 multiplier: gain x directional shading x colour cast (computed once)."""
        if getattr(self, "_light", None) is None:
            ramp = (np.arange(SIZE, dtype=np.float32) - 56) / 56
            shade = 1 + self.light_strength * (math.cos(self.light_dir) * ramp[None, :]
                                               + math.sin(self.light_dir) * ramp[:, None])
            self._light = ((self.gain * shade)[..., None] * self.cast).astype(np.float32)
        return self._light


def sample_scene(rng: np.random.Generator) -> Scene:
    c1, c2 = rng.uniform(20, 235, 3), rng.uniform(20, 235, 3)
    ramp = np.linspace(0, 1, SIZE, dtype=np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    proj = np.cos(angle) * ramp[None, :] + np.sin(angle) * ramp[:, None]
    proj = (proj - proj.min()) / max(proj.max() - proj.min(), 1e-6)
    background = (c1[None, None] * (1 - proj[..., None]) + c2[None, None] * proj[..., None]).astype(np.float32)
    for _ in range(int(rng.integers(0, 4))):  # a few blurry blobs (clutter)
        centre = (int(rng.integers(0, SIZE)), int(rng.integers(0, SIZE)))
        cv2.circle(background, centre, int(rng.integers(6, 25)), rng.uniform(20, 235, 3).tolist(), -1)
    background = cv2.GaussianBlur(background, (0, 0), 3)
    sigma = rng.uniform(1.5, 5.0)
    noise = rng.standard_normal((8, SIZE, SIZE, 3), dtype=np.float32) * sigma
    return Scene(background=background, light_dir=rng.uniform(0, 2 * np.pi), light_strength=rng.uniform(0.0, 0.3),
                 gain=rng.uniform(0.8, 1.15), cast=rng.normal(1.0, 0.05, 3).astype(np.float32), noise=noise,
                 blur=float(rng.uniform(0.5, 0.9)) if rng.random() < 0.3 else 0.0,
                 jpeg_quality=int(rng.integers(70, 96)))


# ------------------------------------------------------------------------------------ drawing


def _fx(p) -> np.ndarray:
    return np.round(np.asarray(p, dtype=np.float64) * ONE).astype(np.int32).reshape(-1, 1, 2)


def _col(c) -> tuple:
    return tuple(min(max(float(v), 0.0), 255.0) for v in c)


def _mix(a, b, t: float) -> np.ndarray:
    t = min(max(float(t), 0.0), 1.0)
    return np.asarray(a, np.float32) * (1 - t) + np.asarray(b, np.float32) * t


def _poly(img, pts, colour) -> None:
    cv2.fillPoly(img, [_fx(pts)], _col(colour), cv2.LINE_AA, SHIFT)


def _line(img, pts, colour, thickness: int = 1) -> None:
    cv2.polylines(img, [_fx(pts)], False, _col(colour), int(thickness), cv2.LINE_AA, SHIFT)


def _ellipse(img, centre, axes, colour, angle: float = 0.0, start: float = 0.0, end: float = 360.0,
             thickness: int = -1) -> None:
    c = (int(round(centre[0] * ONE)), int(round(centre[1] * ONE)))
    ax = (max(int(round(axes[0] * ONE)), 1), max(int(round(axes[1] * ONE)), 1))
    cv2.ellipse(img, c, ax, angle, start, end, _col(colour), thickness, cv2.LINE_AA, SHIFT)


_T = np.linspace(0, 1, 9)
# rows: Bernstein weights of (p0, mid, p2) for a quadratic through mid at t = 0.5
_BEZIER = np.stack([(1 - _T) ** 2 - (1 - _T) * _T, 4 * (1 - _T) * _T, _T ** 2 - (1 - _T) * _T], 1)


def _bezier(p0, mid, p2) -> np.ndarray:
    """Quadratic curve from p0 to p2 passing through ``mid`` at t = 0.5: (9, 2)."""
    return _BEZIER @ np.array([p0, mid, p2], dtype=np.float64)


class _Face:
    """What the drawing steps of one frame share: identity, AU intensities and the face's reference points.

    Args:
        ident: the person.
        au: {AU name: intensity in [0, 1]} (absent AUs are 0).
        yaw: the pose's yaw (-1..1): internal features shift sideways by ``3.5 * yaw`` pixels.
    """

    cx0 = 56.0  # centre of the head outline, x

    def __init__(self, ident: Identity, au: dict, yaw: float):
        self.ident, self.au = ident, au
        self.skin = ident.skin
        self.dark = self.skin * 0.35
        self.cy = ident.face_cy
        self.yaw_shift = 3.5 * yaw
        self.cx = self.cx0 + self.yaw_shift  # centre of the internal features, x
        self.jaw = 10.0 * self.of("AU26")[0]  # jaw drop in pixels

    def of(self, *names: str) -> list:
        """Intensities of the named AUs (0 for those not given)."""
        return [self.au.get(n, _ZERO) for n in names]


_ZERO = np.float64(0.0)


def render_face(ident: Identity, scene: Scene, au: Sequence[float], pose: Pose = Pose(),
                rng: Optional[np.random.Generator] = None, au_names: Sequence[str] = AU_NAMES) -> np.ndarray:
    """One frame: (112, 112, 3) uint8 RGB.

    The face is drawn in canonical coordinates (head, forehead, each eye region, nose, mouth,
    chin), then posed, lit, blurred and noised (:func:`_camera`).

    Args:
        au: (A,) intensities in [0, 1] in ``au_names`` order (0 = neutral).
        pose: per-frame nuisance.
        rng: picks the noise frame; None = no noise (tests of the AU regions).
        au_names: the AUs of ``au`` (default Aff-Wild2's 12), any of :data:`RENDERED_AUS`.
    """
    unknown = [n for n in au_names if n not in RENDERED_AUS]
    if unknown:
        raise ValueError(f"the renderer draws {', '.join(RENDERED_AUS)}; not {', '.join(unknown)}")
    values = np.clip(np.asarray(au, np.float64), 0, 1)
    face = _Face(ident, dict(zip(au_names, values)), pose.yaw)
    img = scene.background.copy()
    _draw_head(img, face)
    _draw_forehead(img, face)
    for side in (-1, 1):  # -1: image left
        _draw_eye_region(img, face, side, pose)
    nose = _draw_nose(img, face, pose)
    mouth = _mouth_curves(face)
    _draw_mouth_folds(img, face, nose, mouth)
    _draw_lips(img, face, mouth)
    _draw_chin(img, face)
    return _camera(img, scene, pose, rng)


def _draw_head(img: np.ndarray, face: _Face) -> None:
    """Hair behind, neck, face (upper and lower half-ellipses; the chin drops with AU26), fringe."""
    ident, skin, cx0, cy, fx = face.ident, face.skin, face.cx0, face.cy, face.yaw_shift
    _ellipse(img, (cx0, cy - 6), (ident.face_w + 6, ident.face_h_up + 6), ident.hair)
    _poly(img, [(cx0 - 17, 96), (cx0 + 17, 96), (cx0 + 20, 112), (cx0 - 20, 112)], skin * 0.82)
    _ellipse(img, (cx0, cy), (ident.face_w, ident.face_h_up), skin, start=180, end=360)
    _ellipse(img, (cx0, cy - 0.5), (ident.face_w, ident.face_h_lo + face.jaw), skin, start=0, end=180)
    _ellipse(img, (cx0 + fx * 0.3, cy - ident.face_h_up + ident.hairline - 6), (ident.face_w + 3, 12),
             ident.hair, start=180, end=360)
    _poly(img, [(cx0 - ident.face_w - 3, cy - ident.face_h_up + ident.hairline - 6),
                (cx0 + ident.face_w + 3, cy - ident.face_h_up + ident.hairline - 6),
                (cx0 + ident.face_w - 2, cy - ident.face_h_up + ident.hairline - 2),
                (cx0 - ident.face_w + 2, cy - ident.face_h_up + ident.hairline - 2)], ident.hair)


def _draw_forehead(img: np.ndarray, face: _Face) -> None:
    """Forehead wrinkles (AU1 centre, AU2 sides) and glabella furrows (AU4)."""
    a1, a2, a4 = face.of("AU1", "AU2", "AU4")
    ident, skin, dark, cx = face.ident, face.skin, face.dark, face.cx
    brow_y = ident.eye_y - ident.brow_gap
    for k in range(2):
        y = brow_y - 8 - 4.5 * k
        if a1 > 0.02:
            _line(img, _bezier((cx - 9, y + 1), (cx, y - 0.8), (cx + 9, y + 1)), _mix(skin, dark, 0.9 * a1), 2)
        if a2 > 0.02:
            for s in (-1, 1):
                ex = cx + s * ident.eye_dx
                _line(img, _bezier((ex - s * 4, y + 1.5), (ex + s * 2, y - 1.2), (ex + s * 9, y + 1.5)),
                      _mix(skin, dark, 0.9 * a2), 2)
    if a4 > 0.02:
        for s in (-1, 1):
            _line(img, [(cx + s * 2.8, brow_y - 3 + 3 * a4), (cx + s * 2.2, brow_y + 6)], _mix(skin, dark, 0.95 * a4), 2)


def _draw_eye_region(img: np.ndarray, face: _Face, s: int, pose: Pose) -> None:
    """One side (``s`` -1: image left): brow (AU1, AU2, AU4), eye and lids (AU6, AU7, blink, gaze), cheek (AU6)."""
    a1, a2, a4, a6, a7, a5 = face.of("AU1", "AU2", "AU4", "AU6", "AU7", "AU5")
    ident, skin, dark = face.ident, face.skin, face.dark
    ex, ey = face.cx + s * ident.eye_dx, ident.eye_y
    brow_y = ident.eye_y - ident.brow_gap
    # brows: inner (t=0) to outer (t=1)
    t = np.linspace(0, 1, 6)
    bx = ex - s * 8.5 + s * 19 * t - s * 3.5 * a4 * (1 - t)
    by = (brow_y - 2.5 * np.sin(np.pi * t ** 0.8) - 8 * a1 * (1 - t) ** 1.5 - 8 * a2 * t ** 1.5
          + 3.5 * a4 + 3.5 * a4 * (1 - t))
    _line(img, np.stack([bx, by], 1), ident.brow, ident.brow_thick + (1 if a4 > 0.5 else 0))
    # eyes: almond between the upper and lower lid curves
    open_ = 1.0 - pose.blink
    hu = ident.eye_h * (1 - 0.5 * a7 - 0.12 * a6 + 0.6 * a5) * open_ + 0.3
    hl = ident.eye_h * 0.7 * (1 - 0.8 * a7 - 0.55 * a6) * open_ + 0.3
    th = np.linspace(0, np.pi, 9)
    ew = ident.eye_w
    upper = np.stack([ex + ew * np.cos(th), ey - hu * np.sin(th)], 1)
    lower = np.stack([ex + ew * np.cos(th[::-1]), ey + hl * np.sin(th[::-1])], 1)
    _poly(img, np.concatenate([upper, lower]), (235, 232, 225))
    r = 3.1
    _ellipse(img, (ex + pose.gaze_x * 2.0, ey + (hl - hu) / 2), (min(r, 0.95 * ew), min(r, (hu + hl) / 2)),
             ident.iris)
    _ellipse(img, (ex + pose.gaze_x * 2.0, ey + (hl - hu) / 2), (1.2, min(1.2, (hu + hl) / 2)), (15, 10, 10))
    _line(img, upper, dark * 0.6, 2 if a7 > 0.5 else 1)
    if a5 > 0.02:  # raised lid: the lid crease moves up with it
        _line(img, upper + [0, -2.0 - 1.5 * a5], _mix(skin, dark, 0.6 * a5), 1)
    _line(img, lower, _mix(skin * 0.7, dark, 0.8 * a7), 1 + int(a7 > 0.4))
    # AU6: cheek raised and brighter, infraorbital furrow, crow's feet
    if a6 > 0.02:
        cheek = np.clip(skin * 1.1 + np.array([22, 2, 0], np.float32), 0, 255)
        _ellipse(img, (ex + s * 2, ey + 16 - 6 * a6), (10, 6.5), _mix(skin, cheek, a6))
        _line(img, _bezier((ex - ew * 0.9, ey + hl + 2.5), (ex, ey + hl + 4.5 - 2 * a6), (ex + ew * 0.9, ey + hl + 2.5)),
              _mix(skin, dark, 0.75 * a6), 1)
        ox = ex + s * (ew + 1.5)
        for ang in (-35, 0, 35):
            rad = math.radians(ang)
            _line(img, [(ox, ey), (ox + s * 6.5 * math.cos(rad), ey + 6.5 * math.sin(rad))],
                  _mix(skin, dark, 0.95 * a6), 1)
    if a7 > 0.02:  # tense bulge under the lower lid
        _line(img, _bezier((ex - ew * 0.8, ey + hl + 1.4), (ex, ey + hl + 2.3), (ex + ew * 0.8, ey + hl + 1.4)),
              _mix(skin, dark, 0.6 * a7), 1)


def _draw_nose(img: np.ndarray, face: _Face, pose: Pose) -> tuple:
    """Bridge, tip (shifts more with yaw) and nostrils (AU10 lifts them); returns the tip ``(nx, ny)``."""
    a10, a9 = face.of("AU10", "AU9")
    skin, dark, cx = face.skin, face.dark, face.cx
    ny = face.ident.nose_y
    nx = cx + 1.5 * pose.yaw
    _line(img, [(cx, face.ident.eye_y + 2), (nx, ny - 3)], _mix(skin, dark, 0.25), 1)
    _ellipse(img, (nx, ny - 1), (5.5, 4), np.clip(skin * 1.07, 0, 255))
    for s in (-1, 1):
        _ellipse(img, (nx + s * 4.2, ny + 1.8 - 2.0 * a10 - 1.5 * a9), (2.2 + 0.8 * a10, 1.3), skin * 0.4)
        _line(img, _bezier((nx + s * 6.5, ny - 2 - 1.5 * a10 - 1.5 * a9), (nx + s * 8, ny + 1 - 1.5 * a10 - 1.5 * a9),
                           (nx + s * 5, ny + 3 - 1.5 * a10 - 1.5 * a9)), _mix(skin, dark, 0.35), 1)
    if a9 > 0.02:  # wrinkles across the bridge, between the eyes and the tip
        ey = face.ident.eye_y
        for k in range(3):
            y = ey + 3 + k * (ny - ey - 8) / 3
            _line(img, _bezier((cx - 4, y + 0.8), (cx, y - 0.6), (cx + 4, y + 0.8)), _mix(skin, dark, 0.9 * a9), 1)
    return nx, ny


@dataclass
class _Mouth:
    """The mouth's curves, each (9, 2): upper lip top/lower edge, lower lip upper/bottom edge; corners and half-width."""

    ult: np.ndarray
    ull: np.ndarray
    llu: np.ndarray
    llb: np.ndarray
    left: tuple
    right: tuple
    w: float
    open_mouth: float


def _mouth_curves(face: _Face) -> _Mouth:
    """Lip curves for AU10 (upper lip up), AU12/AU15 (corners up/down), AU23/AU24 (narrow, thin), AU25/AU26 (open)."""
    a10, a12, a15, a23, a24, a25 = face.of("AU10", "AU12", "AU15", "AU23", "AU24", "AU25")
    a14, a17, a20 = face.of("AU14", "AU17", "AU20")
    ident, cx, jaw = face.ident, face.cx, face.jaw
    my = ident.mouth_y
    w = ident.mouth_w * (1 - 0.4 * a23 + 0.12 * a12 + 0.04 * a24 + 0.3 * a20 - 0.08 * a14)
    dy = -6.5 * a12 + 6.5 * a15 + 1.5 * a20
    open_mouth = a25 * (6.0 + jaw)
    lower_drop = 0.35 * jaw if a25 < 0.05 else 0.0
    thin = max(0.2, 1 - 0.5 * a23 - 0.75 * a24 - 0.35 * a20)
    tu, tl = ident.lip_up * thin, ident.lip_lo * thin
    L, R = (cx - w, my + dy), (cx + w, my + dy)
    ull = _bezier(L, (cx, my - 0.4 * open_mouth - 1.6 * a10), R)
    llu = _bezier(L, (cx, my + 0.6 * open_mouth + lower_drop - 1.2 * a17), R)
    ult = _bezier(L, (cx, my - 0.4 * open_mouth - 1.6 * a10 - tu - 2.5 * a10), R)
    ult[4, 1] += 0.9  # cupid's bow
    llb = _bezier((L[0] + 1, L[1] + 0.5), (cx, my + 0.6 * open_mouth + lower_drop + tl - 2.5 * a17),
                  (R[0] - 1, R[1] + 0.5))
    return _Mouth(ult, ull, llu, llb, L, R, w, open_mouth)


def _draw_mouth_folds(img: np.ndarray, face: _Face, nose: tuple, m: _Mouth) -> None:
    """Nasolabial folds (AU10, a little AU12) and marks at the corners: AU12/AU23 creases, AU15 shadows, AU14 dimples."""
    a10, a12, a15, a23, a14 = face.of("AU10", "AU12", "AU15", "AU23", "AU14")
    skin, dark, cx = face.skin, face.dark, face.cx
    nx, ny = nose
    for s in (-1, 1):
        corner = m.left if s < 0 else m.right
        _line(img, _bezier((nx + s * 7.5, ny + 1 - 1.5 * a10), (cx + s * (m.w * 0.8 + 5), (ny + face.ident.mouth_y) / 2 + 1),
                           (corner[0] + s * 3, corner[1] + 3)),
              _mix(skin, dark, 0.12 + 0.7 * a10 + 0.25 * a12), 1 + int(a10 > 0.3))
        if a12 > 0.02:  # smile creases at the corners
            _line(img, _bezier((corner[0] + s * 1, corner[1] - 3), (corner[0] + s * 3, corner[1]), (corner[0] + s * 1.5, corner[1] + 3)),
                  _mix(skin, dark, 0.8 * a12), 1)
        if a23 > 0.02:  # tightened corners: short vertical creases
            _line(img, [(corner[0] + s * 1.2, corner[1] - 2.5), (corner[0] + s * 1.2, corner[1] + 2.5)],
                  _mix(skin, dark, 0.9 * a23), 1)
        if a15 > 0.02:  # depressor shadows below the corners
            _line(img, [(corner[0], corner[1] + 1.5), (corner[0] + s * 2.5, corner[1] + 7)], _mix(skin, dark, 0.9 * a15), 2)
        if a14 > 0.02:  # dimples just outside the corners
            _ellipse(img, (corner[0] + s * 3.5, corner[1] - 0.5), (1.4, 2.0), _mix(skin, dark, 0.9 * a14))


def _draw_lips(img: np.ndarray, face: _Face, m: _Mouth) -> None:
    """AU24 bulges, the open mouth's interior and teeth (AU25/AU26, AU10), both lips, the closed lips' line."""
    a10, a24 = face.of("AU10", "AU24")
    ident, skin, dark, cx = face.ident, face.skin, face.dark, face.cx
    if a24 > 0.02:  # pressed lips: bulges above and below
        _ellipse(img, (cx, m.ult[4, 1] - 2.5), (m.w * 0.75, 2.2), _mix(skin, np.clip(skin * 1.18, 0, 255), a24))
        _ellipse(img, (cx, m.llb[4, 1] + 3.2), (m.w * 0.6, 2.4), _mix(skin, dark, 0.55 * a24))
    gap = m.open_mouth > 0.6 or a10 > 0.15
    if gap:
        interior = np.concatenate([m.ull, m.llu[::-1]])
        _poly(img, interior, (45, 18, 25))
        teeth_h = min(2.0, 0.3 * m.open_mouth + 2.0 * a10)
        mid = slice(2, 7)
        teeth = np.concatenate([m.ull[mid], (m.ull[mid] + [0, teeth_h])[::-1]])
        _poly(img, teeth, (236, 232, 220))
    _poly(img, np.concatenate([m.ult, m.ull[::-1]]), ident.lip)
    _poly(img, np.concatenate([m.llu, m.llb[::-1]]), ident.lip * 1.05)
    if not gap:
        _line(img, m.ull, _mix(ident.lip * 0.5, (20, 10, 10), 0.8 * a24), 1 + int(a24 > 0.4))


def _draw_chin(img: np.ndarray, face: _Face) -> None:
    """The chin crease, which moves down with the jaw (AU26); AU17's raised, wrinkled chin boss."""
    a26, a17 = face.of("AU26", "AU17")
    cx = face.cx
    chin_y = face.cy + face.ident.face_h_lo + face.jaw - 8
    if a17 > 0.02:  # the chin boss pushed up: a bulge with an orange-peel texture
        _ellipse(img, (cx, chin_y - 1 - 2 * a17), (7, 4), _mix(face.skin, np.clip(face.skin * 1.15, 0, 255), a17))
        for dx, dy in ((-3, -2), (0, -3), (3, -2), (-1.5, 0), (1.5, 0)):
            _ellipse(img, (cx + dx, chin_y - 1 - 2 * a17 + dy), (0.6, 0.6), _mix(face.skin, face.dark, 0.8 * a17))
    _line(img, _bezier((cx - 6, chin_y), (cx, chin_y + 1.5), (cx + 6, chin_y)), _mix(face.skin, face.dark, 0.2 + 0.6 * a26),
          1 + int(a26 > 0.4))


def _camera(img: np.ndarray, scene: Scene, pose: Pose, rng: Optional[np.random.Generator]) -> np.ndarray:
    """Pose (similarity about the face centre), lighting, blur, noise: float (112, 112, 3) -> uint8 RGB."""
    m = cv2.getRotationMatrix2D((56.0, 60.0), pose.roll, pose.scale)
    m[:, 2] += (pose.tx, pose.ty)
    img = cv2.warpAffine(img, m, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    img *= scene.light_field()
    if scene.blur:
        img = cv2.GaussianBlur(img, (0, 0), scene.blur)
    if rng is not None:
        noise = scene.noise[rng.integers(len(scene.noise))]
        img += noise[::-1] if rng.random() < 0.5 else noise
    return np.clip(img, 0, 255).astype(np.uint8)


def _smooth_walk(rng: np.random.Generator, n: int, amplitude: float, n_waves: int = 3) -> np.ndarray:
    t = np.arange(n)
    out = np.zeros(n)
    for _ in range(n_waves):
        out += np.sin(2 * np.pi * t / rng.uniform(40, 300) + rng.uniform(0, 2 * np.pi)) * rng.uniform(0.3, 1.0)
    return out / n_waves * amplitude * 1.6


def sample_poses(rng: np.random.Generator, n: int) -> List[Pose]:
    roll = rng.normal(0, 3) + _smooth_walk(rng, n, 5)
    yaw = np.clip(rng.normal(0, 0.25) + _smooth_walk(rng, n, 0.6), -1, 1)
    scale = rng.uniform(0.93, 1.07) + _smooth_walk(rng, n, 0.04)
    tx = rng.normal(0, 1.5) + _smooth_walk(rng, n, 2.5)
    ty = rng.normal(0, 1.5) + _smooth_walk(rng, n, 2.5)
    gx, gy = _smooth_walk(rng, n, 0.8), _smooth_walk(rng, n, 0.5)
    blink = np.zeros(n)
    t = int(rng.integers(20, 90))
    while t < n:  # blinks: 2-3 frames every 1-4 s
        blink[t:t + 3] = (0.6, 1.0, 0.6)[:len(blink[t:t + 3])]
        t += int(rng.integers(30, 120))
    return [Pose(float(roll[i]), float(yaw[i]), float(scale[i]), float(tx[i]), float(ty[i]), float(blink[i]),
                 float(gx[i]), float(gy[i])) for i in range(n)]


def au_montage(n_identities: int = 4, seed: int = 0, intensity: float = 1.0,
               au_names: Sequence[str] = AU_NAMES) -> np.ndarray:
    """(112 n, 112 (A + 1), 3) uint8 RGB grid: a row per identity; columns neutral, then each AU of ``au_names`` alone."""
    rows, n = [], len(au_names)
    for i in range(n_identities):
        rng = np.random.default_rng([seed, i, 7])
        ident, scene = sample_identity(rng), sample_scene(rng)
        row = [render_face(ident, scene, np.zeros(n), au_names=au_names)]
        for j in range(n):
            a = np.zeros(n)
            a[j] = intensity
            row.append(render_face(ident, scene, a, au_names=au_names))
        rows.append(np.concatenate(row, 1))
    return np.concatenate(rows, 0)
