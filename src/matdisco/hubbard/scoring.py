"""Held-out errors of the Hubbard U and V models next to every baseline (:mod:`matdisco.hubbard.baselines`),
on identical rows: MAE (eV) and mean absolute relative error with 95 % intervals from resampling
whole paths, the model-minus-baseline MAE with its interval, and the Markdown report.

The unit of resampling is the self-consistent path (the rows of one path are correlated), so the
number of test paths is the effective sample size; rows are one per symmetry-distinct site (pair)
per record (``baselines.distinct_rows``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from matdisco.core.metrics import (
    difference_interval,
    group_bootstrap,
    interval,
    interval_text,
    mean_abs_relative_error,
)
from matdisco.hubbard import keys as K
from matdisco.hubbard.baselines import BASELINES
from matdisco.hubbard.features import TARGET

PRED, PRED_STD, FOLD, GROUP = "pred_eV", "pred_std_eV", "holdout", "species_group"
MODEL = K.MODEL_PREDICTOR  # the trained model's entry among the predictors (keys.py: the page reads it too)


def baseline_column(baseline: str) -> str:
    """Prediction column (eV) of baseline ``baseline`` in the evaluation frame."""
    return f"baseline_{baseline}_eV"


def species_group(rows: pd.DataFrame, kind: str) -> pd.Series:
    """Species (U) or species pair ``A-B`` (V) of each row."""
    if kind == "u":
        return rows[K.SPECIES].astype(str)
    return rows[K.SPECIES_I].astype(str) + "-" + rows[K.SPECIES_J].astype(str)


def _mae_eV(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean(np.abs(pred - y)))


INTERVAL_SCORES = {"mae_eV": _mae_eV, "mare": mean_abs_relative_error}  # score(y [n], pred [n]) -> float


def path_bootstrap(y: np.ndarray, pred: np.ndarray, paths: np.ndarray, n_resamples: int, seed: int) -> dict:
    """MAE (eV) and MARE with 95 % intervals from resampling whole paths (arrays [n]; ``paths`` the path
    id of each row, so the rows of one path move together): per score a ``core.metrics.interval``; plus
    ``n`` rows and ``n_paths`` (the effective sample size)."""
    y, pred = np.asarray(y, dtype=float), np.asarray(pred, dtype=float)
    out = {"n": int(len(y)), "n_paths": len(set(paths))}
    for name, score in INTERVAL_SCORES.items():
        out[name] = interval(*group_bootstrap(lambda rows: score(y[rows], pred[rows]), paths, n_resamples, seed))
    return out


def model_minus_baseline(
    y: np.ndarray, model: np.ndarray, baseline: np.ndarray, paths: np.ndarray, n_resamples: int, seed: int
) -> dict:
    """MAE difference model - baseline (eV; negative: the model is better) with its 95 % path-bootstrap
    interval: a ``core.metrics.difference_interval`` (``value``, ``ci_low``, ``ci_high``, ``p_model_better``)."""

    def difference(rows: np.ndarray) -> float:
        return _mae_eV(y[rows], model[rows]) - _mae_eV(y[rows], baseline[rows])

    return difference_interval(*group_bootstrap(difference, paths, n_resamples, seed))


def fold_metrics(rows: pd.DataFrame, n_resamples: int, seed: int) -> dict:
    """Scores of one holdout fold: ``rows`` are its distinct test rows with ``TARGET``, ``PRED`` and every
    ``baseline_column`` (NaN where a predictor has no value: persistence at iteration 0). Per predictor
    (``model`` and each baseline): :func:`path_bootstrap` on the rows it predicts; per baseline the model's
    MAE minus the baseline's on those same rows (:func:`model_minus_baseline`, with ``n``); ``same_as``:
    {baseline: an earlier one} where both predict the very same values on every row (a per-material baseline
    falls back to the species mean when the material is held out), so the report can show them once."""
    y, model, paths = rows[TARGET].to_numpy(float), rows[PRED].to_numpy(float), rows[K.PATH_ID].to_numpy()
    entry = {
        "n_distinct": int(len(rows)),
        "n_paths": int(len(set(paths))),
        "n_materials": int(rows[K.MATERIAL].nunique()),
        "predictors": {MODEL: path_bootstrap(y, model, paths, n_resamples, seed)},
        "model_minus_baseline": {},
        "same_as": {},
    }
    scored: dict[str, np.ndarray] = {}
    for name in BASELINES:
        values = rows[baseline_column(name)].to_numpy(float)
        keep = np.isfinite(values)
        if not keep.any():
            continue
        twin = next((other for other, seen in scored.items() if np.array_equal(seen, values, equal_nan=True)), None)
        if twin is not None:
            entry["same_as"][name] = twin
        scored[name] = values
        entry["predictors"][name] = path_bootstrap(y[keep], values[keep], paths[keep], n_resamples, seed)
        entry["model_minus_baseline"][name] = {
            "n": int(keep.sum()),
            **model_minus_baseline(y[keep], model[keep], values[keep], paths[keep], n_resamples, seed),
        }
    return entry


def _interval(score: dict, percent: bool) -> str:
    """``value [low, high]``: eV to 3 decimals, or percent to 1."""
    scale, digits, unit = (100.0, 1, " %") if percent else (1.0, 3, "")
    if not np.isfinite(score["value"]):
        return "n/a"
    return interval_text(score, digits, scale=scale) + unit


def _same_as(entry: dict) -> dict[str, str]:
    """{baseline: the first baseline with the very same predictions} of a fold (metrics written before
    ``same_as`` existed have none)."""
    return entry.get("same_as", {})


def _difference(entry: dict | None) -> str:
    if entry is None:
        return ""
    return interval_text(entry, sign="+")


TARGET_TEXT = {
    "next": "one protocol step: hp.x's output of the same iteration, from its occupations and the applied input",
    "converged": "self-consistent: the path's final value, from iteration 0's occupations (skips the protocol)",
}

HEADER = [
    "Targets are the values at this data set's DFPT settings (its records' `settings`), **not** the values",
    "of Uhrin et al., npj Comput. Mater. 11, 19 (2025); errors here are not comparable with the paper's.",
    "",
    "- Rows: one per symmetry-distinct site (U) or pair (V) per record (equivalent ones agree to 1 meV);",
    "  `n` distinct rows, `paths`: test paths, the effective sample size.",
    "- Every predictor is fitted on the holdout's training rows only and scored on the same test rows;",
    "  persistence (output = input) exists for iterations >= 1 with an applied input only, so its `n` is",
    "  that subset, and its model-minus-persistence difference is on that subset too.",
    "- Intervals: 95 %, from resampling whole test paths; `model - predictor`: MAE difference (eV),",
    "  negative = the model is better; an interval excluding 0 is a resolved difference.",
    "- Holdouts: `extract_split` = the extract's test paths (the model of hubbard_train); the others are",
    "  blocked (data.evaluate.blocked), each with a model trained here without the held-out block.",
    "- `a = b`: predictors with the very same predictions on every row of the holdout, shown once (with a",
    "  material held out, the per-material baselines fall back to the species mean).",
]


def evaluation_markdown(results: dict) -> str:
    """The report: per model variant (parameter and target) one table of every holdout fold and predictor."""
    lines = ["# Hubbard U and V: models against every baseline, per target and holdout", "", *HEADER, ""]
    for variant, result in results.items():
        lines += [
            f"## {result['parameter']}, target {result['target']} (`{variant}`)",
            "",
            f"Target: {TARGET_TEXT.get(result['target'], result['target'])}. "
            f"{result['n_points']} rows from {result['n_paths']} paths; CPU {result['cpu_s']:.0f} s.",
            "",
            "| holdout | predictor | n | paths | MAE (eV) [95 %] | MARE [95 %] | model - predictor MAE (eV) [95 %] |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for fold, entry in result["schemes"].items():
            for name in [n for n in (MODEL, *BASELINES) if n in entry["predictors"] and n not in _same_as(entry)]:
                score = entry["predictors"][name]
                label = " = ".join([name, *(twin for twin, first in _same_as(entry).items() if first == name)])
                lines.append(
                    f"| {fold} | {label} | {score['n']} | {score['n_paths']} | {_interval(score['mae_eV'], False)} | "
                    f"{_interval(score['mare'], True)} | {_difference(entry['model_minus_baseline'].get(name))} |"
                )
        if not result["schemes"]:
            lines.append("| (none) | | 0 | 0 | | | |")
        if result["skipped"]:
            lines += ["", "Holdouts without a score:", ""] + [
                f"- {name}: {reason}" for name, reason in sorted(result["skipped"].items())
            ]
        lines.append("")
    return "\n".join(lines) + "\n"
