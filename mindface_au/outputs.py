"""The output layout of an AU network: occurrence for every AU, then intensity when it has the head.

A network of n AUs returns ``(B, n)`` occurrence logits, or with the intensity head
(``model.intensity: true``) ``(B, 2n)``: columns ``[0, n)`` the occurrence logits, ``[n, 2n)`` the
intensity in ``[0, INTENSITY_MAX]``. After :class:`~mindface_au.models.WithSigmoid` (inference,
export) the first n columns are probabilities and the last n stay intensities, so every deployed
file has one output, ``(B, n)`` or ``(B, 2n)``.

Training targets follow the same layout: ``(B, n)`` occurrence labels in {-1, 0, 1} (-1 = not
coded), or ``(B, 2n)`` with the 0-5 intensity labels after them (-1 = not coded).

Works on numpy arrays and MindSpore Tensors alike (slicing only); imports neither.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

#: the top of the intensity scale (FACS A-E = 1-5; 0 = absent), as OpenFace's ``AUxx_r``, DISFA and BP4D
INTENSITY_MAX = 5.0
#: the value of a target that is not coded (masked out of every loss term)
NOT_CODED = -1.0


def output_width(num_aus: int, intensity: bool) -> int:
    """Columns of a network's output: n, or 2n with the intensity head."""
    return 2 * num_aus if intensity else num_aus


def split_outputs(outputs, num_aus: int) -> Tuple[object, Optional[object]]:
    """``(B, n)`` or ``(B, 2n)`` -> ``(occurrence (B, n), intensity (B, n) or None)``.

    Raises ``ValueError`` when the width is neither n nor 2n.
    """
    width = outputs.shape[-1]
    if width == num_aus:
        return outputs, None
    if width == 2 * num_aus:
        return outputs[..., :num_aus], outputs[..., num_aus:]
    raise ValueError(f"an output of width {width} fits neither {num_aus} AUs nor {num_aus} AUs with intensity")


def training_targets(labels: np.ndarray, intensity: Optional[np.ndarray]) -> np.ndarray:
    """The float32 targets of a training batch: ``labels`` (N, n) in {-1, 0, 1}, and with ``intensity``
    (N, n) 0-5 (NaN = not coded) the (N, 2n) concatenation, NaN -> :data:`NOT_CODED`."""
    labels = np.asarray(labels, np.float32)
    if intensity is None:
        return labels
    intensity = np.asarray(intensity, np.float32)
    if intensity.shape != labels.shape:
        raise ValueError(f"intensity {intensity.shape} does not match labels {labels.shape}")
    return np.concatenate([labels, np.where(np.isnan(intensity), NOT_CODED, intensity)], axis=-1).astype(np.float32)


__all__ = ["INTENSITY_MAX", "NOT_CODED", "output_width", "split_outputs", "training_targets"]
