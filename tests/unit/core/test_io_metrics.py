"""Atomic writes never leave half files; metrics agree with hand values."""

import numpy as np
import pytest

from matdisco.core.io import atomic_dir, atomic_path, atomic_write_text
from matdisco.core.metrics import paired_group_bootstrap, regression_metrics, summarise_folds


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


def test_paired_group_bootstrap_sees_a_uniform_gain_and_no_gain():
    rng = np.random.default_rng(1)
    y_true = rng.normal(size=60)
    groups = np.repeat(np.arange(12), 5)
    pred_a = y_true + rng.normal(size=60)
    same = paired_group_bootstrap(y_true, pred_a, pred_a, groups, n_resamples=200, seed=0)
    assert same["rmse"] == {"diff": 0.0, "ci_low": 0.0, "ci_high": 0.0, "p_b_better": 0.0}
    pred_b = y_true + 0.5 * (pred_a - y_true)  # every error halved
    gain = paired_group_bootstrap(y_true, pred_a, pred_b, groups, n_resamples=200, seed=0)
    for metric in ("rmse", "mae", "median_ae"):
        assert gain[metric]["ci_high"] < 0 and gain[metric]["p_b_better"] == 1.0
    assert gain["rmse"]["diff"] == pytest.approx(-0.5 * np.sqrt(np.mean((pred_a - y_true) ** 2)))
    assert paired_group_bootstrap(y_true, pred_a, pred_b, groups, 200, seed=0) == gain  # seeded


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
