"""The per-frame AU table: OpenFace 2's header, CSV round trips, smoothing windows in frames, the
timeline's time axis, unique output names, folders of videos, the synthetic-weights rule."""
import os

import numpy as np
import pandas as pd
import pytest

from mindface_au.constants import AU_NAMES
from mindface_au.inference.csv_writer import AUCsvWriter
from mindface_au.inference.detector import trained_on_synthetic
from mindface_au.inference.naming import output_stems
from mindface_au.inference.sources import expand_inputs
from mindface_au.inference.table import (CsvLayout, csv_columns, format_csv, make_table, plot_table_timeline,
                                         read_au_csv, smooth_table, write_au_csv)

from testlib.infer import OPENFACE_SEQUENCE_META, OUR_AU_NUMBERS, openface_reference_c_columns

def test_openface_header_is_openface2_names_and_order():
    reference = openface_reference_c_columns()
    assert reference[:4] == ["AU01_c", "AU02_c", "AU04_c", "AU05_c"] and "AU45_c" in reference
    columns = csv_columns(fmt="openface")
    assert columns[:5] == OPENFACE_SEQUENCE_META
    ours_c = [c for c in columns if c.endswith("_c")]
    assert ours_c == [f"AU{n:02d}_c" for n in OUR_AU_NUMBERS]
    assert columns[5:17] == ours_c  # occurrences right after the meta columns, as OpenFace has no _r here
    # every column OpenFace also writes comes in OpenFace's order
    shared = [c for c in columns if c in reference or c in OPENFACE_SEQUENCE_META]
    assert shared == OPENFACE_SEQUENCE_META + [c for c in reference if c in columns]
    # AU24 (not an OpenFace AU) is kept, in numeric order
    assert "AU24_c" not in reference and ours_c.index("AU24_c") == ours_c.index("AU23_c") + 1
    assert columns[17:] == [f"AU{n:02d}_p" for n in OUR_AU_NUMBERS]
    header_line = format_csv(pd.DataFrame(columns=columns), CsvLayout("openface")).splitlines()[0]
    assert header_line.startswith("frame, face_id, timestamp, confidence, success, AU01_c, AU02_c")


def _rows(layout, n=4):
    rng = np.random.default_rng(1)
    probs = rng.random((n, 12))
    probs[1] = np.nan  # frame 2: no face
    decisions = (probs >= 0.5).astype(float)
    decisions[1] = np.nan
    success = np.array([1, 0, 1, 1][:n])
    extra = {"file": [f"img{i},x.jpg" for i in range(n)]} if layout.extra_columns else None
    return make_table(layout, [1, 2, 3, 3][:n], np.arange(n) / 30, [0, 0, 0, 1][:n], [0.98, 0, 0.9, 0.8][:n], success,
                      probs, decisions, extra)


@pytest.mark.parametrize("fmt", ["mindface", "openface"])
def test_csv_round_trip_both_formats(tmp_path, fmt):
    layout = CsvLayout(fmt, extra_columns=("file",))
    table = _rows(layout)
    path = str(tmp_path / f"{fmt}.csv")
    with AUCsvWriter(path, layout=layout) as writer:
        writer.write_table(table.iloc[:2])
        assert len(read_au_csv(path)) == 2  # on disk as soon as the batch is written
        writer.write_table(table.iloc[2:])
    text = open(path, encoding="utf-8").read().splitlines()
    sep = ", " if fmt == "openface" else ","
    assert text[0] == sep.join(layout.columns)
    back = read_au_csv(path)
    assert list(back.columns) == layout.columns
    np.testing.assert_allclose(back[layout.p_columns].to_numpy(), table[layout.p_columns].to_numpy(), atol=5e-5)
    assert list(back["file"]) == [f"img{i},x.jpg" for i in range(4)]  # a comma inside a name survives
    faceless = back.iloc[1]
    assert faceless[layout.p_columns].isna().all()
    if fmt == "openface":  # OpenFace writes 0 for the occurrences of a frame without a face
        assert (faceless[layout.c_columns] == 0).all()
        # what OpenFace users run on OpenFace's CSVs reads ours
        plain = pd.read_csv(path, skipinitialspace=True)
        assert list(plain.columns[:5]) == OPENFACE_SEQUENCE_META and plain["AU12_c"].dtype.kind in "if"
    else:
        assert faceless[layout.c_columns].isna().all()
    # the whole-table writer gives the same bytes as the streaming one
    write_au_csv(back, str(tmp_path / "again.csv"))
    assert open(tmp_path / "again.csv", encoding="utf-8").read() == open(path, encoding="utf-8").read()


