"""``ionic_evaluate``: held-out-IL metrics of every model and baseline on identical splits.

Reads the curated points, the splits, every model of ``data.evaluate.models`` and the shipped
densities (salty-ilthermo ``density.csv``, for molar conductivity); fits the baselines of
:mod:`matdisco.ionic.baselines` (and :mod:`matdisco.ionic.walden`, on ``viscosity.csv``) on each split's training ILs; scores everything with
:mod:`matdisco.ionic.scoring`. Writes metrics/ionic/evaluate.json, plots/ionic/parity.png and
oof_predictions.csv, results/ionic/per_il_errors.csv and results/ionic/model_comparison.md; the
scores are also split by how many of each held-out IL's ions its fold trained on (``applicability``),
and every predictor gets conformal interval half-widths with their held-out coverage
(``calibration``, :mod:`matdisco.ionic.calibration`; ``predict`` states these intervals).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from matdisco.core.config import artifact
from matdisco.core.errors import ConfigError
from matdisco.core.io import atomic_path, atomic_write_json, atomic_write_text
from matdisco.core.metrics import group_resamples
from matdisco.core.plots import parity_plot
from matdisco.ionic import keys
from matdisco.ionic.baselines import BASELINES, ion_keys
from matdisco.ionic.calibration import calibration_report, spread_coverage
from matdisco.ionic.data import load_points, load_splits, model_dir, salt_graphs
from matdisco.ionic.density import snapshot_density_lines
from matdisco.ionic.descriptors import GBM, descriptor_gbm
from matdisco.ionic.molar_volume import attach_ln_concentration, concentration_model
from matdisco.ionic.prediction import Ensemble, predict_points
from matdisco.ionic.scoring import (
    LN_LAMBDA_OFFSET,
    POINT_KEY,
    ILScorer,
    applicability_summary,
    at_reference_temperature,
    common_points,
    comparison_markdown,
    fold_metrics,
    interval_summary,
    ion_coverage,
    ln_lambda_offsets,
    per_il_errors,
    wide_out_of_fold,
)
from matdisco.ionic.splits import named_splits
from matdisco.ionic.walden import WALDEN, snapshot_walden_ridge

UMANA_2025 = {
    "reference": "Umana, Cashen, Zavala, Gebbie, Digital Discovery 4, 1423-1436 (2025)",
    "r2_nernst_einstein": 0.72,
    "r2_best_ml": "0.76-0.77",
}


def baseline_predictors(cfg) -> dict:
    """Name -> predict function of every baseline in ``data.evaluate.baselines``
    (``walden_ridge`` is built on the shipped viscosities, ``gbm_descriptors`` on RDKit descriptors)."""
    names = list(cfg.data.evaluate.baselines)
    known = {*BASELINES, WALDEN, GBM}
    unknown = sorted(set(names) - known)
    if unknown:
        raise ConfigError(f"data.evaluate.baselines: unknown {unknown} (known: {sorted(known)})")
    functions = dict(BASELINES)
    if WALDEN in names:
        functions[WALDEN] = snapshot_walden_ridge(cfg.data.evaluate.walden, str(cfg.data.typing.scheme))
    if GBM in names:
        functions[GBM] = descriptor_gbm(cfg)
    return {name: functions[name] for name in names}


def held_out_predictions(cfg, points: pd.DataFrame, graphs: dict, splits: dict) -> pd.DataFrame:
    """Test-set predictions of every baseline and model on every split, stacked (long form)."""
    settings = cfg.data.evaluate
    baselines = baseline_predictors(cfg)
    frames = []
    for split_name, split in tqdm(named_splits(splits), desc="evaluate splits", unit="split"):
        test = points[points[keys.IL_ID].isin(split["test"])]
        train = points[points[keys.IL_ID].isin(split["train"] + split["val"])]
        for name in settings.baselines:
            prediction = baselines[name](
                train,
                test,
                graphs,
                float(settings.baseline_alpha[name]),
                float(settings.baseline_temperature_reference_K),
            )
            frames.append(prediction.assign(**{keys.MODEL: name, keys.FOLD: split_name}))
        for model_name in settings.models:
            ensemble = Ensemble.load(model_dir(cfg, model_name) / split_name)
            frames.append(
                predict_points(ensemble, test, graphs).assign(**{keys.MODEL: model_name, keys.FOLD: split_name})
            )
    predictions = pd.concat(frames, ignore_index=True)
    return pd.concat([predictions, *blend_predictions(predictions, settings.blends)], ignore_index=True)


def blend_predictions(predictions: pd.DataFrame, blends) -> list[pd.DataFrame]:
    """Rows of every blend of ``data.evaluate.blends`` (name -> predictors): the unweighted mean of its
    predictors' ln sigma on each point (fixed weights, nothing fitted on held-out ILs); NaN where any
    member has none. The spread column is 0 (calibration gives the intervals)."""
    frames = []
    for name, members in (blends or {}).items():
        missing = sorted(set(members) - set(predictions[keys.MODEL]))
        if missing:
            raise ConfigError(
                f"data.evaluate.blends.{name}: {missing} not among the evaluated predictors "
                "(data.evaluate.baselines and models)"
            )
        rows = predictions[predictions[keys.MODEL].isin(list(members))]
        mean = rows.groupby([*POINT_KEY], sort=False)[keys.PRED_LN_SIGMA].agg(
            lambda values: values.mean() if values.notna().sum() == len(members) else np.nan
        )
        first = rows[rows[keys.MODEL] == members[0]].drop(columns=[keys.PRED_LN_SIGMA])
        blended = first.merge(mean.reset_index(), on=POINT_KEY, how="left", validate="one_to_one")
        frames.append(blended.assign(**{keys.MODEL: name, keys.PRED_LN_SIGMA_STD: 0.0, keys.UNSEEN_TYPES: ""}))
    return frames


def _ion_keys_of_il(points: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """IL id -> (cation InChIKey, anion InChIKey)."""
    ils = points.drop_duplicates(keys.IL_ID)
    cation, anion = ion_keys(ils)
    return dict(zip(ils[keys.IL_ID], zip(cation, anion)))


def _training_ils(splits: dict) -> dict[str, list[str]]:
    """Split name -> the IL ids its models and baselines were fitted on (train + val)."""
    return {name: split["train"] + split["val"] for name, split in named_splits(splits)}


def evaluate(cfg) -> dict:
    """Score every baseline and model of ``data.evaluate`` on held-out ILs (see the module docstring)."""
    settings = cfg.data.evaluate
    points = load_points(cfg)
    lines = snapshot_density_lines(cfg.data.density)
    points = points.assign(
        **{LN_LAMBDA_OFFSET: ln_lambda_offsets(points, lines, float(settings.lambda_extrapolation_K))}
    )
    volumes, volume_errors = concentration_model(cfg.data.density.molar_volume, int(cfg.seed), points, lines)
    graphs = attach_ln_concentration(salt_graphs(points, cfg.data.typing.scheme), points, volumes)
    splits = load_splits(cfg)
    predictions = held_out_predictions(cfg, points, graphs, splits)
    scored = common_points(predictions)
    excluded = sorted(set(predictions[keys.SALT_NAME]) - set(scored[keys.SALT_NAME]))
    predictors = list(settings.baselines) + list(settings.models) + list(settings.blends or {})
    wide = wide_out_of_fold(scored)
    reference = settings.across_ils
    at_reference = at_reference_temperature(wide, predictors, float(reference.temperature_K), float(reference.window_K))
    scorer = ILScorer(wide, at_reference, predictors)
    draws = group_resamples(len(scorer.ils), int(settings.bootstrap.n_resamples), int(cfg.seed))
    values, differences = interval_summary(scorer, draws, list(settings.baselines))
    folds = fold_metrics(scored)
    coverage = ion_coverage(wide, _ion_keys_of_il(points), _training_ils(splits))
    has_density = np.isfinite(wide[LN_LAMBDA_OFFSET])
    report = evaluate_metrics(
        predictor_entries(values, folds, predictors, list(settings.baselines)),
        differences,
        applicability_summary(
            wide,
            at_reference,
            predictors,
            list(settings.baselines),
            coverage,
            int(settings.bootstrap.n_resamples),
            int(cfg.seed),
        ),
        evaluate_counts(
            n_folds=len(splits["folds"]),
            n_points=len(wide),
            n_ils=len(scorer.ils),
            n_ils_at_reference_T=len(at_reference),
            reference_temperature_K=float(reference.temperature_K),
            window_K=float(reference.window_K),
            n_points_lambda=int(has_density.sum()),
            n_ils_lambda=int(wide.loc[has_density, keys.IL_ID].nunique()),
            n_resamples=int(settings.bootstrap.n_resamples),
            n_ils_excluded_unseen_types=len(excluded),
        ),
        _calibration(cfg, scored, wide, predictors, coverage),
        volume_errors,
    )
    atomic_write_json(artifact(cfg, "metrics", "ionic", "evaluate.json"), report)
    _write_tables(cfg, scored, report, excluded)
    return {
        name: {
            "rmse_ln": values[name]["rmse_ln"]["value"],
            keys.R2_AT_REFERENCE_T: values[name][keys.R2_AT_REFERENCE_T]["value"],
        }
        for name in predictors
    }


def predictor_entries(values: dict, folds: dict, predictors: list[str], baselines: list[str]) -> dict:
    """``predictors`` of metrics/ionic/evaluate.json: per predictor its kind, its out-of-fold metrics with
    intervals (``values`` of :func:`~matdisco.ionic.scoring.interval_summary`) and its k-fold summary
    (``folds`` of :func:`~matdisco.ionic.scoring.fold_metrics`)."""
    return {
        name: {
            keys.KIND: "baseline" if name in baselines else "model",
            keys.OUT_OF_FOLD: values[name],
            **folds[name],
        }
        for name in predictors
    }


def evaluate_counts(
    *,
    n_folds: int,
    n_points: int,
    n_ils: int,
    n_ils_at_reference_T: int,
    reference_temperature_K: float,
    window_K: float,
    n_points_lambda: int,
    n_ils_lambda: int,
    n_resamples: int,
    n_ils_excluded_unseen_types: int,
) -> dict:
    """``counts`` of metrics/ionic/evaluate.json: the numbers behind every score (temperatures in K)."""
    return {
        keys.N_FOLDS: n_folds,
        keys.N_POINTS: n_points,
        keys.N_ILS: n_ils,
        keys.N_ILS_AT_REFERENCE_T: n_ils_at_reference_T,
        keys.REFERENCE_TEMPERATURE_K: reference_temperature_K,
        keys.WINDOW_K: window_K,
        keys.N_POINTS_LAMBDA: n_points_lambda,
        keys.N_ILS_LAMBDA: n_ils_lambda,
        keys.N_RESAMPLES: n_resamples,
        keys.N_ILS_EXCLUDED_UNSEEN_TYPES: n_ils_excluded_unseen_types,
    }


def evaluate_metrics(
    predictors: dict, differences: dict, applicability: dict, counts: dict, calibration: dict, molar_volume_model: dict
) -> dict:
    """The layout of metrics/ionic/evaluate.json (the one place it is built; the results page,
    :mod:`matdisco.ionic.page`, reads it): ``predictors`` from :func:`predictor_entries`, paired
    ``differences`` (:func:`~matdisco.ionic.scoring.interval_summary`), ``applicability``
    (:func:`~matdisco.ionic.scoring.applicability_summary`), ``counts`` from :func:`evaluate_counts`,
    ``calibration`` and the molar-volume model's errors, and the literature figures (:data:`UMANA_2025`)."""
    return {
        keys.PREDICTORS: predictors,
        keys.DIFFERENCES: differences,
        keys.APPLICABILITY: applicability,
        keys.COUNTS: counts,
        keys.CALIBRATION: calibration,
        keys.MOLAR_VOLUME_MODEL: molar_volume_model,
        keys.LITERATURE: UMANA_2025,
    }


