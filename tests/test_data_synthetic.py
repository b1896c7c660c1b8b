"""Synthetic Aff-Wild2: exact layout, determinism, AU effects in their own regions, real-data label statistics."""
import filecmp
import os

import numpy as np
import pytest

from mindface_au.config import load_config
from mindface_au.constants import AU_NAMES, NUM_AUS, RARE_AUS
from mindface_au.data import ensure_synthetic, make_synthetic_affwild2, read_abaw_split
from mindface_au.data.face_renderer import Pose, render_face, sample_identity, sample_scene
from mindface_au.data.synthetic import INFO_FILE, sample_timeline, video_names

A = {a: i for i, a in enumerate(AU_NAMES)}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    base = tmp_path_factory.mktemp("synth")
    root = str(base / "a")
    info = make_synthetic_affwild2(root, videos=8, frames=40, seed=5, workers=2, progress=False)
    return root, info, base


def test_layout_and_reader_agree(small):
    root, info, _ = small
    assert os.path.isfile(os.path.join(root, INFO_FILE))
    names = sorted(n for n, _ in video_names(8))
    assert "synth-001_left" in names and "synth-001_right" in names
    seen = []
    for split in ("Train_Set", "Validation_Set"):
        idx = read_abaw_split(root, split, use_cache=False)
        assert idx.video_names == sorted(info["splits"][split])
        seen += idx.video_names
        for name, stats in idx.report.per_video().items():
            want = info["per_video"][name]
            assert (stats["rows"], stats["unannotated"], stats["missing"]) == \
                (want["frames"], want["unannotated"], want["missing_images"])
        lab = idx.labels
        assert lab.min() >= 0 and lab.max() <= 1
        np.testing.assert_allclose(lab.mean(0), [info["positive_rate"][split][a] for a in AU_NAMES], atol=1e-3)
        with open(os.path.join(root, idx.paths[0]), "rb") as f:
            assert f.read(2) == b"\xff\xd8"
    assert sorted(seen) == names  # split by video: every video in exactly one split
    # the two people of one clip are in the same split
    split_of = {n: s for s, ns in info["splits"].items() for n in ns}
    assert split_of["synth-001_left"] == split_of["synth-001_right"]


def test_deterministic_from_seed(small):
    root, _, base = small
    again = str(base / "b")
    make_synthetic_affwild2(again, videos=8, frames=40, seed=5, workers=1, progress=False)
    cmp = filecmp.dircmp(os.path.join(root, "annotations"), os.path.join(again, "annotations"))
    for split in ("Train_Set", "Validation_Set"):
        sub = cmp.subdirs["AU_Detection_Challenge"].subdirs[split]
        assert not sub.diff_files and not sub.left_only and not sub.right_only
    for rel in ("cropped_aligned/synth-000/00001.jpg", "cropped_aligned/synth-001_right/00017.jpg"):
        assert filecmp.cmp(os.path.join(root, rel), os.path.join(again, rel), shallow=False)
    other = str(base / "c")
    make_synthetic_affwild2(other, videos=8, frames=40, seed=6, workers=1, progress=False)
    assert not filecmp.cmp(os.path.join(root, "cropped_aligned/synth-000/00001.jpg"),
                           os.path.join(other, "cropped_aligned/synth-000/00001.jpg"), shallow=False)


