"""Cell-level cross-validation: folds never share a cell between parts, intervals come from resampling cells."""

import numpy as np
import pytest

from matdisco.motifs.folds import cell_folds, fold_rows, fold_summary, write_fold_table


def test_folds_never_put_one_cell_in_two_parts():
    cell = np.repeat([4, 0, 2, 1, 3], 3)  # 5 cells, 3 environments each, unsorted
    folds = cell_folds(cell)
    assert sorted(f.test_cell for f in folds) == [0, 1, 2, 3, 4]
    for fold in folds:
        assert fold.test_cell not in fold.train_cells and fold.val_cell not in fold.train_cells
        assert fold.val_cell != fold.test_cell
        assert set(fold.train_cells) | {fold.val_cell, fold.test_cell} == {0, 1, 2, 3, 4}
        rows = fold_rows(cell, fold)
        assert set(cell[rows["test"]]) == {fold.test_cell} and set(cell[rows["val"]]) == {fold.val_cell}
        assert not set(cell[rows["train"]]) & {fold.test_cell, fold.val_cell}
        assert sum(len(r) for r in rows.values()) == len(cell)


def test_folds_need_three_cells():
    with pytest.raises(ValueError, match="at least 3 cells"):
        cell_folds(np.array([0, 0, 1]))


def test_interval_resamples_whole_cells(tmp_path):
    # model minus baseline is constant inside each cell (-0.3, -0.1, +0.1): resampling environments would give
    # a near-point interval (1000 per cell); resampling cells spans the between-cell spread.
    cells = np.repeat([0, 1, 2], 1000)
    baseline = np.full(len(cells), 0.5)
    model = baseline + np.repeat([-0.3, -0.1, 0.1], 1000)
    summary = fold_summary({"model": model, "pca_3": baseline}, cells, n_resamples=500, seed=0)
    diff = summary["methods"]["pca_3"]["model_minus_this_median_angstrom"]
    assert diff["value"] == pytest.approx(-0.1)
    assert diff["ci_low"] == pytest.approx(-0.3) and diff["ci_high"] == pytest.approx(0.1)
    assert 0.5 < diff["p_model_better"] < 1.0
    assert summary["methods"]["model"]["per_cell_median_angstrom"] == pytest.approx({0: 0.2, 1: 0.4, 2: 0.6})
    table = write_fold_table(tmp_path / "t.md", summary, np.array(["cell_a.extxyz", "cell_b.extxyz", "cell_c.extxyz"]))
    text = table.read_text()
    assert "| pca_3 | 0.500 | 0.500 | 0.500 | 0.500 | -0.100 [-0.300, +0.100] |" in text
    assert "cell_b" in text and "| model | 0.200 | 0.400 | 0.600 |" in text
