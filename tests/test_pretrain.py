"""Face-recognition pretraining: the identity folder reader, the ArcFace head, verification scoring, the run."""
import math
import os

import cv2
import numpy as np
import pytest

from mindface_au.data.identities import (IdentityFolderError, read_identity_folder, split_identities,
                                         verification_pairs)
from mindface_au.data.synthetic_identities import make_synthetic_identities
from mindface_au.engine.pretrain import verification_accuracy
from testlib import T


def write_jpg(path, value=128):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    cv2.imwrite(path, np.full((16, 16, 3), value, np.uint8))


def identity_tree(root, counts):
    for k, n in enumerate(counts):
        for m in range(n):
            write_jpg(os.path.join(root, f"person{k}", f"{m}.jpg"), 40 * k)
    return str(root)


def test_identity_folder_counts_classes_in_sorted_order(tmp_path):
    root = identity_tree(tmp_path / "ids", [3, 1, 2])
    (tmp_path / "ids" / "person0" / "notes.txt").write_text("not an image")  # ignored, as image folders do
    folder = read_identity_folder(root)
    assert folder.identities == ["person0", "person1", "person2"]
    assert folder.labels.tolist() == [0, 0, 0, 1, 2, 2]
    assert folder.paths[3] == os.path.join("person1", "0.jpg")


@pytest.mark.parametrize("breakage, named", [
    ("stray", "stray.jpg"), ("nested", os.path.join("person1", "deeper")), ("empty", "person2"),
    ("unreadable", os.path.join("person0", "1.jpg")), ("one", "identity folder(s)")])
def test_malformed_identity_folder_is_named_in_one_line(tmp_path, breakage, named):
    root = identity_tree(tmp_path / "ids", [2, 2])
    if breakage == "stray":
        write_jpg(os.path.join(root, "stray.jpg"))
    elif breakage == "nested":
        write_jpg(os.path.join(root, "person1", "deeper", "x.jpg"))
    elif breakage == "empty":
        os.makedirs(os.path.join(root, "person2"))
    elif breakage == "unreadable":
        with open(os.path.join(root, "person0", "1.jpg"), "wb") as f:
            f.write(b"\xff\xd8 cut short")
    else:
        root = identity_tree(tmp_path / "one", [3])
    with pytest.raises(IdentityFolderError) as err:
        read_identity_folder(root)
    assert named in str(err.value) and "\n" not in str(err.value)


def test_held_out_identities_are_whole_and_pairs_are_half_same(tmp_path):
    folder = read_identity_folder(identity_tree(tmp_path / "ids", [2, 3, 2, 4, 2]))
    train, held = split_identities(folder, 0.4, seed=1)
    assert held.num_classes == 2 and train.num_classes == 3
    assert not set(train.identities) & set(held.identities)
    assert sorted(train.paths.tolist() + held.paths.tolist()) == sorted(folder.paths.tolist())
    first, second, same = verification_pairs(held.labels, 50, seed=0)
    assert same.sum() == 25
    assert np.array_equal(held.labels[first] == held.labels[second], same)
    assert not np.any(first[same] == second[same])


def test_arc_margin_head_matches_the_formula_and_its_fallback():
    from mindface_au.models.arcface import ArcMarginHead

    head = ArcMarginHead(4, 3, scale=2.0, margin=0.5)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 4)).astype(np.float32)
    w = head.weight.asnumpy()
    x[5] = -w[0] / np.linalg.norm(w[0])  # theta = pi at its label: theta + m passes pi
    y = np.array([0, 1, 2, 0, 1, 0], np.int32)
    cos = (x / np.linalg.norm(x, axis=1, keepdims=True)) @ (w / np.linalg.norm(w, axis=1, keepdims=True)).T
    ref = 2.0 * cos
    for i, label in enumerate(y):
        theta = math.acos(np.clip(cos[i, label], -1, 1))
        ref[i, label] = 2.0 * (math.cos(theta + 0.5) if theta + 0.5 <= math.pi
                               else cos[i, label] - math.sin(math.pi - 0.5) * 0.5)
    out = head(T(x), T(y, np.int32)).asnumpy()
    np.testing.assert_allclose(out, ref, atol=2e-6)


def test_cross_entropy_stays_finite_in_graph_mode_where_the_label_probability_underflows():
    import mindspore as ms
    import mindspore.nn as nn

    from mindface_au.models.arcface import cross_entropy

    class Loss(nn.Cell):
        def construct(self, logits, labels):
            return cross_entropy(logits, labels, 3)

    logits = np.array([[100.0, -100.0, 0.0], [1.0, 2.0, 3.0]], np.float32)  # label 1 of row 0: p = e^-200
    ref = np.mean([200.0, np.log(np.exp(logits[1]).sum()) - 3.0])
    ms.set_context(mode=ms.GRAPH_MODE)
    assert float(Loss()(T(logits), T([1, 2], np.int32)).asnumpy()) == pytest.approx(ref, rel=1e-6)


def test_verification_accuracy_of_separated_and_of_random_similarities():
    same = np.r_[np.ones(100, bool), np.zeros(100, bool)]
    assert verification_accuracy(np.where(same, 0.9, 0.1) + np.linspace(0, 0.01, 200), same)["accuracy"] == 1.0
    noise = verification_accuracy(np.random.default_rng(0).random(200), same)
    assert 0.3 < noise["accuracy"] < 0.7 and 0.35 < noise["roc_auc"] < 0.65


@pytest.mark.slow
def test_pretraining_killed_resumes_verifies_held_out_identities_and_inits_an_au_net(tmp_path):
    """40 synthetic identities x 12 images, 3 epochs, SIGKILLed after its first epoch and resumed;
    then its backbone.ckpt initialises an AU net's backbone."""
    import signal
    import subprocess
    import sys
    import time

    from mindface_au.engine.pretrain import PretrainSettings, pretrain
    from mindface_au.fileio import read_jsonl
    from mindface_au.factory import build_model
    from mindface_au.weights import load_backbone_init
    from testlib import ROOT, tiny_config

    data, work = str(tmp_path / "ids"), str(tmp_path / "run")
    make_synthetic_identities(data, 40, 12, seed=0, progress=False)
    cmd = [sys.executable, "-m", "mindface_au", "pretrain", "--data", data, "--work-dir", work, "--input-size", "32",
           "--epochs", "3", "--batch-size", "32", "--pairs", "400", "--holdout", "0.25", "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while not os.path.isfile(os.path.join(work, "last.ckpt")) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(read_jsonl(os.path.join(work, "log.jsonl")))
    assert 1 <= done_before < 3, "the kill came after the run had ended: nothing left to resume"

    record = pretrain(PretrainSettings(data="", work_dir=work), resume=True, progress=False)  # settings.json
    assert [r["epoch"] for r in read_jsonl(os.path.join(work, "log.jsonl"))] == [1, 2, 3]
    assert record["epoch"] == 3 and record["held_out_identities"] == 10
    assert record["accuracy"] > 0.6, record  # chance is 0.5
    assert os.path.isfile(os.path.join(work, "curves.png"))

    net = build_model(tiny_config())  # iresnet_mini at 32x32, as pretrained
    report = load_backbone_init(net, os.path.join(work, "backbone.ckpt"))
    backbone = [n for n, _ in net.parameters_and_names() if n.startswith("backbone.")]
    assert sorted(report.loaded) == sorted(backbone) and report.skipped == []
    assert report.source_format == "mindspore checkpoint"