def _regions(ident):
    """Boolean (112, 112) masks of the FACS regions in canonical coordinates."""
    y = np.arange(112)[:, None] * np.ones((1, 112))
    x = np.ones((112, 1)) * np.arange(112)[None, :]
    brow_y = ident.eye_y - ident.brow_gap
    upper = y < ident.eye_y - 3  # brows and forehead
    eyes = (y > ident.eye_y - 8) & (y < ident.nose_y + 5) & (np.abs(x - 56) > 8)  # lids, cheeks, crow's feet
    lower = y > ident.nose_y - 6  # nose wings, lips, chin
    return {"AU1": upper, "AU2": upper, "AU4": upper & (y > brow_y - 14), "AU6": eyes, "AU7": eyes,
            "AU10": lower, "AU12": lower, "AU15": lower, "AU23": lower, "AU24": lower, "AU25": lower, "AU26": lower}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_au_changes_its_own_region(seed):
    rng = np.random.default_rng(seed)
    ident, scene = sample_identity(rng), sample_scene(rng)
    scene.light_strength, scene.gain, scene.cast[:] = 0.0, 1.0, 1.0
    scene.blur = 0.0
    neutral = render_face(ident, scene, np.zeros(NUM_AUS), Pose()).astype(np.float32)
    regions = _regions(ident)
    diffs = {}
    for au in AU_NAMES:
        a = np.zeros(NUM_AUS)
        a[A[au]] = 1.0
        d = np.abs(render_face(ident, scene, a, Pose()).astype(np.float32) - neutral).sum(2)
        diffs[au] = d
        assert d.sum() > 255 * 25, f"{au}: too small a change ({d.sum() / 255:.1f} pixel-units)"
        inside = d[regions[au]].sum() / d.sum()
        assert inside > 0.9, f"{au}: only {inside:.2f} of the change lies in its region"
        # half the intensity changes less
        a[A[au]] = 0.4
        weaker = np.abs(render_face(ident, scene, a, Pose()).astype(np.float32) - neutral).sum()
        assert weaker < d.sum()
    # no two AUs make the same change
    flat = {k: v.ravel() / np.linalg.norm(v) for k, v in diffs.items()}
    for i, p in enumerate(AU_NAMES):
        for q in AU_NAMES[i + 1:]:
            assert float(flat[p] @ flat[q]) < 0.9, (p, q)


def test_label_statistics_like_real_data():
    rng = np.random.default_rng(0)
    lab = np.concatenate([sample_timeline(rng, 300) > 0 for _ in range(150)])
    rate = lab.mean(0)
    rare = [A[a] for a in RARE_AUS]
    common = [i for i in range(NUM_AUS) if i not in rare]
    assert rate[rare].max() < 0.16 and rate[rare].min() > 0.02
    assert rate[common].min() > 0.15 and rate[A["AU25"]] > 0.35
    assert rate[rare].max() < rate[common].min()

    def cond(a, b):  # P(a | b)
        return lab[lab[:, A[b]], A[a]].mean()

    for a, b in (("AU6", "AU12"), ("AU1", "AU2"), ("AU7", "AU4"), ("AU25", "AU26")):
        assert cond(a, b) > rate[A[a]] + 0.2, (a, b)
    # physically exclusive pairs never co-occur
    assert not (lab[:, A["AU24"]] & lab[:, A["AU25"]]).any()
    assert not (lab[:, A["AU12"]] & lab[:, A["AU15"]]).any()
    # episodes last many frames
    for j in range(NUM_AUS):
        col = lab[:, j].astype(np.int8)
        starts = np.count_nonzero(np.diff(col) == 1)
        assert col.sum() / max(starts, 1) > 15, AU_NAMES[j]


def test_ensure_synthetic(tmp_path):
    root = str(tmp_path / "demo")
    cfg = load_config(None, [f"data.root={root}", "data.synthetic=true", "data.synthetic_videos=4",
                             "data.synthetic_frames=12", "seed=3"])
    assert ensure_synthetic(cfg, progress=False) == root
    assert read_abaw_split(root, "Validation_Set", use_cache=False).num_videos >= 1
    stamp = os.path.getmtime(os.path.join(root, INFO_FILE))
    ensure_synthetic(cfg, progress=False)  # already there: kept
    assert os.path.getmtime(os.path.join(root, INFO_FILE)) == stamp
    # other parameters: the generator's own folder is remade; someone else's data is left alone
    bigger = load_config(None, [f"data.root={root}", "data.synthetic=true", "data.synthetic_videos=5",
                                "data.synthetic_frames=12", "seed=3"])
    ensure_synthetic(bigger, progress=False)
    n_videos = sum(read_abaw_split(root, s, use_cache=False).num_videos for s in ("Train_Set", "Validation_Set"))
    assert n_videos == 5
    os.remove(os.path.join(root, INFO_FILE))
    ensure_synthetic(cfg, progress=False)
    assert not os.path.exists(os.path.join(root, INFO_FILE))
    off = load_config(None, [f"data.root={tmp_path / 'none'}", "data.synthetic=false"])
    ensure_synthetic(off)
    assert not os.path.exists(tmp_path / "none")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file.txt").write_text("x")
    busy = load_config(None, [f"data.root={tmp_path / 'busy'}", "data.synthetic=true"])
    with pytest.raises(FileExistsError, match="not an empty folder"):
        ensure_synthetic(busy, progress=False)
