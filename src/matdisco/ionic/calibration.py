"""Prediction intervals calibrated on whole held-out ILs (split-conformal, one IL = one unit).

The out-of-fold residuals r = pred - ln sigma of every IL come from models that never saw that IL.
The half-width of a ``level`` interval is the weighted ``level`` quantile of |r| over those points,
each point weighted 1 / (points of its IL), so every IL counts once (an IL with 60 temperatures does
not set the width alone), with the finite-sample correction of conformal prediction on n ILs
(level -> min(1, level (n + 1) / n)). The quantile is taken per applicability class (Mondrian):
ILs whose two ions were both among the training ILs (``seen``), and ILs with at least one unseen
ion (``unseen_ion``), since the second are much harder and a user can tell which case a new pair is in.

Coverage is measured cross-conformally: the ILs of fold k are judged with the half-width calibrated
on the ILs of the other folds only (their out-of-fold residuals), so no IL helps set its own interval.
Reported per point and per IL (mean over ILs of the fraction of the IL's points inside), with
IL-bootstrap intervals; the stated level is met when the coverage is close to it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from matdisco.core.metrics import group_resamples, interval, mean_interval
from matdisco.ionic import keys

SEEN, UNSEEN_ION = "seen", "unseen_ion"
CALIBRATION_CLASSES = (SEEN, UNSEEN_ION)


def calibration_class(n_ions_seen: pd.Series | np.ndarray) -> np.ndarray:
    """``seen`` where both ions of a salt were among the training ILs, else ``unseen_ion`` ([n] str)."""
    return np.where(np.asarray(n_ions_seen) >= 2, SEEN, UNSEEN_ION)


def conformal_half_width(abs_residual: np.ndarray, il_ids: np.ndarray, level: float) -> float:
    """Half-width (ln units) of the ``level`` interval from |residuals| [n] of held-out points and
    their IL ids [n]: weighted quantile, weight 1 / points of the IL, level corrected for the
    number of ILs; NaN without ILs, +inf when the corrected level reaches 1."""
    il_ids = np.asarray(il_ids)
    n_ils = len(np.unique(il_ids))
    if n_ils == 0:
        return float("nan")
    corrected = level * (n_ils + 1) / n_ils
    if corrected >= 1.0:
        return float("inf")
    _, inverse, counts = np.unique(il_ids, return_inverse=True, return_counts=True)
    weight = 1.0 / counts[inverse]
    order = np.argsort(abs_residual, kind="stable")
    cumulative = np.cumsum(weight[order]) / n_ils
    return float(np.asarray(abs_residual)[order][np.searchsorted(cumulative, corrected - 1e-12)])


def class_half_widths(frame: pd.DataFrame, residual: str, level: float) -> dict[str, float]:
    """Per calibration class: the half-width from the rows of ``frame`` (columns il_id, ``residual``, ``class``)."""
    return {
        label: conformal_half_width(np.abs(rows[residual].to_numpy(float)), rows[keys.IL_ID].to_numpy(), level)
        for label in CALIBRATION_CLASSES
        for rows in [frame[frame["class"] == label]]
    }


def cross_conformal_inside(frame: pd.DataFrame, residual: str, level: float) -> np.ndarray:
    """[n] bool: each row's |residual| within the half-width of its class calibrated on the other
    folds' ILs (``frame``: fold, il_id, ``residual``, ``class``)."""
    inside = np.zeros(len(frame), bool)
    for fold in frame[keys.FOLD].unique():
        own = (frame[keys.FOLD] == fold).to_numpy()
        widths = class_half_widths(frame[~own], residual, level)
        width = frame.loc[own, "class"].map(widths).to_numpy(float)
        inside[own] = np.abs(frame.loc[own, residual].to_numpy(float)) <= width
    return inside


def coverage_with_interval(il_ids: np.ndarray, inside: np.ndarray, n_resamples: int, seed: int) -> dict:
    """Point coverage and per-IL coverage (each IL once) of ``inside`` [n] (bool per point, ``il_ids`` [n]),
    each a ``core.metrics.interval`` over the same resamples of whole ILs."""
    frame = pd.DataFrame({"il": il_ids, "inside": inside.astype(float)})
    per_il = frame.groupby("il")["inside"].agg(["sum", "size"])
    if per_il.empty:
        return {"n_ils": 0, "n_points": 0}
    hits, sizes = per_il["sum"].to_numpy(), per_il["size"].to_numpy()
    draws = group_resamples(len(hits), n_resamples, seed)
    return {
        "n_ils": len(hits),
        "n_points": int(sizes.sum()),
        "points": interval(hits.sum() / sizes.sum(), hits[draws].sum(axis=1) / sizes[draws].sum(axis=1)),
        "ils": mean_interval(hits / sizes, n_resamples, seed),
    }


