"""Intensity scores: ICC(3,1), Pearson r and MAE per AU against hand-computed references, NaN labels
left out, undefined values as NaN, and the papers' table layout."""
import warnings

import numpy as np
import pytest

from mindface_au.evaluation.intensity import (IntensityScore, format_intensity_table, icc_3_1, pearson_r,
                                              score_intensity)

PRED = np.array([[0.5, 3.0], [1.0, 2.0], [2.5, 1.0], [4.0, 0.0], [3.0, 4.5]])
LABEL = np.array([[0.0, 3.0], [1.0, 2.0], [3.0, np.nan], [4.0, 1.0], [2.0, 5.0]])


def icc_reference(a, b) -> float:
    """The two-way ANOVA written out for k = 2 raters (prediction a, label b) of n targets:
    ICC(3,1) = (BMS - EMS) / (BMS + (k - 1) EMS)."""
    n, k = len(a), 2
    rows = [[float(a[i]), float(b[i])] for i in range(n)]
    grand = sum(sum(r) for r in rows) / (n * k)
    row_means = [sum(r) / k for r in rows]
    col_means = [sum(r[j] for r in rows) / n for j in range(k)]
    ss_total = sum((x - grand) ** 2 for r in rows for x in r)
    ss_rows = k * sum((m - grand) ** 2 for m in row_means)
    ss_cols = n * sum((m - grand) ** 2 for m in col_means)
    bms = ss_rows / (n - 1)
    ems = (ss_total - ss_rows - ss_cols) / ((n - 1) * (k - 1))
    return (bms - ems) / (bms + (k - 1) * ems)


def test_small_case_equals_hand_computed_reference():
    res = score_intensity(PRED, LABEL, ["AU6", "AU12"])
    # AU6: every frame coded; AU12: frame 2 is NaN and left out
    a, b = PRED[:, 0], LABEL[:, 0]
    keep = ~np.isnan(LABEL[:, 1])
    c, d = PRED[keep, 1], LABEL[keep, 1]
    np.testing.assert_allclose(res.icc, [icc_reference(a, b), icc_reference(c, d)], rtol=1e-12)
    np.testing.assert_allclose(res.pcc, [np.corrcoef(a, b)[0, 1], np.corrcoef(c, d)[0, 1]], rtol=1e-12)
    # MAE exact: AU6 |0.5|+0+|0.5|+0+1 = 2 over 5 frames; AU12 0+0+1+0.5 = 1.5 over 4 frames
    assert res.mae.tolist() == [0.4, 0.375]
    assert res.frames.tolist() == [5, 4]
    assert res.mean_mae == pytest.approx(0.3875)
    assert res.mean_icc == pytest.approx(np.mean(res.icc)) and res.mean_pcc == pytest.approx(np.mean(res.pcc))
    d_ = res.as_dict()
    assert d_["au_names"] == ["AU6", "AU12"] and d_["frames"] == [5, 4] and d_["mae"] == [0.4, 0.375]


def test_icc_matches_shrout_fleiss_published_example():
    """Shrout & Fleiss (1979), Table 2: 6 targets, 4 judges; their ICC(3,1) is 0.71."""
    ratings = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])
    assert icc_3_1(ratings) == pytest.approx(0.7148, abs=1e-4)


def test_identical_ratings_give_one_and_zero_error():
    y = np.array([[0, 1], [2, 5], [5, 3], [1, 0], [3, 3]], dtype=float)
    res = score_intensity(y, y)
    np.testing.assert_allclose(res.icc, 1.0)
    np.testing.assert_allclose(res.pcc, 1.0)
    assert res.mae.tolist() == [0.0, 0.0]
    # a constant offset keeps ICC(3,1) (consistency) and PCC at 1; MAE is the offset
    shifted = score_intensity(y + 0.5, y)
    np.testing.assert_allclose(shifted.icc, 1.0)
    np.testing.assert_allclose(shifted.mae, 0.5)


def test_nan_labels_left_out_per_au():
    y = np.array([[1.0, np.nan], [2.0, np.nan], [np.nan, 3.0], [4.0, 1.0]])
    p = np.array([[1.0, 9.0], [2.0, 9.0], [100.0, 3.0], [4.0, 1.0]])  # the 9s and 100 sit on NaN labels
    res = score_intensity(p, y)
    assert res.frames.tolist() == [3, 2]
    assert res.mae.tolist() == [0.0, 0.0]
    np.testing.assert_allclose(res.icc, 1.0) and np.testing.assert_allclose(res.pcc, 1.0)
    none = score_intensity(p[:, :1], np.full((4, 1), np.nan))  # an AU without any coded frame
    assert none.frames.tolist() == [0] and np.isnan(none.icc[0]) and np.isnan(none.mae[0])
    assert np.isnan(none.mean_icc) and none.as_dict()["mean_icc"] is None


def test_constant_column_is_defined_or_nan_without_a_warning():
    """A constant label with varying predictions: ICC(3,1) is exactly 0 (BMS = EMS), PCC undefined (NaN).
    Both columns constant: ICC and PCC are 0/0, NaN. The means skip the NaNs."""
    p = np.array([[0.0, 1.0], [1.0, 1.0], [3.0, 1.0], [2.0, 1.0]])
    y = np.array([[2.0, 3.0], [2.0, 3.0], [2.0, 3.0], [2.0, 3.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = score_intensity(p, y)
        table = format_intensity_table(res)
    assert res.icc[0] == pytest.approx(0.0, abs=1e-12) and np.isnan(res.pcc[0])
    assert np.isnan(res.icc[1]) and np.isnan(res.pcc[1])
    assert res.mae.tolist() == [1.0, 2.0]
    assert res.mean_icc == pytest.approx(0.0, abs=1e-12) and np.isnan(res.mean_pcc)
    assert "n/a" in table
    assert np.isnan(pearson_r([1.0], [2.0])) and np.isnan(icc_3_1([[1.0, 2.0]]))


def test_table_layout_rows_are_aus_columns_icc_pcc_mae():
    res = IntensityScore(au_names=("AU1", "AU2"), icc=np.array([0.5, 0.25]), pcc=np.array([0.6, 0.4]),
                         mae=np.array([0.3, 0.5]), frames=np.array([10, 10]))
    lines = format_intensity_table(res).splitlines()
    assert [c.strip() for c in lines[0].strip("|").split("|")] == ["AU", "ICC", "PCC", "MAE"]
    assert [c.strip() for c in lines[2].strip("|").split("|")] == ["AU1", "0.50", "0.60", "0.30"]
    assert [c.strip() for c in lines[-1].strip("|").split("|")] == ["mean", "0.38", "0.50", "0.40"]
    assert len(lines) == 2 + 2 + 1


def test_shape_errors():
    with pytest.raises(ValueError, match="same"):
        score_intensity(np.zeros((3, 2)), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        score_intensity(np.full((3, 1), np.nan), np.zeros((3, 1)))
