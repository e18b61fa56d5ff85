"""Held-out errors of the Hubbard U and V models: metrics per scheme and species, next to the
species-mean baseline, and the Markdown table next to Uhrin et al. 2025.

Per scheme and per species (for V: species pair): MAE, RMSE (eV), mean absolute relative error
(rows with a zero target are left out and counted), n; and the same for the baseline "mean of
the training targets of the species" (what the network corrects).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from matdisco.core.metrics import paired_group_bootstrap, regression_metrics
from matdisco.hubbard import keys as K
from matdisco.hubbard.baselines import BASELINES, baseline_predictions, distinct_rows
from matdisco.hubbard.features import TARGET

PRED, PRED_STD, BASELINE, SCHEME, FOLD, GROUP = "pred_eV", "pred_std_eV", "baseline_eV", "scheme", "fold", "species_group"
IN_SAMPLE = "in_sample"


def baseline_column(baseline: str) -> str:
    """Prediction column (eV) of baseline ``baseline`` in the evaluation frame."""
    return f"baseline_{baseline}_eV"


def species_group(rows: pd.DataFrame, kind: str) -> pd.Series:
    """Species (U) or species pair ``A-B`` (V) of each row."""
    if kind == "u":
        return rows[K.SPECIES].astype(str)
    return rows[K.SPECIES_I].astype(str) + "-" + rows[K.SPECIES_J].astype(str)


def error_metrics(y: np.ndarray, pred: np.ndarray) -> dict:
    """MAE, RMSE (eV), MARE (non-zero targets), n; relative error skipped with a note when impossible."""
    y, pred = np.asarray(y, dtype=float), np.asarray(pred, dtype=float)
    base = regression_metrics(y, pred)
    out = {"n": base["n"], "mae_eV": base["mae"], "rmse_eV": base["rmse"], "max_ae_eV": base["max_ae"]}
    nonzero = np.abs(y) > 1e-6
    out["n_zero_target"] = int((~nonzero).sum())
    out["mare"] = float(np.mean(np.abs(pred[nonzero] - y[nonzero]) / np.abs(y[nonzero]))) if nonzero.any() else None
    return out


def _mae(error: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.abs(error)))


def _mare(error: np.ndarray, y: np.ndarray) -> float:
    nonzero = np.abs(y) > 1e-6
    return float(np.mean(np.abs(error[nonzero]) / np.abs(y[nonzero]))) if nonzero.any() else float("nan")


INTERVAL_SCORES = {"mae_eV": _mae, "mare": _mare}


def path_bootstrap(y: np.ndarray, pred: np.ndarray, paths: np.ndarray, n_resamples: int, seed: int) -> dict:
    """MAE (eV) and MARE with 95 % intervals from resampling whole paths (arrays [n]; ``paths`` the path
    id of each row, so the rows of one path move together). Per score: ``value``, ``ci_low``, ``ci_high``;
    plus ``n`` rows and ``n_paths`` (the effective sample size)."""
    y, pred = np.asarray(y, dtype=float), np.asarray(pred, dtype=float)
    error = pred - y
    members = resample_members(paths)
    rng = np.random.default_rng(seed)
    samples = {name: [] for name in INTERVAL_SCORES}
    for _ in range(n_resamples):
        pick = np.concatenate([members[g] for g in rng.integers(0, len(members), len(members))])
        for name, score in INTERVAL_SCORES.items():
            samples[name].append(score(error[pick], y[pick]))
    out = {"n": int(len(y)), "n_paths": len(members)}
    for name, score in INTERVAL_SCORES.items():
        low, high = np.nanpercentile(samples[name], [2.5, 97.5]) if n_resamples else (np.nan, np.nan)
        out[name] = {"value": score(error, y), "ci_low": float(low), "ci_high": float(high)}
    return out


def resample_members(paths: np.ndarray) -> list[np.ndarray]:
    """Row indices of each distinct path (sorted by path id): the units a path bootstrap draws."""
    labels, index = np.unique(np.asarray(paths).astype(str), return_inverse=True)
    return [np.flatnonzero(index == g) for g in range(len(labels))]


def model_minus_baseline(y: np.ndarray, model: np.ndarray, baseline: np.ndarray, paths: np.ndarray, n_resamples: int, seed: int) -> dict:
    """MAE difference model - baseline (eV; negative: the model is better) with its 95 % path-bootstrap
    interval (``core.metrics.paired_group_bootstrap``): ``diff``, ``ci_low``, ``ci_high``, ``p_b_better``."""
    return paired_group_bootstrap(y, baseline, model, np.asarray(paths).astype(str), n_resamples, seed)["mae"]


def scheme_metrics(frame: pd.DataFrame) -> dict:
    """Per scheme: overall and per species group, for the model and the species-mean baseline."""
    metrics = {}
    for scheme, rows in frame.groupby(SCHEME, sort=True):
        entry = {"all": error_metrics(rows[TARGET], rows[PRED]), "baseline_species_mean": error_metrics(rows[TARGET], rows[BASELINE]),
                 "n_paths": int(rows[K.PATH_ID].nunique()), "n_materials": int(rows[K.MATERIAL].nunique()), "species": {},
                 "baselines": {}}
        for baseline in BASELINES:
            column = baseline_column(baseline)
            keep = rows[column].notna().to_numpy() if column in rows else np.zeros(len(rows), bool)
            if keep.any():  # persistence: iterations >= 1 only
                entry["baselines"][baseline] = error_metrics(rows[TARGET][keep], rows[column][keep])
        for group, part in rows.groupby(GROUP, sort=True):
            entry["species"][group] = error_metrics(part[TARGET], part[PRED])
        metrics[scheme] = entry
    return metrics


def _pct(value) -> str:
    return "n/a" if value is None or (isinstance(value, float) and not np.isfinite(value)) else f"{100 * value:.1f} %"


def markdown(model: str, label: str, paper_mare: float, metrics: dict, skipped: dict, n_points: int, n_paths: int, target: str) -> str:
    """The evaluation table next to the paper's MARE, per scheme and species."""
    lines = [
        f"# {model}: Hubbard {label} from occupation matrices (target: {target})",
        "",
        f"Data at evaluation time: {n_points} {label} values from {n_paths} self-consistent path(s).",
        "Targets are the values at this data set's DFPT settings, not the paper's values.",
        "Baselines are fitted on each run's training rows and scored on the same test rows (persistence: iterations >= 1 only).",
        f"Reference: Uhrin, Zadoks, Binci, Marzari, Timrov, npj Comput. Mater. 11, 19 (2025): MARE {_pct(paper_mare)} for {label}"
        " (12 materials, held-out points).",
        "",
        "| scheme | species | n | MAE (eV) | RMSE (eV) | MARE | baseline MARE (species mean) | paper MARE |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for scheme, entry in metrics.items():
        a, b = entry["all"], entry["baseline_species_mean"]
        lines.append(f"| {scheme} | all | {a['n']} | {a['mae_eV']:.3f} | {a['rmse_eV']:.3f} | {_pct(a['mare'])} | {_pct(b['mare'])} | {_pct(paper_mare)} |")
        for baseline, m in entry.get("baselines", {}).items():
            lines.append(f"| {scheme} | all, baseline {baseline} | {m['n']} | {m['mae_eV']:.3f} | {m['rmse_eV']:.3f} | {_pct(m['mare'])} | | |")
        for group, m in entry["species"].items():
            lines.append(f"| {scheme} | {group} | {m['n']} | {m['mae_eV']:.3f} | {m['rmse_eV']:.3f} | {_pct(m['mare'])} | | |")
    if not metrics:
        lines.append("| (none) | | 0 | | | | | |")
    lines += ["", "`in_sample` is the by_path model on its own training rows: a sanity check, not an error estimate.", ""]
    if skipped:
        lines += ["Skipped:", ""] + [f"- {name}: {reason}" for name, reason in sorted(skipped.items())]
    return "\n".join(lines) + "\n"


def baseline_scheme_metrics(points: pd.DataFrame, spec, runs: list, n_resamples: int, seed: int, decimals: int) -> dict:
    """Per run (``splits.SplitRun``): every baseline's MAE/MARE with path-bootstrap intervals on the run's
    distinct test rows (``baselines.distinct_rows``), fitted on its training rows only. ``persistence``
    is scored on the iteration >= 1 subset (``n`` says how many rows that is)."""
    out = {}
    for run in runs:
        test = distinct_rows(points.iloc[run.test], spec, decimals)
        pred = baseline_predictions(points.iloc[run.train], test, spec)
        entry = {"n_distinct": int(len(test)), "n_paths": int(test[K.PATH_ID].nunique()), "baselines": {}}
        for name in BASELINES:
            keep = np.isfinite(pred[name].to_numpy())
            if keep.any():
                entry["baselines"][name] = path_bootstrap(test[TARGET].to_numpy()[keep], pred[name].to_numpy()[keep],
                                                          test[K.PATH_ID].to_numpy()[keep], n_resamples, seed)
        out[run.name] = entry
    return out


def _interval(score: dict, percent: bool) -> str:
    """``value [low, high]``: eV to 3 decimals, or percent to 1."""
    scale, digits, unit = (100.0, 1, " %") if percent else (1.0, 3, "")
    value, low, high = (scale * score[k] for k in ("value", "ci_low", "ci_high"))
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]{unit}"


def baseline_markdown(label: str, target: str, metrics: dict) -> str:
    """Table of every baseline per blocked run: MAE (eV) and MARE with 95 % path-bootstrap intervals."""
    lines = [f"# Baselines for Hubbard {label} (target: {target})", "",
             "Targets are the values at this data set's DFPT settings, not the values of Uhrin et al. 2025.",
             "Rows: one per symmetry-distinct site (pair) per record; n paths = effective sample size;",
             "intervals: 95 % from resampling whole test paths. persistence (output = input) is scored on",
             "iterations >= 1 only (its n is that subset).", "",
             "| holdout | predictor | n | n paths | MAE (eV) | MARE |", "|---|---|---:|---:|---:|---:|"]
    for run, entry in metrics.items():
        for name, m in entry["baselines"].items():
            lines.append(f"| {run} | {name} | {m['n']} | {m['n_paths']} | {_interval(m['mae_eV'], False)} | {_interval(m['mare'], True)} |")
    return "\n".join(lines) + "\n"
