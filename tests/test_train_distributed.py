"""Data-parallel training with msrun: 2 CPU workers, gradients averaged, sampler sharded, only rank 0 writes."""
import os
import shutil
import socket
import subprocess

import numpy as np
import pytest

from mindface_au.checkpoint import load_checkpoint

from testlib import ROOT
from testlib.run import run_command
from testlib.train import tiny_train_args

TRAIN = os.path.join(ROOT, "tools", "train.py")  # msrun starts a script

pytestmark = pytest.mark.slow  # subprocess runs of the tools

# BN statistics frozen and no random layers: a data-parallel step then equals one step on the global batch
EXACT = ["--set", "train.freeze_bn=true", "--set", "train.save_rank_states=true"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(shutil.which("msrun") is None, reason="msrun (MindSpore's launcher) is not on PATH")
def test_two_workers_match_each_other_and_a_single_process_run(tmp_path):
    data = str(tmp_path / "data")
    dp_work, single_work = str(tmp_path / "dp"), str(tmp_path / "single")
    dp = subprocess.run(
        ["msrun", "--worker_num=2", "--local_worker_num=2", "--master_addr=127.0.0.1", f"--master_port={free_port()}",
         f"--log_dir={tmp_path / 'logs'}", "--join=True", TRAIN, "--no-progress",
         *tiny_train_args(data, dp_work, epochs=1, extra=EXACT + ["--set", "train.batch_size=4"])],
        capture_output=True, text=True, cwd=ROOT, timeout=900)
    logs = "".join(open(os.path.join(tmp_path / "logs", f)).read()[-2000:] for f in os.listdir(tmp_path / "logs"))
    assert dp.returncode == 0, dp.stdout[-2000:] + dp.stderr[-2000:] + logs
    single = run_command("train", "--no-progress",
                         *tiny_train_args(data, single_work, epochs=1, extra=EXACT + ["--set", "train.batch_size=8"]))
    assert single.returncode == 0, single.stdout[-2000:] + single.stderr[-2000:]

    rank0, meta0 = load_checkpoint(os.path.join(dp_work, "last_rank0.ckpt"))
    rank1, meta1 = load_checkpoint(os.path.join(dp_work, "last_rank1.ckpt"))
    ref, ref_meta = load_checkpoint(os.path.join(single_work, "last.ckpt"))
    assert meta0["global_step"] == meta1["global_step"] == ref_meta["global_step"] > 1
    for name in ref:
        if name.startswith(("accum.", "stat.")) or name == "global_step":
            continue
        a, b, r = rank0[name].asnumpy(), rank1[name].asnumpy(), ref[name].asnumpy()
        np.testing.assert_array_equal(a, b, err_msg=f"ranks differ at {name}")
        np.testing.assert_allclose(a, r, rtol=0, atol=1e-5, err_msg=f"data-parallel != single process at {name}")
    # gradients flowed (momentum buffers are filled) and were averaged, not summed, over the ranks; the
    # buffers add up raw gradients, where summation order shows (~1e-3 relative), hence the looser bound
    for name in ("accum.backbone.conv1.weight", "accum.arl.graph.U.weight"):
        scale = np.abs(ref[name].asnumpy()).max()
        assert scale > 0
        np.testing.assert_array_equal(rank0[name].asnumpy(), rank1[name].asnumpy())
        np.testing.assert_allclose(rank0[name].asnumpy(), ref[name].asnumpy(), rtol=0, atol=1e-2 * scale)
    log_dp = open(os.path.join(dp_work, "log.jsonl")).read().splitlines()
    assert sum('"type": "epoch"' in line for line in log_dp) == 1  # one writer: rank 0 only
    assert "epoch 1: loss" not in open(os.path.join(tmp_path / "logs", "worker_1.log")).read()
