"""Image folders below intermediate folders of cropped_aligned/, at any depth, with exact counts."""
import os

import numpy as np
import pytest

from mindface_au.constants import ABAW_HEADER
from mindface_au.data import read_abaw_split, read_image_folders
from mindface_au.data.abaw import ANNOTATION_SUBDIR, FRAME_FORMAT, IMAGE_SUBDIR, video_folders
from mindface_au.data.check import check_dataset

JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")  # never decoded by the reader
ON, OFF, UNANNOTATED = ",".join(["1"] * 12), ",".join(["0"] * 12), ",".join(["-1"] * 12)

# video -> (image folder below cropped_aligned/, annotation rows, frames that have an image)
VIDEOS = {
    # two intermediate folders, then the archives' second cropped_aligned/
    "vidA": ("batch_1/part_a/cropped_aligned/vidA", [ON, OFF, UNANNOTATED, ON, OFF, ON, OFF, ON], [1, 2, 3, 4, 6, 8]),
    # two intermediate folders, no second cropped_aligned/
    "vidB_left": ("batch_2/extra/vidB_left", [OFF, UNANNOTATED, UNANNOTATED, ON, ON], [2, 3, 4, 5, 7]),
    "vidB_right": ("batch_2/extra/vidB_right", [ON, ON, ON], [1, 2, 3]),
    # the plain layout beside them
    "vidC": ("vidC", [OFF, ON, OFF, ON], [1, 3]),
    # annotated, but its images are nowhere
    "vidD": (None, [ON, UNANNOTATED, OFF], []),
}
# (rows, unannotated, missing, kept) worked out by hand from the table above
EXPECTED = {"vidA": (8, 1, 2, 5), "vidB_left": (5, 2, 1, 2), "vidB_right": (3, 0, 0, 3), "vidC": (4, 0, 2, 2),
            "vidD": (3, 1, 2, 0)}


def put(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


@pytest.fixture
def nested(tmp_path):
    root = str(tmp_path / "affwild2")
    for video, (folder, rows, frames) in VIDEOS.items():
        put(os.path.join(root, ANNOTATION_SUBDIR, "Train_Set", f"{video}.txt"),
            ("\n".join([ABAW_HEADER] + rows) + "\n").encode())
        for k in frames:
            put(os.path.join(root, IMAGE_SUBDIR, folder, FRAME_FORMAT.format(k)), JPEG)
    os.makedirs(os.path.join(root, IMAGE_SUBDIR, "batch_3", "empty"))  # an intermediate folder with nothing
    return root


def test_nested_layout_with_two_intermediate_folders_gives_exact_counts(nested, tmp_path):
    for use_cache in (True, True, False):  # built, read from the cache, rebuilt
        idx = read_abaw_split(nested, "Train_Set", cache_dir=str(tmp_path / "cache"), use_cache=use_cache)
        per = idx.report.per_video()
        got = {v: (p["rows"], p["unannotated"], p["missing"], p["kept"]) for v, p in per.items()}
        assert got == EXPECTED
        assert idx.report.totals() == {"videos": 5, "rows": 23, "unannotated": 4, "missing": 7, "kept": 12,
                                       "skipped_videos": 0}
        assert len(idx) == 12
        np.testing.assert_array_equal(idx.frames, [1, 2, 4, 6, 8, 4, 5, 1, 2, 3, 1, 3])
        assert idx.paths[0] == "cropped_aligned/batch_1/part_a/cropped_aligned/vidA/00001.jpg"
        assert idx.paths[5] == "cropped_aligned/batch_2/extra/vidB_left/00004.jpg"
        assert all(os.path.isfile(os.path.join(nested, p)) for p in idx.paths)
    assert idx.from_cache is False


def test_a_video_folder_added_deeper_later_is_found_despite_the_cache(nested, tmp_path):
    cache = str(tmp_path / "cache")
    assert read_abaw_split(nested, "Train_Set", cache_dir=cache).report.per_video()["vidD"]["kept"] == 0
    for k in (1, 3):
        put(os.path.join(nested, IMAGE_SUBDIR, "a", "b", "c", "vidD", FRAME_FORMAT.format(k)), JPEG)
    per = read_abaw_split(nested, "Train_Set", cache_dir=cache).report.per_video()["vidD"]
    assert (per["missing"], per["kept"]) == (0, 2)


def test_unlabelled_reader_and_check_find_the_nested_folders(nested):
    assert sorted(video_folders(nested)) == ["vidA", "vidB_left", "vidB_right", "vidC"]
    idx = read_image_folders(nested)
    assert idx.video_names == ["vidA", "vidB_left", "vidB_right", "vidC"]
    assert [int((idx.video_ids == v).sum()) for v in range(4)] == [6, 5, 3, 2]  # every image, annotated or not
    (r,) = check_dataset(nested, ["Train_Set"], decode=False, progress=False)
    assert (r["annotation_rows"], r["dropped_unannotated_rows"], r["missing_images"], r["usable_frames"]) == (23, 4, 7, 12)


def test_the_same_video_in_two_folders_uses_the_shallowest_and_warns(nested):
    put(os.path.join(nested, IMAGE_SUBDIR, "copy", "x", "cropped_aligned", "vidC", FRAME_FORMAT.format(2)), JPEG)
    with pytest.warns(UserWarning, match="vidC: cropped_aligned/vidC, cropped_aligned/copy/x/cropped_aligned/vidC"):
        idx = read_abaw_split(nested, "Train_Set", use_cache=False)
    assert idx.report.per_video()["vidC"]["kept"] == 2
