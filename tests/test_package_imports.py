"""``import mindface_au`` stays light: the numpy-only parts load with MindSpore (and OpenCV) hidden."""
import os
import subprocess
import sys

from testlib import ROOT

HIDE = """
import sys
class Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("mindspore", "cv2"):
            raise ImportError(f"{name} is hidden by the test")
sys.meta_path.insert(0, Hide())
"""


def run_hidden(code):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-c", HIDE + code], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=120)


def test_metrics_smoothing_submission_import_without_mindspore():
    res = run_hidden("""
import numpy as np
import mindface_au
import mindface_au.evaluation.metrics as m, mindface_au.evaluation.smoothing, mindface_au.evaluation.submission
from mindface_au.evaluation import mean_f1
print(m.f1_per_au(np.array([[0.9, 0.1]]), np.array([[1, 0]])).tolist(), mindface_au.AU_NAMES[0])
assert not [k for k in sys.modules if k.split(".")[0] in ("mindspore", "cv2")]
""")
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.split() == ["[1.0,", "0.0]", "AU1"]


def test_load_config_reads_presets_without_mindspore():
    res = run_hidden("""
import mindface_au.config as c
cfg = c.load_config('configs/demo_cpu.yaml')
r50 = c.load_config(None, ['model.name=au_net_r50_attention'])
print(cfg['model']['name'], r50['model']['backbone'])
assert not [k for k in sys.modules if k.split(".")[0] == "mindspore" or k.startswith("mindface_au.models")]
""")
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.split()[1] == "iresnet50"


def test_the_hiding_works_and_model_building_names_mindspore():
    res = run_hidden("import mindface_au\nmindface_au.create_model('iresnet_mini')")
    assert res.returncode != 0 and "mindspore is hidden by the test" in res.stderr


def test_cpu_environment_is_set_in_one_place():
    import mindface_au  # noqa: F401

    assert os.environ.get("ONEDNN_MAX_CPU_ISA")
    hits = []
    for folder, _, files in os.walk(os.path.join(ROOT, "mindface_au")):
        for f in files:
            if f.endswith(".py"):
                with open(os.path.join(folder, f), encoding="utf-8") as fh:
                    if 'setdefault("ONEDNN_MAX_CPU_ISA"' in fh.read():
                        hits.append(f)
    assert hits == ["_env.py"]
