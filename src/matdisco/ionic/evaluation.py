"""``ionic_evaluate``: held-out-IL metrics of every model on identical splits, with a ridge baseline.

Over the grouped folds every IL is held out exactly once, so the out-of-fold predictions give a
per-IL error for the whole data set. Metrics are computed on the points that every compared model
can predict (the additive models cannot predict ILs with atom types unseen in their training ILs);
those ILs are counted and listed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from matdisco.core.config import artifact
from matdisco.core.io import atomic_path, atomic_write_json, atomic_write_text
from matdisco.core.metrics import paired_group_bootstrap, regression_metrics, summarise_folds
from matdisco.core.plots import parity_plot
from matdisco.ionic import keys
from matdisco.ionic.atom_types import type_vocabulary
from matdisco.ionic.data import load_points, load_splits, salt_graphs
from matdisco.ionic.prediction import Ensemble, predict_points
from matdisco.ionic.splits import named_splits
from matdisco.ionic.training import model_dir

RIDGE = "ridge_additive"


def ridge_predict(points: pd.DataFrame, graphs: dict, train_ils: list[str], test: pd.DataFrame, alpha: float, t_ref_K: float) -> pd.DataFrame:
    """Closed-form ridge fit of the additive ansatz on ``train_ils``; predictions for ``test``.

    Features per point: type counts n_t, n_t tau, n_t tau^2 (tau = t_ref_K / T - 1); ILs with
    types unseen in training get NaN.
    """
    vocabulary = type_vocabulary([graphs[il].atom_types for il in train_ils])

    def design(frame: pd.DataFrame) -> np.ndarray:
        counts = np.zeros((len(frame), len(vocabulary)))
        for row, il in enumerate(frame[keys.IL_ID]):
            for label in graphs[il].atom_types:
                if label in vocabulary:
                    counts[row, vocabulary[label]] += 1
        tau = (t_ref_K / frame[keys.TEMPERATURE_K].to_numpy() - 1.0)[:, None]
        return np.hstack([counts, counts * tau, counts * tau**2])

    train = points[points[keys.IL_ID].isin(train_ils)]
    x = design(train)
    coef = np.linalg.solve(x.T @ x + alpha * np.eye(x.shape[1]), x.T @ train[keys.LN_SIGMA].to_numpy())
    out = test.copy()
    unseen = {il: " ".join(sorted({t for t in graphs[il].atom_types if t not in vocabulary})) for il in test[keys.IL_ID].unique()}
    out[keys.UNSEEN_TYPES] = out[keys.IL_ID].map(unseen)
    out[keys.PRED_LN_SIGMA] = np.where(out[keys.UNSEEN_TYPES] == "", design(test) @ coef, np.nan)
    out[keys.PRED_LN_SIGMA_STD] = 0.0
    return out


def held_out_predictions(cfg, points: pd.DataFrame, graphs: dict, splits: dict) -> pd.DataFrame:
    """Test-set predictions of every model (and the ridge baseline) on every split, stacked."""
    frames = []
    for split_name, split in tqdm(named_splits(splits), desc="evaluate splits", unit="split"):
        test = points[points[keys.IL_ID].isin(split["test"])]
        train_ils = split["train"] + split["val"]
        frames.append(
            ridge_predict(points, graphs, train_ils, test, cfg.data.evaluate.ridge_alpha, cfg.model.temperature_reference_K).assign(
                **{keys.MODEL: RIDGE, keys.FOLD: split_name}
            )
        )
        for model_name in cfg.data.evaluate.models:
            ensemble = Ensemble.load(model_dir(cfg, model_name) / split_name)
            frames.append(predict_points(ensemble, test, graphs).assign(**{keys.MODEL: model_name, keys.FOLD: split_name}))
    return pd.concat(frames, ignore_index=True)


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


def evaluate(cfg) -> dict:
    """Score every model of ``data.evaluate.models`` and the ridge baseline on held-out ILs.

    Writes metrics/ionic/evaluate.json, plots/ionic/parity.png and oof_predictions.csv,
    results/ionic/per_il_errors.csv and results/ionic/model_comparison.md.
    """
    points = load_points(cfg)
    graphs = salt_graphs(points, cfg.data.typing.scheme)
    predictions = held_out_predictions(cfg, points, graphs, load_splits(cfg))
    scored = common_points(predictions)
    excluded = sorted(set(predictions[keys.SALT_NAME]) - set(scored[keys.SALT_NAME]))
    metrics = model_metrics(scored)
    bootstrap = cfg.data.evaluate.bootstrap
    differences = differences_to_reference(scored, bootstrap.reference, int(bootstrap.n_resamples), int(cfg.seed))
    errors = per_il_errors(scored)
    metrics_out = {
        "models": metrics,
        f"out_of_fold_minus_{bootstrap.reference}": differences,
        "n_ils_excluded_unseen_types": len(excluded),
        "n_points_scored_per_model": int(len(scored) / scored[keys.MODEL].nunique()),
    }
    atomic_write_json(artifact(cfg, "metrics", "ionic", "evaluate.json"), metrics_out)
    oof = scored[scored[keys.FOLD] != "default"][[keys.MODEL, keys.FOLD, keys.IL_ID, keys.TEMPERATURE_K, keys.LN_SIGMA, keys.PRED_LN_SIGMA, keys.PRED_LN_SIGMA_STD]]
    with atomic_path(artifact(cfg, "plots", "ionic", "oof_predictions.csv")) as tmp:
        oof.to_csv(tmp, index=False)
    parity_plot(artifact(cfg, "plots", "ionic", "parity.png"), oof[keys.LN_SIGMA], oof[keys.PRED_LN_SIGMA], "ln(sigma / S m^-1)", groups=oof[keys.MODEL], title="held-out ILs, out-of-fold")
    with atomic_path(artifact(cfg, "results", "ionic", "per_il_errors.csv")) as tmp:
        errors.to_csv(tmp, index=False)
    atomic_write_text(artifact(cfg, "results", "ionic", "model_comparison.md"), comparison_markdown(metrics, differences, bootstrap.reference, len(excluded), excluded, errors, cfg.data.evaluate.worst_ils))
    return {name: {"kfold_rmse_mean": m["kfold"]["rmse_mean"], "kfold_r2_mean": m["kfold"]["r2_mean"]} for name, m in metrics.items()}
