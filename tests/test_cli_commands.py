"""The installed console command: every subcommand answers --help; python -m mindface_au is the same command."""
import importlib.metadata
import os
import shutil
import subprocess
import sys

import pytest

from mindface_au.commands import COMMANDS

from testlib.run import run_command

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NETWORK_COMMANDS = {"train", "eval", "export", "infer", "predict-abaw"}  # these take --device


def env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))


def console_script():
    """The ``mindface-au`` script that ``pip install -e .`` put on PATH, checked against its entry point."""
    points = [e for e in importlib.metadata.entry_points(group="console_scripts") if e.name == "mindface-au"]
    assert points, "no mindface-au console script: pip install -e ."
    assert points[0].value == "mindface_au.commands:main"
    path = shutil.which("mindface-au")
    assert path, "mindface-au is not on PATH"
    return path


def test_setup_declares_the_console_script_and_the_extras():
    text = open(os.path.join(ROOT, "setup.py")).read()
    assert '"mindface-au=mindface_au.commands:main"' in text
    for extra in ('"infer"', '"openvino"', '"yuface"', '"onnxruntime"', '"nncf"'):
        assert extra in text


@pytest.mark.slow  # two fresh processes importing MindSpore
def test_every_console_command_answers_help():
    """The installed script runs (its overview and one command, each in its own process); every command
    answers --help through the entry point's function (checked by console_script), in this process."""
    script = console_script()
    overview = subprocess.run([script, "--help"], capture_output=True, text=True, cwd=ROOT, env=env())
    assert overview.returncode == 0 and all(f"  {name} " in overview.stdout for name in COMMANDS)
    proc = subprocess.run([script, "train", "--help"], capture_output=True, text=True, cwd=ROOT, env=env())
    assert proc.returncode == 0 and proc.stdout.startswith("usage: mindface-au train"), proc.stderr[-2000:]
    for name in COMMANDS:
        res = run_command(name, "--help")
        assert res.returncode == 0, f"{name}: {res.stderr[-2000:]}"
        assert res.stdout.startswith(f"usage: mindface-au {name}"), f"{name}: {res.stdout[:200]}"
        if name in NETWORK_COMMANDS:
            assert "--device {auto,Ascend,GPU,CPU}" in res.stdout, name


def test_python_m_mindface_au_is_the_same_command():
    res = subprocess.run([sys.executable, "-m", "mindface_au", "make-folds", "--help"], capture_output=True,
                         text=True, cwd=ROOT, env=env())
    assert res.returncode == 0 and res.stdout.startswith("usage: mindface-au make-folds")
    bad = run_command("trian")  # the same dispatcher, in this process
    assert bad.returncode == 2 and "unknown command 'trian'" in bad.stderr
    bad = run_command("check-dataset", "--root", os.path.join(ROOT, "nope"))
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [f"error: {os.path.join(ROOT, 'nope')}: no such folder"]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_module_builds_its_parser_in_process(name, capsys):
    """main(['--help']) of each module: argparse exits 0 after printing the options (no side effects)."""
    import importlib

    module = importlib.import_module(f"mindface_au.commands.{COMMANDS[name][0]}")
    with pytest.raises(SystemExit) as stop:
        module.main(["--help"])
    assert stop.value.code == 0
    assert "--help" in capsys.readouterr().out
