"""Regression metrics shared by every model (arrays of shape (n,))."""

from __future__ import annotations

import numpy as np


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """RMSE, MAE, median absolute error, max absolute error and R^2 of ``y_pred`` against ``y_true``."""
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError(f"need two equal 1-D non-empty arrays, got {y_true.shape} and {y_pred.shape}")
    error = y_pred - y_true
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "median_ae": float(np.median(np.abs(error))),
        "max_ae": float(np.max(np.abs(error))),
        "r2": float(1.0 - np.sum(error**2) / ss_tot) if ss_tot > 0 else float("nan"),
        "n": int(len(y_true)),
    }


def summarise_folds(per_fold: list[dict[str, float]]) -> dict[str, float]:
    """Mean and standard deviation over folds of each numeric metric: ``{name}_mean``, ``{name}_std``."""
    summary: dict[str, float] = {"n_folds": len(per_fold)}
    for name in per_fold[0]:
        values = np.array([fold[name] for fold in per_fold], dtype=float)
        summary[f"{name}_mean"] = float(values.mean())
        summary[f"{name}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return summary


def paired_group_bootstrap(
    y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, groups: np.ndarray, n_resamples: int, seed: int
) -> dict[str, dict[str, float]]:
    """Difference (b - a) of RMSE, MAE and median AE, with a 95 % interval from resampling whole groups.

    All arrays [n] over the same points; ``groups`` labels the unit of resampling (an IL, a path),
    so correlated points of one group move together. Per metric: ``diff`` on the full set,
    ``ci_low``/``ci_high`` (2.5 / 97.5 percentiles) and ``p_b_better`` (fraction of resamples with
    b lower than a).
    """
    errors_a = np.asarray(pred_a, dtype=float) - np.asarray(y_true, dtype=float)
    errors_b = np.asarray(pred_b, dtype=float) - np.asarray(y_true, dtype=float)
    labels, group_index = np.unique(np.asarray(groups), return_inverse=True)
    members = [np.flatnonzero(group_index == g) for g in range(len(labels))]
    scores = {
        "rmse": lambda e: np.sqrt(np.mean(e**2)),
        "mae": lambda e: np.mean(np.abs(e)),
        "median_ae": lambda e: np.median(np.abs(e)),
    }
    rng = np.random.default_rng(seed)
    samples = {name: [] for name in scores}
    for _ in range(n_resamples):
        pick = np.concatenate([members[g] for g in rng.integers(0, len(members), len(members))])
        for name, score in scores.items():
            samples[name].append(score(errors_b[pick]) - score(errors_a[pick]))
    out = {}
    for name, score in scores.items():
        diffs = np.array(samples[name])
        low, high = np.percentile(diffs, [2.5, 97.5])
        out[name] = {
            "diff": float(score(errors_b) - score(errors_a)),
            "ci_low": float(low),
            "ci_high": float(high),
            "p_b_better": float(np.mean(diffs < 0)),
        }
    return out
