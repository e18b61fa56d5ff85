"""``ionic_evaluate``: held-out-IL metrics of every model on identical splits, with a ridge baseline.

Reads the curated points, the splits and every model of ``data.evaluate.models``; scores them with
:mod:`matdisco.ionic.scoring`. Writes metrics/ionic/evaluate.json, plots/ionic/parity.png and
oof_predictions.csv, results/ionic/per_il_errors.csv and results/ionic/model_comparison.md.
"""

from __future__ import annotations

import pandas as pd
from tqdm.auto import tqdm

from matdisco.core.config import artifact
from matdisco.core.io import atomic_path, atomic_write_json, atomic_write_text
from matdisco.core.plots import parity_plot
from matdisco.ionic import keys
from matdisco.ionic.baselines import RIDGE, ridge_predict
from matdisco.ionic.data import load_points, load_splits, model_dir, salt_graphs
from matdisco.ionic.prediction import Ensemble, predict_points
from matdisco.ionic.scoring import common_points, comparison_markdown, differences_to_reference, model_metrics, per_il_errors
from matdisco.ionic.splits import named_splits


def held_out_predictions(cfg, points: pd.DataFrame, graphs: dict, splits: dict) -> pd.DataFrame:
    """Test-set predictions of every model (and the ridge baseline) on every split, stacked."""
    frames = []
    for split_name, split in tqdm(named_splits(splits), desc="evaluate splits", unit="split"):
        test = points[points[keys.IL_ID].isin(split["test"])]
        train_ils = split["train"] + split["val"]
        frames.append(
            ridge_predict(points, graphs, train_ils, test, cfg.data.evaluate.ridge_alpha, cfg.data.evaluate.ridge_temperature_reference_K).assign(
                **{keys.MODEL: RIDGE, keys.FOLD: split_name}
            )
        )
        for model_name in cfg.data.evaluate.models:
            ensemble = Ensemble.load(model_dir(cfg, model_name) / split_name)
            frames.append(predict_points(ensemble, test, graphs).assign(**{keys.MODEL: model_name, keys.FOLD: split_name}))
    return pd.concat(frames, ignore_index=True)


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