def test_bad_rows_name_file_and_line(tmp_path):
    path = str(tmp_path / "bad.csv")
    with AUCsvWriter(path) as writer:
        writer.write(1, 0.0, 0, 0.9, 1, np.full(12, 0.7), np.ones(12, int))
    with open(path, "a", encoding="utf-8") as f:
        f.write("2,0.0,0\n")
    with pytest.raises(ValueError, match=r"bad.csv:3: expected 29 columns, got 3"):
        read_au_csv(path)
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join(csv_columns()) + "\n" + "1,0.0,0,0.9,1" + ",0.5" * 12 + ",1" * 12 + ",7\n")
    with pytest.raises(ValueError, match=r"bad.csv:2: expected 29 columns, got 30"):
        read_au_csv(path)


def _strided_table(frame_step=3, n=9, face_rows=None):
    """Rows of frames 1, 1 + step, ... with probabilities that make every window visible."""
    layout = CsvLayout("mindface")
    frames = 1 + frame_step * np.arange(n)
    rng = np.random.default_rng(7)
    probs = rng.random((n, 12))
    success = np.ones(n, int)
    if face_rows is not None:
        success[:] = 0
        success[face_rows] = 1
        probs[success == 0] = np.nan
    decisions = np.where(success[:, None] == 1, (probs >= 0.5).astype(float), np.nan)
    table = make_table(layout, frames, (frames - 1) / 30, np.zeros(n, int), success.astype(float), success, probs,
                       decisions)
    return table, layout


def _frame_window_mean(table, layout, k):
    """Hand-computed reference: for each row with a face, the mean over the rows with a face whose
    frame number lies within k frames of its own (windows cut at the video's ends)."""
    ok = table[table.success == 1]
    out = {}
    for _, row in ok.iterrows():
        near = ok[(ok.frame >= row.frame - k) & (ok.frame <= row.frame + k)]
        out[int(row.frame)] = near[layout.p_columns].to_numpy().mean(0)
    return out


def test_smoothing_windows_count_frames_under_skip_frames():
    table, layout = _strided_table(frame_step=3)  # --skip-frames 2: frames 1, 4, 7, ...
    smoothed, out_layout = smooth_table(table, layout, prob_k=3, label_k=0, frame_step=3)
    reference = _frame_window_mean(table, layout, 3)  # +-3 frames = the row before and the row after
    for i, frame in enumerate(smoothed.frame):
        np.testing.assert_allclose(smoothed.loc[i, layout.ps_columns].to_numpy(float), reference[frame], atol=1e-12)
    # the raw probabilities are kept; smoothed values are in their own columns, decisions too
    np.testing.assert_array_equal(smoothed[layout.p_columns].to_numpy(), table[layout.p_columns].to_numpy())
    assert out_layout.columns[-24:] == layout.ps_columns + layout.cs_columns
    np.testing.assert_array_equal(smoothed[layout.cs_columns].to_numpy(),
                                  (smoothed[layout.ps_columns].to_numpy() >= 0.5).astype(float))
    # a window of rows (the old behaviour) would average 7 rows here: it differs
    row_window = table[layout.p_columns].iloc[1:8].to_numpy().mean(0)
    assert not np.allclose(smoothed.loc[4, layout.ps_columns].to_numpy(float), row_window)
    # a larger window: +-8 frames hold two processed frames on each side
    smoothed8, _ = smooth_table(table, layout, prob_k=8, frame_step=3)
    reference8 = _frame_window_mean(table, layout, 8)
    np.testing.assert_allclose(smoothed8.loc[4, layout.ps_columns].to_numpy(float), reference8[13], atol=1e-12)


def test_label_smoothing_in_frames_and_edges_keep():
    table, layout = _strided_table(frame_step=3)
    smoothed, _ = smooth_table(table, layout, prob_k=0, label_k=3, frame_step=3)
    raw = table[layout.c_columns].to_numpy()
    expected = raw.copy()
    for i in range(1, len(raw) - 1):  # full windows: majority of 3 rows
        expected[i] = (raw[i - 1:i + 2].sum(0) >= 2).astype(float)
    for i, j in ((0, 1), (len(raw) - 1, len(raw) - 2)):  # 2 rows at the ends: a tie keeps the own label
        votes = raw[i] + raw[j]
        expected[i] = np.where(votes == 1, raw[i], votes / 2)
    np.testing.assert_array_equal(smoothed[layout.cs_columns].to_numpy(), expected)
    kept, _ = smooth_table(table, layout, prob_k=3, frame_step=3, edges="keep")
    np.testing.assert_array_equal(kept.loc[0, layout.ps_columns].to_numpy(float),
                                  table.loc[0, layout.p_columns].to_numpy(float))  # window leaves the video
    assert not np.allclose(kept.loc[1, layout.ps_columns].to_numpy(float),
                           table.loc[1, layout.p_columns].to_numpy(float))


