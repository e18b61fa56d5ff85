"""Atomic writes never leave half files; metrics agree with hand values."""

import numpy as np
import pytest

from matdisco.core.io import atomic_dir, atomic_path, atomic_write_text
from matdisco.core.metrics import (
    difference_interval,
    group_bootstrap,
    group_members,
    group_resamples,
    interval,
    interval_text,
    mean_abs_relative_error,
    mean_interval,
    regression_metrics,
    summarise_folds,
)


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "a.txt"
    atomic_write_text(target, "good")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert target.read_text() == "good"
    assert list(tmp_path.iterdir()) == [target]


def test_failed_dir_keeps_the_old_dir(tmp_path):
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "w.pt").write_text("v1")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "w.pt").write_text("v2")
            raise RuntimeError("crash")
    assert (target / "w.pt").read_text() == "v1"
    with atomic_dir(target) as tmp:
        (tmp / "w.pt").write_text("v3")
    assert (target / "w.pt").read_text() == "v3"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_regression_metrics_by_hand():
    m = regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0]))
    assert m["rmse"] == pytest.approx(np.sqrt(4 / 3))
    assert m["mae"] == pytest.approx(2 / 3)
    assert m["median_ae"] == 0.0
    assert m["r2"] == pytest.approx(1 - 4 / 2)
    s = summarise_folds([{"rmse": 1.0}, {"rmse": 3.0}])
    assert s["rmse_mean"] == 2.0 and s["rmse_std"] == pytest.approx(np.sqrt(2))


def test_group_members_and_resamples_draw_whole_groups():
    members = group_members(np.array(["b", "a", "b", "c", "a"]))
    assert [list(m) for m in members] == [[1, 4], [0, 2], [3]]
    draws = group_resamples(n_groups=4, n_resamples=500, seed=0)
    assert draws.shape == (500, 4) and draws.min() == 0 and draws.max() == 3
    assert any(len(set(d)) < 4 for d in draws)  # repeats happen
    assert np.array_equal(draws, group_resamples(4, 500, 0))  # seeded
    rng = np.random.default_rng(0)
    assert np.array_equal(np.vstack([group_resamples(4, 250, rng), group_resamples(4, 250, rng)]), draws)


def test_group_bootstrap_moves_the_rows_of_a_group_together():
    groups = np.array([0, 0, 0, 1, 2, 2])
    seen = []

    def size(rows):
        seen.append(len(rows))
        return float(len(rows))

    value, samples = group_bootstrap(size, groups, n_resamples=50, seed=0)
    sums = {a + b + c for a in (3, 1, 2) for b in (3, 1, 2) for c in (3, 1, 2)}
    assert value == 6.0 and samples.shape == (50,) and set(seen[:-1]) <= sums and len(set(seen[:-1])) > 1


def test_difference_interval_sees_a_uniform_gain_and_no_gain():
    rng = np.random.default_rng(1)
    y_true = rng.normal(size=60)
    groups = np.repeat(np.arange(12), 5)
    pred_a = y_true + rng.normal(size=60)
    pred_b = y_true + 0.5 * (pred_a - y_true)  # every error halved

    def rmse(pred, rows):
        return float(np.sqrt(np.mean((pred[rows] - y_true[rows]) ** 2)))

    same = difference_interval(*group_bootstrap(lambda rows: rmse(pred_a, rows) - rmse(pred_a, rows), groups, 200, 0))
    assert same == {"value": 0.0, "ci_low": 0.0, "ci_high": 0.0, "p_model_better": 0.0}
    gain = difference_interval(*group_bootstrap(lambda rows: rmse(pred_b, rows) - rmse(pred_a, rows), groups, 200, 0))
    assert gain["ci_high"] < 0 and gain["p_model_better"] == 1.0
    assert gain["value"] == pytest.approx(-0.5 * np.sqrt(np.mean((pred_a - y_true) ** 2)))
    higher = difference_interval(-gain["value"], -np.array([gain["ci_low"], np.nan, 0.1]), lower_is_better=False)
    assert higher["p_model_better"] == 0.5  # NaN draws left out


def test_interval_and_mean_interval():
    undefined = interval(1.0, np.array([np.nan, np.nan]))  # no resample defines the statistic
    assert undefined["value"] == 1.0 and np.isnan(undefined["ci_low"]) and np.isnan(undefined["ci_high"])
    assert interval(2.0, np.array([1.0, np.nan, 3.0]))["ci_high"] == pytest.approx(2.95)
    spread = mean_interval(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), 500, np.random.default_rng(0))
    assert spread["value"] == 3.0 and spread["ci_low"] < 3.0 < spread["ci_high"]


def test_mean_abs_relative_error_leaves_out_zero_targets():
    assert mean_abs_relative_error(np.array([1.0, 2.0, 0.0]), np.array([1.5, 1.0, 0.3])) == pytest.approx(0.5)
    assert np.isnan(mean_abs_relative_error(np.array([0.0]), np.array([1.0])))


def test_saved_module_bytes_do_not_depend_on_the_temporary_file(tmp_path):
    # equal models must give equal files, or DVC sees a changed output after every re-run
    import torch

    from matdisco.core.training import load_module, save_module
    from matdisco.ionic.models import AdditiveConductivity

    module = AdditiveConductivity(n_types=4)
    with torch.no_grad():
        module.type_terms.copy_(torch.arange(12.0).reshape(4, 3))
    first, second = tmp_path / "a" / "model.pt", tmp_path / "b" / "model.pt"
    save_module(first, module, note="x")
    save_module(second, module, note="x")
    assert first.read_bytes() == second.read_bytes()
    loaded, payload = load_module(second)
    assert torch.equal(loaded.type_terms, module.type_terms) and payload["note"] == "x"


def test_interval_text_writes_value_and_bounds():
    entry = {"value": 0.12345, "ci_low": -0.0123, "ci_high": 0.5}
    assert interval_text(entry) == "0.123 [-0.012, 0.500]"
    assert interval_text(entry, 1, sign="+", scale=100.0) == "+12.3 [-1.2, +50.0]"
    assert interval_text({"value": -0.02, "ci_low": -0.1, "ci_high": 0.0}, sign="+") == "-0.020 [-0.100, +0.000]"