def _calibration(cfg, scored: pd.DataFrame, wide: pd.DataFrame, predictors: list[str], coverage: pd.Series) -> dict:
    """Conformal half-widths and their cross-conformal coverage for every predictor
    (:mod:`matdisco.ionic.calibration`), and the coverage of each model's uncalibrated ensemble spread."""
    settings = cfg.data.evaluate
    level, n_resamples = float(settings.calibration.level), int(settings.bootstrap.n_resamples)
    report = calibration_report(wide, predictors, coverage, level, n_resamples, int(cfg.seed))
    oof = scored[scored[keys.FOLD] != "default"]
    report["ensemble_spread"] = {
        name: spread_coverage(oof[oof[keys.MODEL] == name], level, n_resamples, int(cfg.seed))
        for name in settings.models
    }
    return report


def _write_tables(cfg, scored: pd.DataFrame, report: dict, excluded: list[str]) -> None:
    """Out-of-fold predictions and parity plot, per-IL errors and the comparison page."""
    oof = scored[scored[keys.FOLD] != "default"][
        [
            keys.MODEL,
            keys.FOLD,
            keys.IL_ID,
            keys.TEMPERATURE_K,
            keys.LN_SIGMA,
            keys.PRED_LN_SIGMA,
            keys.PRED_LN_SIGMA_STD,
        ]
    ]
    with atomic_path(artifact(cfg, "plots", "ionic", "oof_predictions.csv")) as tmp:
        oof.to_csv(tmp, index=False)
    parity_plot(
        artifact(cfg, "plots", "ionic", "parity.png"),
        oof[keys.LN_SIGMA],
        oof[keys.PRED_LN_SIGMA],
        "ln(sigma / S m^-1)",
        groups=oof[keys.MODEL],
        title="held-out ILs, out-of-fold",
    )
    errors = per_il_errors(scored)
    with atomic_path(artifact(cfg, "results", "ionic", "per_il_errors.csv")) as tmp:
        errors.to_csv(tmp, index=False)
    worst = errors[errors[keys.MODEL].isin([*cfg.data.evaluate.models, *(cfg.data.evaluate.blends or {})])]
    atomic_write_text(
        artifact(cfg, "results", "ionic", "model_comparison.md"),
        comparison_markdown(report, excluded, worst, int(cfg.data.evaluate.worst_ils)),
    )