def calibration_report(
    wide: pd.DataFrame, predictors: list[str], coverage: pd.Series, level: float, n_resamples: int, seed: int
) -> dict:
    """Per predictor: the half-widths of each class from every out-of-fold residual (what ``predict``
    states), and the cross-conformal coverage of the ``level`` intervals, overall and per class.

    ``wide``: out-of-fold points (fold, il_id, ln_sigma, one column per predictor); ``coverage``:
    IL id -> "both" / "one" / "neither" (:func:`matdisco.ionic.scoring.ion_coverage`).
    """
    n_seen = wide[keys.IL_ID].map(coverage).map({"both": 2, "one": 1, "neither": 0}).to_numpy()
    report = {"level": level, "classes": {SEEN: "both ions among the training ILs", UNSEEN_ION: "at least one ion not"}}
    for name in predictors:
        frame = wide[[keys.FOLD, keys.IL_ID]].assign(
            residual=wide[name].to_numpy(float) - wide[keys.LN_SIGMA].to_numpy(float),
            **{"class": calibration_class(n_seen)},
        )
        inside = cross_conformal_inside(frame, "residual", level)
        by_class = {
            label: coverage_with_interval(frame.loc[rows, keys.IL_ID].to_numpy(), inside[rows], n_resamples, seed)
            for label in CALIBRATION_CLASSES
            for rows in [(frame["class"] == label).to_numpy()]
        }
        report[name] = {
            "half_width_ln": class_half_widths(frame, "residual", level),
            "coverage": {
                "all": coverage_with_interval(frame[keys.IL_ID].to_numpy(), inside, n_resamples, seed),
                **by_class,
            },
        }
    return report


def spread_coverage(oof: pd.DataFrame, level: float, n_resamples: int, seed: int) -> dict:
    """Coverage of the ensemble's own interval, mean +- z std (normal z of ``level``), on the
    out-of-fold rows of one model (il_id, ln_sigma, pred_ln_sigma, pred_ln_sigma_std): what the
    spread would claim without calibration."""
    z = float(norm.ppf(0.5 + level / 2.0))
    error = np.abs(oof[keys.PRED_LN_SIGMA] - oof[keys.LN_SIGMA]).to_numpy(float)
    inside = error <= z * oof[keys.PRED_LN_SIGMA_STD].to_numpy(float)
    return {
        "z": z,
        "median_std_ln": float(np.median(oof[keys.PRED_LN_SIGMA_STD])),
        "median_abs_error_ln": float(np.median(error)),
        **coverage_with_interval(oof[keys.IL_ID].to_numpy(), inside, n_resamples, seed),
    }


def calibration_lines(calibration: dict) -> list[str]:
    """Markdown: per predictor the conformal half-widths and the held-out coverage of its intervals,
    then the coverage of the models' own ensemble spread."""
    level = calibration["level"]
    lines = [
        "",
        f"## Calibrated {level:.0%} intervals: coverage on held-out ILs",
        "",
        "Split-conformal over whole ILs (ionic/calibration.py): half-width = the IL-weighted quantile of |out-of-fold "
        "error| per class (seen: both ions among the training ILs; unseen_ion: at least one not). Coverage: the ILs of "
        "each fold judged with widths calibrated on the other folds only; points, and ILs counted once; brackets 95 % "
        "IL-bootstrap.",
        "",
        "| predictor | half-width seen (ln) | half-width unseen_ion (ln) | coverage, points | coverage, ILs | "
        "seen: points | unseen_ion: points (ILs) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, entry in calibration.items():
        if not isinstance(entry, dict) or "half_width_ln" not in entry:
            continue
        cov, width = entry["coverage"], entry["half_width_ln"]
        lines.append(
            f"| {name} | {width[SEEN]:.2f} | {width[UNSEEN_ION]:.2f} | {_cov(cov['all'], 'points')} | "
            f"{_cov(cov['all'], 'ils')} | {_cov(cov[SEEN], 'points')} | {_cov(cov[UNSEEN_ION], 'points')} "
            f"({cov[UNSEEN_ION].get('n_ils', 0)}) |"
        )
    lines += [
        "",
        f"Uncalibrated: the models' ensemble mean +- z std (z for {level:.0%}) on the same held-out points:",
        "",
        "| model | median std (ln) | median abs error (ln) | coverage, points | coverage, ILs |",
        "|---|---|---|---|---|",
    ]
    for name, entry in calibration.get("ensemble_spread", {}).items():
        lines.append(
            f"| {name} | {entry['median_std_ln']:.3f} | {entry['median_abs_error_ln']:.3f} | "
            f"{_cov(entry, 'points')} | {_cov(entry, 'ils')} |"
        )
    return lines


def _cov(entry: dict, unit: str) -> str:
    """'value [low, high]' of a coverage entry in percent ('-' when the class is empty)."""
    if unit not in entry:
        return "-"
    v = entry[unit]
    return f"{100 * v['value']:.1f} % [{100 * v['ci_low']:.1f}, {100 * v['ci_high']:.1f}]"
