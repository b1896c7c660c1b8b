"""The MindSpore pipeline (mindface_au.pipeline): batch shapes, normalisation, eval order, corrupt images replaced and counted."""
import os
import warnings

import cv2
import numpy as np
import pytest

from mindface_au.config import ConfigError, load_config
from mindface_au.constants import IMAGENET_MEAN, IMAGENET_STD
from mindface_au.data import make_synthetic_affwild2
from mindface_au.pipeline import build_eval_dataset, build_train_dataset
from mindface_au.transforms import eval_resize


@pytest.fixture(scope="module")
def syn_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("syn") / "abaw")
    make_synthetic_affwild2(root, videos=4, frames=24, seed=1, workers=1, progress=False)
    return root


def cfg_for(root, size=32, **extra):
    sets = [f"data.root={root}", f"model.input_size={size}", "train.batch_size=8", "eval.batch_size=16",
            "data.uniform_fraction=0.5", "data.rare_fraction=1.0", "data.num_workers=2",
            f"data.cache_dir={os.path.join(os.path.dirname(root), 'cache')}"]
    return load_config(None, sets + [f"{k}={v}" for k, v in extra.items()])


def batches(dataset):
    return list(dataset.create_tuple_iterator(num_epochs=1, output_numpy=True))


def test_train_batches_shapes_and_normalisation(syn_root):
    cfg = cfg_for(syn_root)
    dataset, sampler, index = build_train_dataset(cfg)
    assert dataset.get_dataset_size() == len(sampler) // 8
    out = batches(dataset)
    assert len(out) == len(sampler) // 8
    for image, label in out:
        assert image.shape == (8, 3, 32, 32) and image.dtype == np.float32
        assert label.shape == (8, 12) and label.dtype == np.float32
        assert set(np.unique(label)) <= {0.0, 1.0}
    images = np.concatenate([b[0] for b in out])
    mean, std = np.array(IMAGENET_MEAN), np.array(IMAGENET_STD)
    pixels = images * std[None, :, None, None] + mean[None, :, None, None]  # back to 0..255 RGB
    assert pixels.min() > -1.0 and pixels.max() < 256.0
    assert abs(images.mean()) < 1.0 and 0.3 < images.std() < 2.0
    # every label row is one of the index's rows (a frame and its label travel together)
    rows = {tuple(r) for r in index.labels.astype(np.float32).tolist()}
    assert all(tuple(r) in rows for b in out for r in b[1].tolist())


def test_eval_is_deterministic_and_matches_opencv(syn_root):
    cfg = cfg_for(syn_root, size=48)
    dataset, index = build_eval_dataset(cfg)
    out = batches(dataset)
    assert [len(b[0]) for b in out][:-1] == [16] * (len(out) - 1)  # no drop: the last batch is smaller
    images = np.concatenate([b[0] for b in out])
    labels = np.concatenate([b[1] for b in out])
    assert images.shape == (len(index), 3, 48, 48)
    np.testing.assert_array_equal(labels, index.labels)  # index order
    again = np.concatenate([b[0] for b in batches(dataset)])
    np.testing.assert_array_equal(images, again)
    # frame 0 by hand: decode, resize 128*48/112 = 55, centre crop 48, normalise
    r = eval_resize(48, 128)
    assert r == 55
    bgr = cv2.imread(os.path.join(index.image_root, index.paths[0]))
    rgb = cv2.resize(bgr[:, :, ::-1], (r, r), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    o = (r - 48) // 2
    ref = ((rgb[o:o + 48, o:o + 48] - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)
    assert np.abs(images[0] - ref).mean() < 0.05
    # the index names every frame's video and frame number for smoothing and submissions
    assert len(index.video_ids) == len(index.frames) == len(index.paths) == len(images)
    assert index.video_names[index.video_ids[0]] in index.paths[0]


def test_arcface_norm_and_112(syn_root):
    cfg = cfg_for(syn_root, size=112, **{"data.norm": "arcface"})
    dataset, index = build_eval_dataset(cfg)
    image, _ = batches(dataset)[0]
    assert image.shape[1:] == (3, 112, 112)
    assert -1.0 <= image.min() and image.max() <= 1.0


def test_bad_crop_config(syn_root):
    with pytest.raises(ConfigError, match="data.crop_scale"):
        build_train_dataset(cfg_for(syn_root, **{"data.crop_scale": "[0.9, 0.5]"}))




def _corrupt_copies(data):
    mid = np.frombuffer(data, np.uint8).copy()
    mid[300:800] = 7
    return {"garbage": b"this is not a jpeg", "truncated": data[: len(data) // 3], "empty": b"",
            "tables": mid.tobytes()}


def test_corrupt_images_are_replaced_counted_and_reported(syn_root, tmp_path):
    import shutil

    root = str(tmp_path / "abaw")
    shutil.copytree(syn_root, root)
    cfg = cfg_for(root)
    _, index = build_eval_dataset(cfg)
    victims = [1, 5, 6, 9]  # 5 and 6 are neighbours: the replacement skips both
    with open(index.abspath(0), "rb") as f:
        good = f.read()
    for i, (kind, data) in zip(victims, _corrupt_copies(good).items()):
        with open(index.abspath(i), "wb") as f:
            f.write(data)
    dataset, index = build_eval_dataset(cfg)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = batches(dataset)
    labels = np.concatenate([b[1] for b in out])
    assert len(labels) == len(index)  # nothing lost: each bad frame was replaced
    for i in victims:
        nxt = i + 1
        while nxt in victims:
            nxt += 1
        np.testing.assert_array_equal(labels[i], index.labels[nxt])  # ... by the next readable frame
    src = dataset.jpeg_source
    assert sorted(src.bad) == sorted(index.paths[victims].tolist())
    assert src.replaced == len(victims)
    assert any("unreadable image" in str(w.message) for w in caught)
    with pytest.warns(RuntimeWarning, match=r"4 new unreadable image\(s\).*4 read\(s\) replaced"):
        msg = src.flush_report("epoch 1")
    assert all(p in msg for p in index.paths[victims])
    assert src.flush_report() is None  # reported once
    # training through the same files does not stop either
    train, _, _ = build_train_dataset(cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert len(batches(train)) == train.get_dataset_size()
