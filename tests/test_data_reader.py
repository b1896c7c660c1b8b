"""The ABAW and list-file readers on small hand-built trees with every quirk of the real data."""
import os

import numpy as np
import pytest

from mindface_au.constants import ABAW_HEADER
from mindface_au.data import (AnnotationError, NotAbawLayoutError, parse_annotation_bytes, read_abaw_split,
                              read_list_file, write_list_file)

from testlib.run import run_command
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")  # never decoded by the reader


def row(*vals):
    return ",".join(str(v) for v in vals)


R = [row(*([0] * 11 + [1])), row(*([-1] * 12)), row(*([1] + [0] * 11)), row(*([0, 1] * 6)), row(*([0] * 5 + [-1] + [0] * 6)),
     row(*([1] * 12))]


def put(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def images(root, rel_dir, frames):
    for k in frames:
        put(os.path.join(root, rel_dir, f"{k:05d}.jpg"), JPEG)


@pytest.fixture
def tree(tmp_path):
    """Train_Set: vidA (BOM, CRLF, trailing blank lines, -1 rows, a missing image),
    vidB_left / vidB_right (two people; images in a nested cropped_aligned/cropped_aligned; spaces);
    Validation_Set: vidC."""
    root = str(tmp_path / "abaw")
    ann = os.path.join(root, "annotations", "AU_Detection_Challenge")
    text = "\r\n".join([ABAW_HEADER] + R) + "\r\n\r\n\r\n"
    put(os.path.join(ann, "Train_Set", "vidA.txt"), b"\xef\xbb\xbf" + text.encode())
    images(root, "cropped_aligned/vidA", [1, 2, 3, 5, 6])  # frame 4 missing
    put(os.path.join(ann, "Train_Set", "vidB_left.txt"), ("\n".join([ABAW_HEADER] + R[:3]) + "\n").encode())
    put(os.path.join(ann, "Train_Set", "vidB_right.txt"),
        ("\n".join([ABAW_HEADER] + [r.replace(",", ", ") for r in (R[0], R[2], R[3], R[5])])).encode())
    os.makedirs(os.path.join(root, "cropped_aligned", "cropped_aligned"), exist_ok=True)
    images(root, "cropped_aligned/cropped_aligned/vidB_left", [1, 2, 3])
    images(root, "cropped_aligned/cropped_aligned/vidB_right", [1, 2, 3, 4, 9])  # 9: no annotation row, ignored
    put(os.path.join(ann, "Validation_Set", "vidC.txt"), ("\n".join([ABAW_HEADER] + R[2:4]) + "\n").encode())
    images(root, "cropped_aligned/vidC", [1, 2])
    return root


def test_reader_counts_every_quirk(tree, tmp_path):
    idx = read_abaw_split(tree, "Train_Set", cache_dir=str(tmp_path / "cache"))
    assert idx.video_names == ["vidA", "vidB_left", "vidB_right"]
    per = idx.report.per_video()
    assert per["vidA"] == {"rows": 6, "unannotated": 2, "missing": 1, "kept": 3}
    assert per["vidB_left"] == {"rows": 3, "unannotated": 1, "missing": 0, "kept": 2}
    assert per["vidB_right"] == {"rows": 4, "unannotated": 0, "missing": 0, "kept": 4}
    assert idx.report.totals() == {"videos": 3, "rows": 13, "unannotated": 3, "missing": 1, "kept": 9,
                                   "skipped_videos": 0}
    assert len(idx) == 9
    np.testing.assert_array_equal(idx.frames, [1, 3, 6, 1, 3, 1, 2, 3, 4])
    np.testing.assert_array_equal(idx.video_ids, [0, 0, 0, 1, 1, 2, 2, 2, 2])
    expected = np.array([[int(v) for v in R[i].split(",")] for i in (0, 2, 5, 0, 2, 0, 2, 3, 5)], np.int8)
    np.testing.assert_array_equal(idx.labels, expected)
    assert idx.labels.dtype == np.int8
    assert idx.path(0) == "cropped_aligned/vidA/00001.jpg"
    assert idx.paths[3] == "cropped_aligned/cropped_aligned/vidB_left/00001.jpg"
    assert all(os.path.isfile(os.path.join(tree, p)) for p in idx.paths)
    val = read_abaw_split(tree, "Validation_Set", cache_dir=str(tmp_path / "cache"))
    assert val.video_names == ["vidC"] and len(val) == 2


def test_report_summary_names_videos(tree, tmp_path):
    idx = read_abaw_split(tree, "Train_Set", use_cache=False)
    text = idx.report.summary()
    assert "13 annotation rows" in text and "kept 9" in text and "vidA: 2 unannotated, 1 missing" in text


@pytest.mark.parametrize("body, line, words", [
    ("AU1,AU2\n" + R[0], 1, "header"),
    (ABAW_HEADER + "\n" + R[0] + "\n" + R[2] + "\n0,1,0\n", 4, "got 3 values"),
    (ABAW_HEADER + "\n" + R[0] + "\n" + R[0].replace("1", "2") + "\n", 3, "value '2' in column 12 (AU26)"),
    (ABAW_HEADER + "\n" + R[0] + "\n" + R[0].replace("0", "x", 1) + "\n", 3, "invalid character 'x'"),
    (ABAW_HEADER + "\n" + R[0] + "\n\n" + R[2] + "\n", 3, "empty line"),
    (ABAW_HEADER + "\n" + R[0].replace("0", "-0", 1) + "\n", 2, "value '-0'"),
    (ABAW_HEADER + "\n" + R[0].replace("0", "0.5", 1) + "\n", 2, "invalid character '.'"),
])
def test_malformed_file_names_file_and_line(tree, body, line, words):
    path = os.path.join(tree, "annotations", "AU_Detection_Challenge", "Train_Set", "vidB_left.txt")
    put(path, body.encode())
    with pytest.raises(AnnotationError) as err:
        read_abaw_split(tree, "Train_Set", use_cache=False)
    assert str(err.value).startswith(f"{path}:{line}: ")
    assert words in str(err.value)
    assert err.value.line == line


def test_lenient_skips_and_reports_malformed_video(tree):
    path = os.path.join(tree, "annotations", "AU_Detection_Challenge", "Train_Set", "vidB_left.txt")
    put(path, (ABAW_HEADER + "\n" + R[0] + "\n0,1\n").encode())
    idx = read_abaw_split(tree, "Train_Set", strict=False, use_cache=False)
    assert idx.video_names == ["vidA", "vidB_right"]
    assert list(idx.report.skipped) == ["vidB_left"]
    assert f"{path}:3:" in idx.report.skipped["vidB_left"]
    assert len(idx) == 7


def test_parse_values_edge_cases():
    assert parse_annotation_bytes((ABAW_HEADER + "\n").encode()).shape == (0, 12)
    lab = parse_annotation_bytes((ABAW_HEADER + "\n" + R[1] + "\n" + R[3] + "\n\n").encode())
    np.testing.assert_array_equal(lab, [[-1] * 12, [0, 1] * 6])
    with pytest.raises(AnnotationError, match=":2: value '1-'"):
        parse_annotation_bytes((ABAW_HEADER + "\n" + R[0].replace("0", "1-", 1)).encode(), "f.txt")


def test_cache_is_used_and_invalidated(tree, tmp_path):
    cache = str(tmp_path / "cache")
    first = read_abaw_split(tree, "Train_Set", cache_dir=cache)
    assert not first.from_cache and os.listdir(cache)
    second = read_abaw_split(tree, "Train_Set", cache_dir=cache)
    assert second.from_cache
    np.testing.assert_array_equal(second.labels, first.labels)
    assert second.report.per_video() == first.report.per_video() and second.paths.tolist() == first.paths.tolist()
    # a changed annotation file (size and time) is parsed again
    path = os.path.join(tree, "annotations", "AU_Detection_Challenge", "Train_Set", "vidB_left.txt")
    with open(path, "a") as f:
        f.write(R[5] + "\n")
    images(tree, "cropped_aligned/cropped_aligned/vidB_left", [4])
    third = read_abaw_split(tree, "Train_Set", cache_dir=cache)
    assert not third.from_cache and len(third) == len(first) + 1
    # a removed image changes its folder: the index is rebuilt without that frame
    os.remove(os.path.join(tree, "cropped_aligned", "vidA", "00006.jpg"))
    fourth = read_abaw_split(tree, "Train_Set", cache_dir=cache)
    assert not fourth.from_cache and fourth.report.per_video()["vidA"]["missing"] == 2


def test_not_an_abaw_root(tmp_path):
    (tmp_path / "something").mkdir()
    with pytest.raises(NotAbawLayoutError, match="not an ABAW AU layout"):
        read_abaw_split(str(tmp_path), "Train_Set")


def test_list_file_reader(tmp_path):
    root = str(tmp_path)
    images(root, "F001/T1", [2440, 2441, 2443])
    images(root, "F002/T3", [7, 8])
    put(os.path.join(root, "F002/T3/odd_name.jpg"), JPEG)
    lab = [row(*([0] * 11 + [1])), row(*([1] + [0] * 11)), row(*([-1] * 12)), row(*([0, 1] * 6))]
    lines = [f"F001/T1/02440.jpg {lab[0]}", "", f"F002/T3/00007.jpg {lab[1].replace(',', ' ')}",
             f"F001/T1/02441.jpg {lab[1]}", f"F001/T1/02442.jpg {lab[3]}",  # image missing
             f"F002/T3/00008.jpg {lab[2]}",  # unannotated
             f"F002/T3/odd_name.jpg {lab[3]}", f"F001/T1/02443.jpg {lab[3]}"]
    path = os.path.join(root, "list.txt")
    put(path, b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n\r\n")
    idx = read_list_file(path, root, use_cache=False)
    assert idx.video_names == ["F001/T1", "F002/T3"]
    assert idx.report.per_video()["F001/T1"] == {"rows": 4, "unannotated": 0, "missing": 1, "kept": 3}
    assert idx.report.per_video()["F002/T3"] == {"rows": 3, "unannotated": 1, "missing": 0, "kept": 2}
    # grouped by video, file order kept inside a video
    assert idx.paths.tolist() == ["F001/T1/02440.jpg", "F001/T1/02441.jpg", "F001/T1/02443.jpg",
                                  "F002/T3/00007.jpg", "F002/T3/odd_name.jpg"]
    np.testing.assert_array_equal(idx.frames[:3], [2440, 2441, 2443])
    np.testing.assert_array_equal(idx.labels[3], [1] + [0] * 11)
    # round trip through write_list_file
    out = os.path.join(root, "copy.txt")
    assert write_list_file(idx, out) == 5
    again = read_list_file(out, root, use_cache=False)
    assert again.paths.tolist() == idx.paths.tolist()
    np.testing.assert_array_equal(again.labels, idx.labels)
    # per-AU missing labels kept on request
    partial = os.path.join(root, "partial.txt")
    put(partial, f"F001/T1/02440.jpg {row(*([0] * 11 + [-1]))}\nF001/T1/02441.jpg {lab[2]}\n".encode())
    kept = read_list_file(partial, root, keep_partial=True, use_cache=False)
    assert len(kept) == 1 and kept.labels[0, 11] == -1


def test_list_file_cache_follows_the_same_rule(tmp_path):
    """List files are cached under the rule of ABAW splits: keyed on the file, current while its image folders are."""
    root, cache = str(tmp_path / "images"), str(tmp_path / "cache")
    images(root, "v1", [1, 2, 3])
    path = os.path.join(root, "list.txt")
    put(path, "".join(f"v1/{k:05d}.jpg {R[0]}\n" for k in (1, 2, 3)).encode())
    first = read_list_file(path, root, cache_dir=cache)
    assert not first.from_cache and len(first) == 3 and os.listdir(cache)
    second = read_list_file(path, root, cache_dir=cache)
    assert second.from_cache and second.paths.tolist() == first.paths.tolist()
    os.remove(os.path.join(root, "v1", "00002.jpg"))  # the folder's time changes: rebuilt
    third = read_list_file(path, root, cache_dir=cache)
    assert not third.from_cache and third.report.per_video()["v1"]["missing"] == 1
    with open(path, "a") as f:  # the list file's size and time change: another key
        f.write(f"v1/00003.jpg {R[2]}\n")
    fourth = read_list_file(path, root, cache_dir=cache)
    assert not fourth.from_cache and len(fourth) == 3
    assert read_list_file(path, root, cache_dir=cache).from_cache


def test_list_file_errors_name_line(tmp_path):
    path = str(tmp_path / "bad.txt")
    put(path, f"a/00001.jpg {row(*([0] * 12))}\na/00002.jpg 0,1\n".encode())
    with pytest.raises(AnnotationError, match=r"bad.txt:2: expected 12 comma-separated values, got 2 values"):
        read_list_file(path, str(tmp_path), check_images=False, use_cache=False)
    put(path, b"a/00001.jpg\n")
    with pytest.raises(AnnotationError, match=r"bad.txt:1: expected 'relative/path.jpg"):
        read_list_file(path, str(tmp_path), check_images=False, use_cache=False)


@pytest.mark.slow
def test_check_dataset_tool(tree, tmp_path):
    bad = run_command("check-dataset", "--root", str(tmp_path / "nothing_here"))
    assert bad.returncode == 2 and "error:" in bad.stderr and "no such folder" in bad.stderr
    (tmp_path / "empty").mkdir()
    bad = run_command("check-dataset", "--root", str(tmp_path / "empty"))
    assert bad.returncode == 2 and "not an ABAW AU layout" in bad.stderr
    ok = run_command("check-dataset", "--root", tree, "--no-progress")
    assert ok.returncode == 0, ok.stderr
    out = ok.stdout
    assert "== Train_Set" in out and "== Validation_Set" in out
    train = out.split("== Train_Set")[1].split("== Validation_Set")[0]
    assert "annotation rows        13" in train and "dropped rows (-1)      3" in train
    assert "missing images         1" in train
    # the reader's stand-in JPEGs are not decodable images: all 9 usable frames are unreadable
    assert "unreadable images      9" in train
    assert "AU26: 66.7%" in train  # 6 of the 9 kept rows have AU26
