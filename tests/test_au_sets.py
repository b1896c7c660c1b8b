"""Issue 19: the AU set is data (``data.aus``): the model, checkpoints, exports, infer's columns and the
refusals follow it; Aff-Wild2's 12 stay the default."""
import csv
import os

import numpy as np
import pytest

from mindface_au.config import ConfigError, config_au_names, load_config
from mindface_au.constants import AU_NAMES, AU_SETS, RARE_AUS

from testlib import T, tiny_config
from testlib.infer import make_tiny_ckpt

DISFA8_C = ["AU01_c", "AU02_c", "AU04_c", "AU06_c", "AU09_c", "AU12_c", "AU25_c", "AU26_c"]


# --------------------------------------------------------------------------- config
def test_default_is_affwild2_and_unchanged():
    cfg = load_config(None)
    assert cfg["data"]["aus"] == "affwild2" and config_au_names(cfg) == AU_NAMES
    assert cfg["model"]["num_aus"] == 12 and cfg["data"]["rare_aus"] == list(RARE_AUS)


def test_num_aus_follows_the_set_and_names_are_canonical():
    assert load_config(None, ["data.aus=disfa8"])["model"]["num_aus"] == 8
    cfg = load_config(None, ["data.aus=[au01, AU2, 14, AU17]", "data.rare_aus=[AU017]"])
    assert cfg["data"]["aus"] == ["AU1", "AU2", "AU14", "AU17"] and cfg["model"]["num_aus"] == 4
    assert cfg["data"]["rare_aus"] == ["AU17"]
    # other sets: the k rarest on the training index, the paper's share of 5 in 12
    assert load_config(None, ["data.aus=bp4d"])["data"]["rare_aus"] == "rarest:5"
    assert load_config(None, ["data.aus=disfa8"])["data"]["rare_aus"] == "rarest:3"


