"""The path bootstrap of the Hubbard evaluation resamples whole paths."""

import numpy as np

from matdisco.hubbard import scoring
from matdisco.hubbard.scoring import model_minus_baseline, path_bootstrap


def test_every_resample_draws_whole_paths(monkeypatch):
    paths = np.array(["p1", "p1", "p1", "p2", "p3", "p3"])
    y = np.ones(6)
    seen = []

    def record(target, pred):
        seen.append(len(target))
        return float(np.mean(np.abs(pred - target)))

    monkeypatch.setattr(scoring, "INTERVAL_SCORES", {"mae_eV": record})
    path_bootstrap(y, y + np.arange(6), paths, n_resamples=50, seed=0)
    # a resample draws 3 whole paths (sizes 3, 1, 2): its size is a sum of three path sizes and varies,
    # where resampling rows would always draw 6; the last call scores the full set
    sizes = {a + b + c for a in (3, 1, 2) for b in (3, 1, 2) for c in (3, 1, 2)}
    assert set(seen[:-1]) <= sizes and len(set(seen[:-1])) > 1 and seen[-1] == 6


def test_one_path_gives_no_spread_and_effective_size_is_paths():
    paths = np.array(["p1"] * 4)
    out = path_bootstrap(np.ones(4), np.array([1.1, 0.9, 1.2, 0.8]), paths, n_resamples=20, seed=1)
    assert out["n_paths"] == 1 and out["n"] == 4
    assert out["mae_eV"]["ci_low"] == out["mae_eV"]["ci_high"] == out["mae_eV"]["value"]


def test_difference_is_model_minus_baseline():
    y = np.zeros(6)
    paths = np.array(["a", "a", "b", "b", "c", "c"])
    diff = model_minus_baseline(y, np.full(6, 0.1), np.full(6, 0.3), paths, n_resamples=30, seed=2)
    assert np.isclose(diff["value"], -0.2) and diff["ci_high"] < 0 and diff["p_model_better"] == 1.0
