"""One eval transform: the MindSpore pipeline and the numpy/OpenCV inference path give the same input."""
import numpy as np
import pytest

import mindspore.dataset.transforms as T

from mindface_au.pipeline.ops import eval_transforms
from mindface_au.transforms import NORMS, eval_preprocess, eval_resize, norm_stats


def test_eval_resize_is_128_at_112_scales_with_the_side_and_never_undercuts_the_crop():
    assert eval_resize(112, 128) == 128  # DESIGN.md: resize 128, centre crop 112
    assert eval_resize(48, 128) == 55 and eval_resize(224, 128) == 256
    assert eval_resize(112, 100) == 112  # a resize below the crop would leave nothing to crop


@pytest.mark.parametrize("shape,size,resize,norm", [
    ((112, 112), 112, 128, "imagenet"),   # the ArcFace crop at the paper's input
    ((96, 140), 112, 128, "arcface"),     # not square: the shorter side is resized, the longer truncated
    ((151, 97), 112, 128, "imagenet"),
    ((112, 112), 32, 128, "imagenet"),    # the test network's input
    ((112, 112), 112, 112, "imagenet"),   # resize == crop: no border cut
])
def test_inference_preprocess_equals_the_mindspore_eval_pipeline(shape, size, resize, norm):
    img = np.random.default_rng(0).integers(0, 256, shape + (3,)).astype(np.uint8)  # noise: any shift shows
    ours = eval_preprocess(img[None], size, resize, norm)[0]
    theirs = T.Compose(eval_transforms(size, norm, resize)[1:])(img)  # without Decode
    assert ours.shape == theirs.shape == (3, size, size)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)


def test_unknown_norm_names_the_key():
    assert set(NORMS) == {"imagenet", "arcface"}
    with pytest.raises(ValueError, match="data.norm: unknown normalisation 'bgr'"):
        norm_stats("bgr")