def test_smoothing_skips_faceless_rows_and_keeps_them_empty():
    table, layout = _strided_table(frame_step=1, n=6, face_rows=[0, 1, 3, 4, 5])
    smoothed, _ = smooth_table(table, layout, prob_k=1, frame_step=1)
    assert smoothed.loc[2, layout.ps_columns].isna().all() and smoothed.loc[2, layout.cs_columns].isna().all()
    p = table[layout.p_columns].to_numpy()
    # frame 4 (row 3) is next to frame 3 (no face) and frame 5: the faceless frame is skipped over
    np.testing.assert_allclose(smoothed.loc[3, layout.ps_columns].to_numpy(float), p[[1, 3, 4]].mean(0))


def test_timeline_time_axis_counts_skipped_frames(tmp_path, monkeypatch):
    import mindface_au.plots as plots

    seen = {}

    def fake_plot(probs, path, fps=None, title="", decisions=None):
        seen.update(probs=probs, fps=fps)
        return path

    monkeypatch.setattr(plots, "plot_au_timeline", fake_plot)
    table, layout = _strided_table(frame_step=3, n=5)  # frames 1, 4, 7, 10, 13
    plot_table_timeline(table, layout, str(tmp_path / "t.png"), fps=30.0)
    assert seen["fps"] == 30.0 and seen["probs"].shape == (15, 12)  # frames 1 ... 15 at 30 fps: 0.5 s
    p = table[layout.p_columns].to_numpy()
    np.testing.assert_array_equal(seen["probs"][[0, 1, 2, 3]], p[[0, 0, 0, 1]])  # each row holds until the next
    every, layout = _strided_table(frame_step=1, n=5)
    plot_table_timeline(every, layout, str(tmp_path / "t.png"), fps=None)
    np.testing.assert_array_equal(seen["probs"], every[layout.p_columns].to_numpy())


def test_output_names_are_unique_per_input_path():
    stems = output_stems(["a/clip.mp4", "b/clip.mp4", "c/other.mp4", "d/x/clip.mp4", "webcam:0"])
    assert len(set(stems.values())) == 5
    assert stems["c/other.mp4"] == "other" and stems["webcam:0"] == "webcam0"
    assert stems["a/clip.mp4"] == "a_clip" and stems["d/x/clip.mp4"] == "x_clip"
    same_folder = output_stems(["v/clip.mp4", "v/clip.avi"])
    assert sorted(same_folder.values()) == ["clip_avi", "clip_mp4"]
    assert len(set(output_stems(["v/clip.mp4", "v/clip.mp4x", "v/clip"]).values())) == 3


def test_a_folder_of_videos_becomes_its_videos(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("b10.mp4", "b2.MOV", ".hidden.mp4"):
        (videos / name).write_bytes(b"")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "clip.avi").write_bytes(b"")
    (mixed / "face.jpg").write_bytes(b"")
    out = expand_inputs([str(videos), str(mixed), "missing.mp4"])
    assert out == [str(videos / "b2.MOV"), str(videos / "b10.mp4"), str(mixed / "clip.avi"), str(mixed),
                   "missing.mp4"]


def test_trained_on_synthetic_reads_meta_then_saved_config():
    assert trained_on_synthetic({"trained_on": {"synthetic": False}, "config": {"data": {"synthetic": True}}}) is False
    assert trained_on_synthetic({"trained_on": {"synthetic": True}}) is True
    assert trained_on_synthetic({"config": {"data": {"synthetic": True}}}) is True
    assert trained_on_synthetic({"config": {"data": {"synthetic": False}}}) is False
    assert trained_on_synthetic({}) is None


def test_an_export_sidecar_says_what_the_model_was_trained_on(tmp_path):
    import json

    from mindface_au.sidecar import write_sidecar
    from testlib import tiny_config

    for synthetic in (True, False):
        path = write_sidecar(str(tmp_path / "m.onnx"), tiny_config(**{"data.synthetic": str(synthetic).lower()}))
        assert trained_on_synthetic(json.load(open(path, encoding="utf-8"))) is synthetic


def test_au_names_of_the_two_formats():
    layout = CsvLayout("openface")
    assert layout.au_names == list(AU_NAMES) and layout.p_columns[0] == "AU01_p"
    assert CsvLayout.from_columns(layout.columns).fmt == "openface"
    assert CsvLayout.from_columns(csv_columns()).fmt == "mindface"
    with pytest.raises(ValueError, match="ascending"):
        CsvLayout("openface", ["AU2", "AU1"])
