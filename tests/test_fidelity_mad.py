"""model.lrp.mad: per_sample (one map of each hit sample) or authors (one map of the last hit sample)."""
import numpy as np
import pytest

import mindspore as ms

from mindface_au import build_model
from mindface_au.models.lrp import LocalRegionPerception, MapDropout

from testlib import tiny_config

N_MAPS = 5
# coins (column 0) and map choices (argmax of columns 1..): samples 0, 2, 3 hit at p = 0.5
DRAW = np.array([[0.10, 0.9, 0.1, 0.2, 0.3, 0.4],
                 [0.70, 0.1, 0.9, 0.2, 0.3, 0.4],
                 [0.20, 0.1, 0.2, 0.9, 0.3, 0.4],
                 [0.40, 0.1, 0.2, 0.3, 0.4, 0.9],
                 [0.95, 0.1, 0.2, 0.3, 0.9, 0.4]], np.float32)


def authors_loop(inputs, hit, index):
    """numpy transcription of the authors' MAD.forward loop (anfl.py), coins and indices given."""
    outs = None
    for i in range(inputs.shape[0]):
        if hit[i]:
            mask = np.ones_like(inputs)
            mask[i, index[i], ...] = 0
            outs = inputs * mask
    if outs is None:
        raise UnboundLocalError("no coin passed (the authors' code fails here)")
    return outs


def mask(mode, p, draw=DRAW):
    return MapDropout(N_MAPS, p, mode).mask_from_draw(ms.Tensor(draw)).asnumpy()


def test_per_sample_drops_one_map_of_every_hit_sample():
    m = mask("per_sample", 0.5)
    expect = np.ones((5, N_MAPS), np.float32)
    expect[0, 0] = expect[2, 2] = expect[3, 4] = 0
    np.testing.assert_array_equal(m, expect)


def test_authors_drops_one_map_of_the_last_hit_sample_as_their_loop():
    m = mask("authors", 0.5)
    expect = np.ones((5, N_MAPS), np.float32)
    expect[3, 4] = 0
    np.testing.assert_array_equal(m, expect)
    maps = np.random.rand(5, N_MAPS, 3, 3).astype(np.float32)
    hit, index = DRAW[:, 0] < 0.5, DRAW[:, 1:].argmax(1)
    np.testing.assert_array_equal(maps * m[:, :, None, None], authors_loop(maps, hit, index))


def test_authors_with_p_1_is_always_the_last_sample_and_no_hit_drops_nothing():
    m = mask("authors", 1.0)
    assert (m == 0).sum() == 1 and m[4, 3] == 0
    np.testing.assert_array_equal(mask("authors", 0.05), np.ones((5, N_MAPS)))  # no coin < 0.05
    np.testing.assert_array_equal(mask("per_sample", 0.05), np.ones((5, N_MAPS)))


@pytest.mark.parametrize("mode,dropped_per_batch", [("per_sample", 8), ("authors", 1)])
def test_training_forward_zeroes_the_counted_maps(mode, dropped_per_batch):
    mad = MapDropout(N_MAPS, 1.0, mode)
    mad.set_train(True)
    maps = ms.Tensor(np.random.rand(8, N_MAPS, 2, 2).astype(np.float32) + 0.5)
    out = mad(maps).asnumpy()
    zeroed = (out == 0).all(axis=(2, 3))
    assert zeroed.sum() == dropped_per_batch
    if mode == "authors":
        assert zeroed[-1].sum() == 1
    else:
        assert (zeroed.sum(1) == 1).all()
    mad.set_train(False)
    np.testing.assert_array_equal(mad(maps).asnumpy(), maps.asnumpy())


def test_config_key_reaches_the_cell_and_is_checked():
    for mode in ("per_sample", "authors"):
        net = build_model(tiny_config(**{"model.lrp.mad": mode}))
        assert net.lrp.mad.authors is (mode == "authors")
    with pytest.raises(ValueError, match="MAD mode"):
        LocalRegionPerception(8, 2, mad="all")
    from mindface_au.config import ConfigError
    with pytest.raises(ConfigError, match="model.lrp.mad"):
        tiny_config(**{"model.lrp.mad": "last"})
