"""Alignment of 5 facial landmarks to the ArcFace template with a similarity transform.

The template is insightface's 5-point ArcFace destination for 112x112 crops (eye on the image's
left, eye on the image's right, nose tip, left and right mouth corners). For other sizes it is
scaled as insightface does: by ``size / 112`` when size is a multiple of 112, otherwise by
``size / 128`` and shifted right by ``8 * size / 128``.

The transform is the least-squares similarity (rotation, uniform scale, translation) from the
detected points to the template, estimated with ``cv2.estimateAffinePartial2D`` (its RANSAC with
a threshold so large that all 5 points stay inliers, then Levenberg-Marquardt refinement: the
same least-squares solution as Umeyama / skimage's ``SimilarityTransform``), applied with
``cv2.warpAffine`` (bilinear, black border).

Channel order: :func:`align_face` is a pure geometric warp, so the crop has the channel order of
the input (BGR in from OpenCV, BGR out; that is what ``cv2.imwrite`` wants). The network expects
**RGB** (the training pipeline decodes JPEGs to RGB): convert with :func:`bgr_to_rgb` before
``AUPredictor.predict`` (``iter_faces`` does it by default).
"""
from __future__ import annotations

import cv2
import numpy as np

ARCFACE_TEMPLATE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                                 [41.5493, 92.3655], [70.7299, 92.2041]], np.float32)


def arcface_template(size: int = 112) -> np.ndarray:
    """(5, 2) float32 template for a size x size crop (insightface's scaling rule, see module doc)."""
    if size <= 0:
        raise ValueError(f"crop size must be positive, got {size}")
    if size % 112 == 0:
        return ARCFACE_TEMPLATE_112 * (size / 112.0)
    ratio = size / 128.0
    return ARCFACE_TEMPLATE_112 * ratio + np.array([8.0 * ratio, 0.0], np.float32)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(2, 3) float64 least-squares similarity mapping src (N, 2) points onto dst (N, 2), N >= 2."""
    src = np.asarray(src, np.float64).reshape(-1, 2)
    dst = np.asarray(dst, np.float64).reshape(-1, 2)
    if src.shape != dst.shape or len(src) < 2:
        raise ValueError(f"need matching (N, 2) point sets with N >= 2, got {src.shape} and {dst.shape}")
    if not np.all(np.isfinite(src)):
        raise ValueError("landmarks contain NaN or inf")
    if np.ptp(src, axis=0).max() < 1e-3:
        raise ValueError("landmarks are degenerate (all points coincide)")
    matrix, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=1e6,
                                            maxIters=1, refineIters=10)
    if matrix is None:
        raise ValueError("no similarity transform fits these landmarks")
    return matrix


def warp_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N, 2) points mapped by a (2, 3) affine matrix."""
    points = np.asarray(points, np.float64).reshape(-1, 2)
    return points @ np.asarray(matrix, np.float64)[:, :2].T + np.asarray(matrix, np.float64)[:, 2]


def alignment_matrix(landmarks: np.ndarray, size: int = 112) -> np.ndarray:
    """(2, 3) matrix taking image pixels to the size x size ArcFace crop, from (5, 2) landmarks."""
    landmarks = np.asarray(landmarks, np.float32)
    if landmarks.shape != (5, 2):
        raise ValueError(f"expected (5, 2) landmarks, got shape {landmarks.shape}")
    return similarity_transform(landmarks, arcface_template(size))


def align_face(image: np.ndarray, landmarks: np.ndarray, size: int = 112) -> np.ndarray:
    """(size, size, C) uint8 crop of the face whose (5, 2) landmarks are given, channel order as the input."""
    matrix = alignment_matrix(landmarks, size)
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=0)


def bgr_to_rgb(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) BGR -> RGB (contiguous copy); the same call turns RGB back into BGR."""
    return np.ascontiguousarray(image[..., ::-1])
