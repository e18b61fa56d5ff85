"""Metrics shared by every model (arrays of shape (n,)) and the one way to put an interval on them.

Intervals come from resampling whole groups (ILs, paths, cells: the rows of one group are correlated and move
together). Every interval has the schema of :func:`interval` (``value``, ``ci_low``, ``ci_high``); a paired
difference (model minus reference on the same resamples) adds ``p_model_better`` (:func:`difference_interval`).
"""

from __future__ import annotations

from collections.abc import Callable

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


def group_members(groups: np.ndarray) -> list[np.ndarray]:
    """Row indices of each distinct label of ``groups`` [n] (labels sorted): the units a group resample draws."""
    labels, index = np.unique(np.asarray(groups), return_inverse=True)
    return [np.flatnonzero(index == g) for g in range(len(labels))]


def group_resamples(n_groups: int, n_resamples: int, seed: int | np.random.Generator) -> np.ndarray:
    """[n_resamples, n_groups] group indices drawn with replacement: each row is one resample of whole groups
    (ILs, paths, cells). The same seed gives the same resamples; a Generator continues its own stream (for
    callers that draw several sets in turn)."""
    return np.random.default_rng(seed).integers(0, n_groups, size=(n_resamples, n_groups))


def group_bootstrap(
    statistic: Callable[[np.ndarray], float], groups: np.ndarray, n_resamples: int, seed: int
) -> tuple[float, np.ndarray]:
    """``statistic(rows)`` (rows: indices into ``groups`` [n]) on every row, and on the rows of each of
    :func:`group_resamples` ([n_resamples]; the rows of a drawn group all move together)."""
    members = group_members(groups)
    draws = group_resamples(len(members), n_resamples, seed)
    samples = np.array([statistic(np.concatenate([members[g] for g in draw])) for draw in draws], dtype=float)
    return float(statistic(np.arange(len(groups)))), samples


def mean_interval(values: np.ndarray, n_resamples: int, seed: int | np.random.Generator) -> dict[str, float]:
    """Mean of one value per group ([n_groups]) as an :func:`interval` over the means of :func:`group_resamples`."""
    values = np.asarray(values, dtype=float)
    return interval(values.mean(), values[group_resamples(len(values), n_resamples, seed)].mean(axis=1))


def interval(value: float, samples: np.ndarray) -> dict[str, float]:
    """The one interval schema: ``value`` (the statistic on all groups) with ``ci_low`` / ``ci_high``, the
    2.5 / 97.5 percentiles of the statistic over group resamples (``samples`` [n_resamples]; NaN draws, where
    a resample cannot define the statistic, are left out; NaN bounds without a finite draw)."""
    samples = np.asarray(samples, dtype=float)
    low, high = np.nanpercentile(samples, [2.5, 97.5]) if np.isfinite(samples).any() else (np.nan, np.nan)
    return {"value": float(value), "ci_low": float(low), "ci_high": float(high)}


def interval_text(entry: dict, digits: int = 3, sign: str = "", scale: float = 1.0) -> str:
    """``value [ci_low, ci_high]`` of an :func:`interval` entry, each times ``scale``
    to ``digits`` decimals; ``sign="+"`` writes every sign."""
    value, low, high = (scale * entry[name] for name in ("value", "ci_low", "ci_high"))
    return f"{value:{sign}.{digits}f} [{low:{sign}.{digits}f}, {high:{sign}.{digits}f}]"


def difference_interval(value: float, samples: np.ndarray, lower_is_better: bool = True) -> dict[str, float]:
    """A paired difference, model minus reference, over the same group resamples: :func:`interval` plus
    ``p_model_better``, the fraction of the (finite) resampled differences where the model is better
    (difference below 0 when ``lower_is_better``, above 0 otherwise); NaN without a finite draw."""
    samples = np.asarray(samples, dtype=float)
    defined = samples[np.isfinite(samples)]
    better = defined < 0 if lower_is_better else defined > 0
    return {**interval(value, samples), "p_model_better": float(np.mean(better)) if len(defined) else float("nan")}


def mean_abs_relative_error(y_true: np.ndarray, y_pred: np.ndarray, min_abs_target: float = 1e-6) -> float:
    """Mean over points of |y_pred - y_true| / |y_true| ([n] arrays); points with |y_true| <= ``min_abs_target``
    (no relative error defined) are left out; NaN when none is left."""
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    kept = np.abs(y_true) > min_abs_target
    if not kept.any():
        return float("nan")
    return float(np.mean(np.abs(y_pred[kept] - y_true[kept]) / np.abs(y_true[kept])))
