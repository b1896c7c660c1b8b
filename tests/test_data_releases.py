"""BP4D, DISFA and ME-GraphAU lists read as released: hand-built trees with exact counts, synthetic releases,
one error per malformed line naming file and line, and read_index's dispatch on data.format."""
import os

import numpy as np
import pytest

from mindface_au.constants import AU_SETS
from mindface_au.data import (AnnotationError, read_bp4d, read_disfa, read_index, read_megraphau_list)
from mindface_au.data.check import check_release
from mindface_au.data.protocols import subject_of
from mindface_au.data.synthetic_releases import make_synthetic_bp4d, make_synthetic_disfa

JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")  # never decoded by the reader
BP4D_HEADER = "0,1,2,4,5,6,7,9,10,12,14,15,17,23,24,27"


def put(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def bp4d_row(frame, **values):
    """A row of BP4D_HEADER: the named AUs (AU1=1) set, the others 0."""
    cols = [int(c) for c in BP4D_HEADER.split(",")[1:]]
    return ",".join([str(frame)] + [str(values.get(f"AU{c}", 0)) for c in cols])


@pytest.fixture
def bp4d_tree(tmp_path):
    """F001/T1: unpadded names 98..102, frame 101 has no image, frame 99 all 9 (dropped), AU14 9 on frame 100,
    FERA intensity for AU12; M007/T2: 4-digit zero-padded names 0007..0009, a BOM and CRLF."""
    root = tmp_path / "BP4D"
    occ = root / "AUCoding" / "AU_OCC"
    nine = {f"AU{c}": 9 for c in BP4D_HEADER.split(",")[1:]}
    put(str(occ / "F001_T1.csv"), "\n".join([BP4D_HEADER, bp4d_row(98, AU1=1, AU12=1), bp4d_row(99, **nine),
                                             bp4d_row(100, AU14=9, AU17=1), bp4d_row(101, AU6=1),
                                             bp4d_row(102, AU12=1, AU6=1)]) + "\n")
    put(str(occ / "M007_T2.csv"), "\ufeff" + "\r\n".join([BP4D_HEADER, bp4d_row(7, AU24=1), bp4d_row(8),
                                                          bp4d_row(9, AU4=1, AU24=1)]) + "\r\n")
    for f in (98, 99, 100, 102):
        put(str(root / "F001" / "T1" / f"{f}.jpg"), JPEG)
    for f in (7, 8, 9):
        put(str(root / "M007" / "T2" / f"{f:04d}.jpg"), JPEG)
    put(str(root / "AUCoding" / "AU_INT" / "AU12" / "F001_T1_AU12.csv"), "98,3\n99,9\n100,0\n101,0\n102,9\n")
    return root


def test_bp4d_hand_built_release_exact(bp4d_tree):
    index = read_bp4d(str(bp4d_tree), use_cache=False)
    assert index.au_names == AU_SETS["bp4d"]
    assert index.video_names == ["F001_T1", "M007_T2"]
    assert index.frames.tolist() == [98, 100, 102, 7, 8, 9]
    assert index.paths.tolist() == ["F001/T1/98.jpg", "F001/T1/100.jpg", "F001/T1/102.jpg", "M007/T2/0007.jpg",
                                    "M007/T2/0008.jpg", "M007/T2/0009.jpg"]
    col = {a: j for j, a in enumerate(index.au_names)}
    assert index.labels[1, col["AU14"]] == -1 and (index.labels == -1).sum() == 1  # the 9 masked
    assert index.labels[:, col["AU12"]].tolist() == [1, 0, 1, 0, 0, 0]
    assert index.labels[:, col["AU24"]].tolist() == [0, 0, 0, 1, 0, 1]
    assert index.report.per_video() == {"F001_T1": {"rows": 5, "unannotated": 1, "missing": 1, "kept": 3},
                                        "M007_T2": {"rows": 3, "unannotated": 0, "missing": 0, "kept": 3}}
    inten = index.intensity[:, col["AU12"]]
    assert inten[0] == 3 and inten[1] == 0 and np.isnan(inten[2]) and np.isnan(inten[3:]).all()
    assert np.isnan(index.intensity[:, col["AU1"]]).all()  # not a FERA 2015 intensity AU
    counts = index.subject_counts(subject_of)
    assert counts["F001"]["frames"] == 3 and counts["F001"]["aus"]["AU14"] == [0, 2, 1]
    # the cache gives the same index back
    first = read_bp4d(str(bp4d_tree))
    again = read_bp4d(str(bp4d_tree))
    assert again.from_cache and again.au_names == first.au_names
    np.testing.assert_array_equal(again.labels, first.labels)
    np.testing.assert_array_equal(again.intensity, first.intensity)


@pytest.mark.parametrize("text,line,what", [
    ("0,1,2\n5,0,1\n", 1, "no column for AU4"),
    (BP4D_HEADER + "\n" + bp4d_row(1) + "\n" + bp4d_row(2, AU6=2) + "\n", 3, "occurrence must be 0, 1 or 9"),
    (BP4D_HEADER + "\n" + bp4d_row(1) + ",0\n", 2, "expected 16 values"),
    (BP4D_HEADER + "\n" + bp4d_row(1).replace("1,0", "1,x", 1) + "\n", 2, "'x'"),
    ("frame,1,2\n", 1, "first column is '0'"),
])
def test_bp4d_malformed_file_one_error_naming_file_and_line(tmp_path, text, line, what):
    path = tmp_path / "AUCoding" / "AU_OCC" / "F001_T1.csv"
    put(str(path), text)
    with pytest.raises(AnnotationError) as err:
        read_bp4d(str(tmp_path), check_images=False, use_cache=False)
    assert str(err.value).startswith(f"{path}:{line}:") and what in str(err.value)


@pytest.fixture(scope="module")
def synthetic_bp4d(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic") / "BP4D"
    return root, make_synthetic_bp4d(str(root), frames=24, seed=3)


def test_synthetic_bp4d_release_read_with_exact_counts(synthetic_bp4d):
    root, info = synthetic_bp4d
    index = read_bp4d(str(root), use_cache=False)
    assert len(index.video_names) == 12 and sorted({subject_of(v) for v in index.video_names}) == sorted(info["subjects"])
    assert index.report.per_video() == {v: {k: p[k] for k in ("rows", "unannotated", "missing", "kept")}
                                        for v, p in info["per_video"].items()}
    assert len(index) == sum(p["kept"] for p in info["per_video"].values())
    per_subject = index.subject_counts(subject_of)
    for subject in info["subjects"]:
        videos = [p for v, p in info["per_video"].items() if v.startswith(subject + "_")]
        assert per_subject[subject]["frames"] == sum(p["kept"] for p in videos)
        for au in AU_SETS["bp4d"]:
            assert per_subject[subject]["aus"][au] == [sum(p["aus"][au][k] for p in videos) for k in range(3)]
    assert (index.labels == -1).sum() == 12  # one single 9 (AU14) per sequence, masked
    # both name styles: 4-digit zero-padded and unpadded
    assert {p["name_format"] for p in info["per_video"].values()} == {"{:d}.jpg", "{:04d}.jpg"}
    assert all(os.path.isfile(index.abspath(i)) for i in range(len(index)))
    result = check_release("bp4d", str(root))[0]
    assert result["usable_frames"] == len(index) and result["per_au"]["AU14"][2] == 12


@pytest.fixture(scope="module")
def synthetic_disfa(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic") / "DISFA"
    return root, make_synthetic_disfa(str(root), frames=30, seed=5, crops=True)


def test_synthetic_disfa_release_read_with_exact_counts(synthetic_disfa):
    root, info = synthetic_disfa
    assert sorted(os.listdir(root / "Videos_LeftCamera")) == [f"LeftVideo{s}_comp.avi" for s in sorted(info["subjects"])]
    index = read_disfa(str(root), use_cache=False)
    assert index.au_names == AU_SETS["disfa8"] and index.video_names == sorted(info["subjects"])
    rows = {v: p["rows"] for v, p in info["per_video"].items()}
    assert rows["SN010"] == 29 and all(n == 30 for s, n in rows.items() if s != "SN010")  # the short SN010
    assert index.report.per_video() == {s: {"rows": p["rows"], "unannotated": 0, "missing": p["missing"],
                                            "kept": p["kept"]} for s, p in info["per_video"].items()}
    per_subject = index.subject_counts()
    for s, p in info["per_video"].items():
        assert per_subject[s]["frames"] == p["kept"]
        assert per_subject[s]["aus"] == {au: p["aus"][au] for au in AU_SETS["disfa8"]}
    # occurrence = intensity >= 2: intensity-1 frames exist and are negatives
    assert ((index.intensity == 1) & (index.labels == 0)).any()
    np.testing.assert_array_equal(index.labels, (index.intensity >= 2).astype(np.int8))
    assert all(int(index.intensity[:, j].sum()) == sum(p["intensity_sum"][au] for p in info["per_video"].values())
               for j, au in enumerate(index.au_names))
    # the threshold is configurable; disfa12 reads all 12 coded AUs
    loose = read_disfa(str(root), aus="disfa12", threshold=1, use_cache=False)
    assert loose.labels.shape == (len(index), 12) and loose.labels.sum() > index.labels.sum()


def test_disfa_label_files_checked_line_by_line(tmp_path):
    labels = tmp_path / "ActionUnit_Labels" / "SN001"
    for k in (1, 2, 4, 6, 9, 12, 25, 26):
        put(str(labels / f"SN001_au{k}.txt"), "1,0\n2,3\n3,1\n")
    put(str(labels / "SN001_au6.txt"), "1,0\n2,7\n3,1\n")
    with pytest.raises(AnnotationError, match=r"SN001_au6\.txt:2: .*intensity must be 0-5"):
        read_disfa(str(tmp_path), check_images=False, use_cache=False)
    put(str(labels / "SN001_au6.txt"), "1,0\n2,3\n")
    with pytest.raises(AnnotationError, match=r"SN001_au6\.txt:3: frames differ from SN001_au1\.txt"):
        read_disfa(str(tmp_path), check_images=False, use_cache=False)
    put(str(labels / "SN001_au6.txt"), "1,0\n2;3\n3,1\n")
    with pytest.raises(AnnotationError, match=r"SN001_au6\.txt:2: expected 2 values"):
        read_disfa(str(tmp_path), check_images=False, use_cache=False)


def test_megraphau_list_pair(tmp_path):
    lists, img = tmp_path / "list", tmp_path / "img"
    paths = ["F001/T1/2440.jpg", "F001/T1/2441.jpg", "M007/T2/0012.jpg", "M007/T2/0013.jpg"]
    for p in paths[:3]:
        put(str(img / p), JPEG)
    put(str(lists / "BP4D_test_img_path_fold1.txt"), "\n".join(paths) + "\n")
    rows = ["1 0 0 0 0 0 1 0 0 0 0 0", "0 0 0 0 0 0 0 0 0 0 0 0", "0 1 9 0 0 0 0 0 0 0 0 1", "1 1 1 1 1 1 1 1 1 1 1 1"]
    put(str(lists / "BP4D_test_label_fold1.txt"), "\n".join(rows) + "\n")
    index = read_megraphau_list(str(lists / "BP4D_test_img_path_fold1.txt"), str(img), use_cache=False)
    assert index.au_names == AU_SETS["bp4d"] and index.video_names == ["F001/T1", "M007/T2"]
    assert index.paths.tolist() == paths[:3] and index.report.totals()["missing"] == 1
    assert index.labels[2].tolist() == [0, 1, -1, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    cfg = {"data": {"format": "megraphau_list", "root": str(img), "train_list": str(lists), "val_list": None,
                    "fold": 1, "cache_dir": str(tmp_path / "cache"), "check_images": True, "synthetic": False}}
    val = read_index(cfg, "val")
    np.testing.assert_array_equal(val.labels, index.labels)
    with pytest.raises(FileNotFoundError, match="train_img_path_fold1"):
        read_index(cfg, "train")
    put(str(lists / "BP4D_test_label_fold1.txt"), "\n".join(rows[:2] + ["0 1 0"] + rows[3:]) + "\n")
    with pytest.raises(AnnotationError, match=r"BP4D_test_label_fold1\.txt:3: expected 12 values, got 3"):
        read_megraphau_list(str(lists / "BP4D_test_img_path_fold1.txt"), str(img), use_cache=False)
    put(str(lists / "BP4D_test_label_fold1.txt"), "\n".join(rows[:3]) + "\n")
    with pytest.raises(AnnotationError, match=r"3 label rows for 4 image paths"):
        read_megraphau_list(str(lists / "BP4D_test_img_path_fold1.txt"), str(img), use_cache=False)


def test_read_index_dispatches_to_the_release_and_its_fold(synthetic_disfa):
    root, info = synthetic_disfa
    cfg = {"data": {"format": "disfa", "root": str(root), "fold": 1, "occurrence_threshold": 2, "cache_dir": None,
                    "check_images": True, "synthetic": False}}
    train, test = read_index(cfg, "train"), read_index(cfg, "val")
    # fold 1 tests part 3 (SN003, SN029 here) and trains on parts 1 and 2
    assert test.video_names == ["SN003", "SN029"]
    assert train.video_names == ["SN001", "SN010", "SN013", "SN018"]
    assert len(train) + len(test) == sum(p["kept"] for p in info["per_video"].values())
    assert train.intensity.shape == (len(train), 8)


def test_cli_disfa_layout_prepare_resumable_and_check(tmp_path, capsys):
    """make-synthetic --layout disfa (a short SN010) -> prepare-disfa (the project's detector; a second run
    skips the finished subject) -> check-dataset --format disfa."""
    from mindface_au.commands import check_dataset, make_synthetic, prepare_disfa

    root = tmp_path / "DISFA"
    assert make_synthetic.main(["--layout", "disfa", "--out", str(root), "--subjects", "4", "--frames", "12"]) == 0
    assert not (root / "cropped_aligned").exists()
    capsys.readouterr()
    args = ["--root", str(root), "--subject", "SN010", "--no-progress"]
    assert prepare_disfa.main(args) == 0
    out = capsys.readouterr().out
    assert "SN010: 11 label rows" in out and "11 crops" in out
    index = read_disfa(str(root), use_cache=False)
    assert index.report.per_video()["SN010"] == {"rows": 11, "unannotated": 0, "missing": 0, "kept": 11}
    assert index.report.per_video()["SN001"]["missing"] == 12  # not prepared yet
    assert prepare_disfa.main(args) == 0 and "(already prepared)" in capsys.readouterr().out
    assert check_dataset.main(["--format", "disfa", "--root", str(root), "--aus", "disfa12"]) == 0
    out = capsys.readouterr().out
    assert "usable frames          11" in out and "SN010 (1)      11;" in out and "AU20" in out


def test_synthetic_release_on_demand_through_the_config(tmp_path):
    from mindface_au.config import load_config
    from mindface_au.data import ensure_synthetic, synthetic_ready

    root = tmp_path / "bp4d"
    cfg = load_config(None, [f"data.root={root}", "data.format=bp4d", "data.synthetic=true", "data.synthetic_frames=12",
                             "data.fold=3"])
    assert not synthetic_ready(cfg)  # what the data-parallel ranks other than 0 wait for
    assert ensure_synthetic(cfg, progress=False) == str(root)
    assert synthetic_ready(cfg)
    assert not synthetic_ready(load_config(None, [f"data.root={root}", "data.format=bp4d", "data.synthetic_frames=13"]))
    stamp = os.stat(root / "synthetic_info.json").st_mtime_ns
    assert ensure_synthetic(cfg, progress=False) == str(root) and os.stat(root / "synthetic_info.json").st_mtime_ns == stamp
    train, test = read_index(cfg, "train"), read_index(cfg, "val")
    assert sorted({subject_of(v) for v in test.video_names}) == ["F001", "M007"]  # fold 3 tests part 1
    assert test.labels.shape[1] == 12 and test.intensity is not None