@pytest.mark.parametrize("text, message", [
    ("data:\n  aus: fera\n", "data.aus: unknown AU set 'fera'"),
    ("data:\n  aus: [AU1, smile]\n", "data.aus: 'smile' is not an AU name"),
    ("data:\n  aus: [AU1, AU01]\n", "data.aus: an AU set needs distinct AUs"),
    ("data:\n  aus: disfa8\nmodel:\n  num_aus: 12\n", "model.num_aus: 12 does not match data.aus (8 AUs"),
    ("data:\n  aus: disfa8\n  rare_aus: [AU15]\n", "data.rare_aus: unknown AU(s) ['AU15']"),
    ("data:\n  rare_aus: rarest:0\n", "data.rare_aus: expected a list of AU names or 'rarest:<k>'"),
])
def test_bad_sets_name_the_key_and_the_file(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(str(path))
    assert str(info.value).startswith(str(path)) and message in str(info.value)


def test_a_disfa8_model_has_8_outputs():
    from mindface_au import build_model

    net = build_model(tiny_config(**{"data.aus": "disfa8"}))
    net.set_train(False)
    size = tiny_config()["model"]["input_size"]
    out = net(T(np.zeros((2, 3, size, size))))
    assert out.shape == (2, 8)


# --------------------------------------------------------------------------- rare AUs, index columns
def test_rarest_k_is_measured_on_the_labels():
    from mindface_au.pipeline.sampler import rarest_aus

    labels = np.array([[1, 0, 1, -1], [1, 0, 0, -1], [1, 1, 0, 1], [0, 0, 1, 0]], np.int8)
    # rates: AU1 3/4, AU2 1/4, AU4 2/4, AU6 1/2 (annotated frames only); ties keep column order
    assert rarest_aus(labels, ["AU1", "AU2", "AU4", "AU6"], "rarest:1") == ("AU2",)
    assert rarest_aus(labels, ["AU1", "AU2", "AU4", "AU6"], "rarest:3") == ("AU2", "AU4", "AU6")
    with pytest.raises(ValueError, match="rarest"):
        rarest_aus(labels, ["AU1", "AU2", "AU4", "AU6"], "rarest:5")


def _index(labels, au_names):
    from mindface_au.data.index import FrameIndex, ReadReport

    n = len(labels)
    report = ReadReport(["v"], np.array([n]), np.array([0]), np.array([0]))
    return FrameIndex("/root", ["v"], ["v"], ["{:05d}.jpg"], np.zeros(n, np.int32), np.arange(1, n + 1, dtype=np.int32),
                      np.asarray(labels, np.int8), report, au_names=au_names)


def test_the_model_set_selects_the_index_columns_and_the_sampler_resolves_rarest():
    from mindface_au.pipeline.dataset import model_index
    from mindface_au.pipeline.sampler import ResampleSampler

    rng = np.random.default_rng(0)
    labels = (rng.random((200, 12)) < np.linspace(0.05, 0.6, 12)).astype(np.int8)
    index = _index(labels, AU_NAMES)
    cfg = load_config(None, ["data.aus=[AU26, AU1, AU2, AU4, AU6]", "data.rare_aus=rarest:2"])
    sub = model_index(index, cfg)
    assert sub.au_names == ("AU26", "AU1", "AU2", "AU4", "AU6")
    np.testing.assert_array_equal(sub.labels, labels[:, [11, 0, 1, 2, 3]])
    sampler = ResampleSampler(sub, rare_aus="rarest:2", au_names=sub.au_names)
    assert sampler.rare_aus == ("AU1", "AU2")
    with pytest.raises(ConfigError, match="AU9, AU17"):
        model_index(index, load_config(None, ["data.aus=[AU1, AU9, AU17, AU4]"]))


# --------------------------------------------------------------------------- checkpoints
def test_checkpoints_name_their_aus_and_older_ones_mean_affwild2():
    from mindface_au.checkpoint import checkpoint_au_names

    assert checkpoint_au_names({}) == AU_NAMES
    assert checkpoint_au_names({"config": {"model": {"num_aus": 12}}}) == AU_NAMES
    assert checkpoint_au_names({"config": {"data": {"aus": "bp4d"}}}) == AU_SETS["bp4d"]
    assert checkpoint_au_names({"au_names": ["AU1", "AU2"], "config": {"data": {"aus": "bp4d"}}}) == ("AU1", "AU2")


def test_loading_a_checkpoint_into_another_set_is_refused(tmp_path):
    from mindface_au.factory import config_from_checkpoint, restore_model

    ckpt = make_tiny_ckpt(str(tmp_path / "aw.ckpt"))
    net, _ = restore_model(config_from_checkpoint(ckpt, None), ckpt)  # the saved config: fine
    # bp4d has 12 AUs too: the shapes fit, the names do not
    with pytest.raises(ValueError) as info:
        restore_model(config_from_checkpoint(ckpt, None, ["data.aus=bp4d"]), ckpt)
    text = str(info.value)
    assert "AU25" in text and "AU14" in text and "data.aus" in text and "backbone_init" in text
    disfa = make_tiny_ckpt(str(tmp_path / "disfa.ckpt"), aus="disfa8")
    with pytest.raises(ValueError, match=r"predicts 8 AUs \(AU1, AU2, AU4, AU6, AU9, AU12, AU25, AU26\)"):
        restore_model(tiny_config(), disfa)


# --------------------------------------------------------------------------- export and infer
@pytest.fixture(scope="module")
def disfa_onnx(tmp_path_factory):
    from mindface_au.commands import export

    folder = tmp_path_factory.mktemp("disfa")
    ckpt = make_tiny_ckpt(str(folder / "disfa.ckpt"), aus="disfa8")
    out = str(folder / "model.onnx")
    assert export.main(["--ckpt", ckpt, "--format", "ONNX", "--out", out, "--check-batches", ""]) == 0
    return ckpt, out


def _faces(folder, n=3):
    import cv2

    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(1)
    for i in range(n):
        cv2.imwrite(os.path.join(folder, f"{i + 1:05d}.jpg"), rng.integers(0, 255, (112, 112, 3), dtype=np.uint8))
    return folder


def _header(path):
    """The header of an infer CSV (OpenFace's separates fields with ', ')."""
    with open(path, newline="") as f:
        return [c.strip() for c in next(csv.reader(f))]


def test_a_disfa8_export_carries_its_aus_and_infer_writes_their_columns(tmp_path, disfa_onnx):
    from mindface_au.commands import infer
    from mindface_au.inference import AUPredictor
    from mindface_au.inference.backends import onnx_au_names
    from mindface_au.sidecar import read_sidecar

    ckpt, onnx_path = disfa_onnx
    assert onnx_au_names(onnx_path) == AU_SETS["disfa8"]
    assert read_sidecar(onnx_path)["au_names"] == list(AU_SETS["disfa8"])
    faces = _faces(str(tmp_path / "faces"))
    assert infer.main(["--no-progress", "--aligned", "--model", onnx_path, "--csv-format", "openface",
                       "--out", str(tmp_path / "of"), faces]) == 0
    (csv_path,) = [os.path.join(tmp_path / "of", f) for f in os.listdir(tmp_path / "of") if f.endswith(".csv")]
    header = _header(csv_path)
    assert [c for c in header if c.endswith("_c")] == DISFA8_C
    assert [c for c in header if c.endswith("_p")] == [c[:-2] + "_p" for c in DISFA8_C]
    assert infer.main(["--no-progress", "--aligned", "--ckpt", ckpt, "--out", str(tmp_path / "mf"), faces]) == 0
    (csv_path,) = [os.path.join(tmp_path / "mf", f) for f in os.listdir(tmp_path / "mf") if f.endswith(".csv")]
    assert [c for c in _header(csv_path) if c.endswith("_p")] == [f"{a}_p" for a in AU_SETS["disfa8"]]
    # the file alone names its AUs: without the sidecar the predictor still has disfa8's
    os.remove(onnx_path + ".json")
    with pytest.warns(UserWarning, match="no model.onnx.json"):
        assert AUPredictor.from_exported(onnx_path).au_names == list(AU_SETS["disfa8"])


def test_an_export_without_names_means_affwild2(tmp_path, disfa_onnx):
    from mindface_au.sidecar import exported_au_names

    assert exported_au_names(None, None, "m.onnx") == AU_NAMES
    assert exported_au_names({"au_names": ["AU1", "AU2"]}, None, "m.onnx") == ("AU1", "AU2")
    with pytest.raises(ValueError, match="sidecar"):
        exported_au_names({"au_names": ["AU1", "AU2"]}, ("AU1", "AU4"), "m.onnx")


def test_predict_abaw_refuses_another_set_in_one_line(tmp_path, disfa_onnx):
    from mindface_au.commands import predict_abaw

    ckpt, _ = disfa_onnx
    with pytest.raises(ValueError) as info:
        predict_abaw.main(["--ckpt", ckpt, "--root", str(tmp_path), "--out", str(tmp_path / "sub")])
    text = str(info.value)
    assert "\n" not in text and "not Aff-Wild2's 12 AUs" in text and "AU9" in text


# --------------------------------------------------------------------------- training
@pytest.mark.slow  # a one-epoch training run (~30 s)
def test_training_on_a_subset_of_the_data_set_aus(tmp_path):
    import json

    from mindface_au.checkpoint import load_checkpoint_meta
    from mindface_au.engine.trainer import config_for_run, train

    from testlib.train import overrides, tiny_train_args

    aus = ["AU12", "AU1", "AU2", "AU4", "AU6"]
    args = tiny_train_args(str(tmp_path / "data"), str(tmp_path / "work"), epochs=1,
                           extra=["--set", f"data.aus=[{', '.join(aus)}]", "--set", "data.rare_aus=rarest:2"])
    cfg = config_for_run(None, overrides(args))
    summary = train(cfg, progress=False)
    assert summary["au_names"] == aus and len(summary["per_au_f1"]) == 5
    meta = load_checkpoint_meta(str(tmp_path / "work" / "best.ckpt"))
    assert meta["au_names"] == aus and len(meta["thresholds"]) == 5
    assert json.load(open(tmp_path / "work" / "summary.json"))["au_names"] == aus


def test_an_openvino_ir_carries_its_aus_in_rt_info(tmp_path, disfa_onnx):
    from mindface_au.commands import export
    from mindface_au.inference import AUPredictor

    ckpt, _ = disfa_onnx
    out = str(tmp_path / "model.xml")
    assert export.main(["--ckpt", ckpt, "--format", "OPENVINO", "--out", out, "--check-batches", ""]) == 0
    os.remove(out + ".json")
    with pytest.warns(UserWarning, match="no model.xml.json"):
        assert AUPredictor.from_exported(out).au_names == list(AU_SETS["disfa8"])


def test_tables_and_figures_name_the_model_aus(tmp_path, monkeypatch):
    import mindface_au.plots as plots
    from mindface_au.evaluation import format_f1_table
    from mindface_au.inference.table.columns import CsvLayout, make_table
    from mindface_au.inference.table.timeline import plot_table_timeline

    names = AU_SETS["disfa8"]
    table = format_f1_table(np.linspace(0.1, 0.8, 8), au_names=names)
    assert [line.split("|")[1].strip() for line in table.splitlines()[2:]] == [*names, "mean"]
    with pytest.raises(ValueError, match="8 AU names"):
        plots.au_labels(12, names)
    seen = {}
    monkeypatch.setattr(plots, "plot_au_timeline", lambda probs, path, **kw: seen.update(kw) or path)
    layout = CsvLayout("mindface", names)
    n = 3
    frame = make_table(layout, [1, 2, 3], [0.0, 0.1, 0.2], [0] * n, [1.0] * n, [1] * n, np.full((n, 8), 0.5),
                       np.ones((n, 8)))
    plot_table_timeline(frame, layout, str(tmp_path / "t.png"))
    assert list(seen["au_names"]) == list(names)


def test_evaluation_results_carry_the_names(tmp_path):
    import json

    from mindface_au.evaluation.evaluate import evaluate_predictions
    from mindface_au.evaluation.predictions import load_predictions, predictions_au_names, save_predictions

    names = AU_SETS["disfa8"]
    rng = np.random.default_rng(0)
    probs, labels = rng.random((40, 8)), (rng.random((40, 8)) < 0.4).astype(np.int8)
    vids = np.repeat(np.array(["a", "b"]), 20)
    save_predictions(str(tmp_path / "p.npz"), probs, labels, vids, np.tile(np.arange(1, 21), 2),
                     meta={"au_names": list(names)})
    pred = load_predictions(str(tmp_path / "p.npz"))
    assert predictions_au_names(pred) == names
    assert predictions_au_names({"probs": probs[:, :5], "meta": {}}) == AU_NAMES[:5]  # an older file
    result = evaluate_predictions(pred, str(tmp_path), with_sweep=True, au_names=names)
    assert json.load(open(tmp_path / "eval_result.json"))["au_names"] == list(names)
    assert all(set(names) <= set(row) for row in result["sweep"])


def test_a_recipe_without_data_aus_takes_its_formats_set(tmp_path):
    assert load_config(None, ["data.format=bp4d"])["data"]["aus"] == "bp4d"
    disfa = load_config(None, ["data.format=disfa"])
    assert disfa["data"]["aus"] == "disfa8" and disfa["model"]["num_aus"] == 8
    assert load_config(None, ["data.format=disfa", "data.aus=disfa12"])["model"]["num_aus"] == 12
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "DISFA_train_img_path_fold2.txt").write_text("")
    assert load_config(None, ["data.format=megraphau_list", f"data.train_list={lists}"])["data"]["aus"] == "disfa8"
    listed = load_config(None, ["data.format=megraphau_list", "data.val_list=BP4D_test_img_path_fold1.txt"])
    assert listed["model"]["num_aus"] == len(AU_SETS["bp4d"])
    with pytest.raises(ConfigError, match=r"data.aus: not set, and the AU set of data.format megraphau_list"):
        load_config(None, ["data.format=megraphau_list", "data.val_list=mine.txt"])
