"""Smoothing edges 'keep' = the authors' post-processing script; eval.py --smooth-edges / eval.smooth_edges."""
import json

import numpy as np
import pytest

from mindface_au.evaluation import apply_postprocess, smooth_labels, smooth_probs
from mindface_au.evaluation.predictions import save_predictions


def authors_probability_post_process(k, pred, video_list):
    """numpy transcription of ``probability_post_process`` (my_py/local_calculate_f1score.py)."""
    out = [pred[i] for i in range(k)]
    for idx in range(k, len(video_list) - k):
        if video_list[idx - k] != video_list[idx + k]:
            out.append(pred[idx])
        else:
            out.append(pred[idx - k: idx + k + 1].mean(0))
    out += [pred[-k + i] for i in range(k)]
    return np.array(out)


def authors_post_process3(k, pred_label, video_list):
    """numpy transcription of ``post_process3``: majority (count > k) over full windows only."""
    out = [pred_label[i] for i in range(k)]
    for idx in range(k, len(video_list) - k):
        if video_list[idx - k] != video_list[idx + k]:
            out.append(pred_label[idx])
        else:
            out.append((pred_label[idx - k: idx + k + 1].sum(0) > (2 * k + 1) // 2).astype(np.int64))
    out += [pred_label[-k + i] for i in range(k)]
    return np.array(out, dtype=np.int64)


def videos():
    rng = np.random.default_rng(3)
    lengths = [40, 5, 17, 3, 30]  # some shorter than a window
    vids = np.concatenate([np.full(n, f"v{i}") for i, n in enumerate(lengths)])
    probs = rng.random((len(vids), 12))
    return probs, vids


@pytest.mark.parametrize("k", [1, 3, 8])
def test_keep_edges_equal_the_authors_scripts(k):
    probs, vids = videos()
    np.testing.assert_allclose(smooth_probs(probs, vids, k, edges="keep"),
                               authors_probability_post_process(k, probs, vids), rtol=1e-12)
    binary = (probs > 0.5).astype(np.int64)
    np.testing.assert_array_equal(smooth_labels(binary, vids, k, edges="keep"), authors_post_process3(k, binary, vids))
    thr = np.linspace(0.3, 0.6, 12)
    ref = authors_post_process3(6, (authors_probability_post_process(k, probs, vids) >= thr).astype(np.int64), vids)
    np.testing.assert_array_equal(apply_postprocess(probs, vids, k, 6, thr, edges="keep"), ref)


def test_clip_and_keep_differ_only_where_the_window_leaves_the_video():
    probs, vids = videos()
    k = 3
    clip = smooth_probs(probs, vids, k, edges="clip")
    keep = smooth_probs(probs, vids, k, edges="keep")
    differ = np.any(clip != keep, axis=1)
    pos = np.concatenate([np.arange((vids == v).sum()) for v in dict.fromkeys(vids)])
    length = np.concatenate([np.full((vids == v).sum(), (vids == v).sum()) for v in dict.fromkeys(vids)])
    inside = (pos >= k) & (pos + k < length)
    assert not differ[inside].any() and differ[~inside].all()
    np.testing.assert_array_equal(keep[~inside], probs[~inside])


def test_eval_tool_smooth_edges_option_and_config_key(tmp_path):
    from mindface_au.commands.eval import main

    probs, vids = videos()
    labels = (np.random.default_rng(0).random(probs.shape) > 0.6).astype(np.int8)
    path = save_predictions(str(tmp_path / "p.npz"), probs, labels, vids)
    results = {}
    for name, extra in (("default", []), ("keep", ["--smooth-edges", "keep"]),
                        ("cfgkeep", ["--set", "eval.smooth_edges=keep"])):
        out = tmp_path / name
        assert main(["--probs", path, "--smooth", "prob=3,label=2", "--out", str(out)] + extra) == 0
        results[name] = json.load(open(out / "eval_result.json"))
    assert results["default"]["smooth_edges"] == "clip"
    assert results["keep"]["smooth_edges"] == results["cfgkeep"]["smooth_edges"] == "keep"
    from mindface_au.evaluation import binary_f1

    for name, edges in (("default", "clip"), ("keep", "keep")):
        ref = binary_f1(apply_postprocess(probs, vids, 3, 2, 0.5, edges=edges), labels).mean()
        assert results[name]["mean_f1"] == pytest.approx(ref)
    assert results["keep"]["mean_f1"] == results["cfgkeep"]["mean_f1"] != results["default"]["mean_f1"]
