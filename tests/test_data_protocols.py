"""The field's 3-fold subject-exclusive protocols, and the renderer's AUs of BP4D and DISFA."""
import numpy as np
import pytest

from mindface_au.constants import AU_NAMES
from mindface_au.data.face_renderer import RENDERED_AUS, Pose, render_face, sample_identity, sample_scene
from mindface_au.data.index import FrameIndex, ReadReport
from mindface_au.data.protocols import fold_subjects, select_fold

BP4D_PARTS = ("F001 M007 F018 F008 F002 M004 F010 F009 M012 M001 F016 M014 F023 M008",
              "M011 F003 M010 M002 F005 F022 M018 M017 F013 M016 F020 F011 M013 M005",
              "F007 F015 F006 F019 M006 M009 F012 M003 F004 F021 F017 M015 F014")
DISFA_PARTS = ("SN002 SN010 SN001 SN026 SN027 SN032 SN030 SN009 SN016",
               "SN013 SN018 SN011 SN028 SN012 SN006 SN031 SN021 SN024",
               "SN003 SN029 SN023 SN025 SN008 SN005 SN007 SN017 SN004")


@pytest.mark.parametrize("dataset,parts,n_subjects", [("bp4d", BP4D_PARTS, 41), ("disfa", DISFA_PARTS, 27)])
def test_folds_test_exactly_the_listed_part(dataset, parts, n_subjects):
    parts = [p.split() for p in parts]
    for fold, test_part in ((1, 3), (2, 2), (3, 1)):
        train, test = fold_subjects(dataset, fold)
        assert list(test) == parts[test_part - 1]
        assert sorted(train) == sorted(s for i, p in enumerate(parts, 1) if i != test_part for s in p)
        assert not set(train) & set(test) and len(train) + len(test) == n_subjects
    with pytest.raises(ValueError, match="fold must be 1, 2 or 3"):
        fold_subjects(dataset, 4)


def _index(videos, frames_each=3, n_aus=8):
    n = frames_each * len(videos)
    report = ReadReport(list(videos), np.full(len(videos), frames_each), np.zeros(len(videos), int),
                        np.zeros(len(videos), int))
    return FrameIndex("/data", list(videos), list(videos), ["{:05d}.jpg"] * len(videos),
                      np.repeat(np.arange(len(videos), dtype=np.int32), frames_each),
                      np.tile(np.arange(1, frames_each + 1, dtype=np.int32), len(videos)),
                      np.zeros((n, n_aus), np.int8), report, au_names=AU_NAMES[:n_aus],
                      intensity=np.arange(n * n_aus, dtype=np.float32).reshape(n, n_aus))


def test_select_fold_keeps_the_subjects_of_the_part():
    bp4d = [f"{s}_T{t}" for part in BP4D_PARTS for s in part.split() for t in (1, 2)]
    index = _index(bp4d)
    for fold in (1, 2, 3):
        train, test = (select_fold(index, "bp4d", fold, part) for part in ("train", "test"))
        _, want = fold_subjects("bp4d", fold)
        assert sorted({v.split("_")[0] for v in test.video_names}) == sorted(want)
        assert len(train) + len(test) == len(index) and not set(train.video_names) & set(test.video_names)
        # rows travel with their video: frames, labels, intensity, report
        rows = [index.video_names.index(v) * 3 for v in test.video_names]
        np.testing.assert_array_equal(test.intensity[::3], index.intensity[rows])
        assert test.report.video_names == test.video_names and test.path(0).startswith(test.video_names[0])
    disfa = _index([s for part in DISFA_PARTS for s in part.split()])
    assert select_fold(disfa, "disfa", 2, "test").video_names == DISFA_PARTS[1].split()


NEW_AU_REGIONS = {"AU5": "eyes", "AU9": "nose", "AU14": "mouth", "AU17": "chin", "AU20": "mouth"}


def test_renderer_draws_the_new_aus_in_their_regions_and_keeps_the_old_pixels():
    rng = np.random.default_rng(4)
    ident, scene = sample_identity(rng), sample_scene(rng)
    scene.light_strength, scene.gain, scene.cast[:] = 0.0, 1.0, 1.0
    scene.blur = 0.0
    y = np.arange(112)[:, None] * np.ones((1, 112))
    regions = {"eyes": (y > ident.eye_y - 10) & (y < ident.eye_y + 8), "nose": (y > ident.eye_y) & (y < ident.nose_y + 5),
               "mouth": (y > ident.nose_y) & (y < ident.mouth_y + 12), "chin": y > ident.mouth_y - 4}
    names = RENDERED_AUS
    neutral = render_face(ident, scene, np.zeros(len(names)), Pose(), au_names=names).astype(np.float32)
    old = render_face(ident, scene, np.zeros(12), Pose()).astype(np.float32)
    np.testing.assert_array_equal(neutral, old)  # the added AUs at 0 leave the 12-AU face as it was
    for au, region in NEW_AU_REGIONS.items():
        diffs = []
        for level in (2, 5):  # FACS intensity 0-5 -> strength level / 5
            a = np.zeros(len(names))
            a[names.index(au)] = level / 5
            diffs.append(np.abs(render_face(ident, scene, a, Pose(), au_names=names).astype(np.float32) - neutral).sum(2))
        d = diffs[1]
        assert d.sum() > 255 * 10, au
        assert d[regions[region]].sum() / d.sum() > 0.9, au
        assert diffs[0].sum() < d.sum(), au
    with pytest.raises(ValueError, match="AU43"):
        render_face(ident, scene, [1.0], au_names=("AU43",))
