"""Held-out-IL scores of the ionic models: points every model predicts, metrics per model, paired
differences to a reference model, per-IL errors and the comparison table.

Over the grouped folds every IL is held out exactly once, so the out-of-fold predictions give a
per-IL error for the whole data set. Metrics are computed on the points that every compared model
can predict (the additive models cannot predict ILs with atom types unseen in their training ILs);
those ILs are counted and listed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from matdisco.core.metrics import paired_group_bootstrap, regression_metrics, summarise_folds
from matdisco.ionic import keys

POINT_KEY = [keys.FOLD, keys.IL_ID, keys.TEMPERATURE_K, keys.SIGMA_S_PER_M, keys.PRESSURE_KPA]


def common_points(predictions: pd.DataFrame) -> pd.DataFrame:
    """Rows of points that every model predicted (finite), so all models are scored on the same set."""
    ok = predictions.assign(ok=np.isfinite(predictions[keys.PRED_LN_SIGMA])).groupby(POINT_KEY)["ok"].transform("all")
    return predictions[ok]


def differences_to_reference(scored: pd.DataFrame, reference: str, n_resamples: int, seed: int) -> dict:
    """Out-of-fold RMSE / MAE / median AE of every model minus the reference model's, with 95 %
    intervals from resampling whole ILs (negative: better than the reference)."""
    folds = scored[scored[keys.FOLD] != "default"]
    if reference not in set(folds[keys.MODEL]):
        return {}
    wide = folds.pivot_table(index=POINT_KEY + [keys.LN_SIGMA], columns=keys.MODEL, values=keys.PRED_LN_SIGMA, aggfunc="first").reset_index()
    return {
        model: paired_group_bootstrap(wide[keys.LN_SIGMA], wide[reference], wide[model], wide[keys.IL_ID], n_resamples, seed)
        for model in sorted(folds[keys.MODEL].unique())
        if model != reference
    }


def model_metrics(scored: pd.DataFrame) -> dict:
    """Per model: default-split test metrics, per-fold summary (mean, std) and pooled out-of-fold metrics."""
    metrics = {}
    for model_name, rows in scored.groupby(keys.MODEL, sort=True):
        default = rows[rows[keys.FOLD] == "default"]
        folds = rows[rows[keys.FOLD] != "default"]
        per_fold = [regression_metrics(f[keys.LN_SIGMA], f[keys.PRED_LN_SIGMA]) for _, f in folds.groupby(keys.FOLD)]
        metrics[model_name] = {
            "default_test": regression_metrics(default[keys.LN_SIGMA], default[keys.PRED_LN_SIGMA]),
            "kfold": summarise_folds(per_fold),
            "out_of_fold": regression_metrics(folds[keys.LN_SIGMA], folds[keys.PRED_LN_SIGMA]),
        }
    return metrics


def per_il_errors(scored: pd.DataFrame) -> pd.DataFrame:
    """Out-of-fold error per IL and model: n points, mean signed error, RMSE, worst first."""
    folds = scored[scored[keys.FOLD] != "default"].assign(error=lambda f: f[keys.PRED_LN_SIGMA] - f[keys.LN_SIGMA])
    table = (
        folds.groupby([keys.MODEL, keys.IL_ID, keys.SALT_NAME, keys.SALT_SMILES])
        .agg(n_points=("error", "size"), mean_error_ln=("error", "mean"), rmse_ln=("error", lambda e: float(np.sqrt(np.mean(e**2)))),
             mean_ln_sigma=(keys.LN_SIGMA, "mean"))
        .reset_index()
    )
    return table.sort_values([keys.MODEL, "rmse_ln"], ascending=[True, False]).reset_index(drop=True)


def comparison_markdown(metrics: dict, differences: dict, reference: str, n_excluded_ils: int, excluded: list[str], worst: pd.DataFrame, n_worst: int) -> str:
    """Markdown table of every model's held-out metrics, the differences to the reference model and
    the worst ILs of each model."""
    lines = [
        "# Ionic-liquid conductivity: held-out-IL comparison (ln sigma, S/m)",
        "",
        "| model | k-fold RMSE (mean +- std) | k-fold MAE | k-fold median AE | k-fold R^2 | default-split RMSE | default-split R^2 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, m in metrics.items():
        k, d = m["kfold"], m["default_test"]
        lines.append(
            f"| {name} | {k['rmse_mean']:.3f} +- {k['rmse_std']:.3f} | {k['mae_mean']:.3f} | {k['median_ae_mean']:.3f} | "
            f"{k['r2_mean']:.3f} +- {k['r2_std']:.3f} | {d['rmse']:.3f} | {d['r2']:.3f} |"
        )
    lines += [
        "",
        f"## Out-of-fold difference to {reference} (model minus {reference}; 95 % interval from resampling ILs)",
        "",
        "| model | RMSE | MAE | median AE | P(better RMSE) | P(better median AE) |",
        "|---|---|---|---|---:|---:|",
    ]
    for name, d in differences.items():
        cells = [f"{d[m]['diff']:+.3f} [{d[m]['ci_low']:+.3f}, {d[m]['ci_high']:+.3f}]" for m in ("rmse", "mae", "median_ae")]
        lines.append(f"| {name} | {' | '.join(cells)} | {d['rmse']['p_b_better']:.2f} | {d['median_ae']['p_b_better']:.2f} |")
    lines += ["", f"Scored on the points every model can predict; {n_excluded_ils} IL(s) excluded for atom types unseen in training:"]
    lines += [f"- {il}" for il in excluded] or ["(none)"]
    for name, rows in worst.groupby(keys.MODEL, sort=True):
        lines += ["", f"## Worst held-out ILs: {name}", "", "| IL | points | RMSE (ln) | mean error (ln) | mean ln sigma |", "|---|---:|---:|---:|---:|"]
        for _, r in rows.head(n_worst).iterrows():
            lines.append(f"| {r[keys.SALT_NAME]} | {r['n_points']} | {r['rmse_ln']:.2f} | {r['mean_error_ln']:+.2f} | {r['mean_ln_sigma']:.2f} |")
    return "\n".join(lines) + "\n"
