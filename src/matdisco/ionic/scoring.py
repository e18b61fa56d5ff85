"""Held-out-IL scores of the ionic models and baselines: common points, out-of-fold metrics with
IL-bootstrap intervals, paired differences, the across-IL table at the reference temperature and the comparison report.

Over the grouped folds every IL is held out exactly once, so the out-of-fold predictions cover the
whole data set once. Every predictor is scored on the points that all of them predict (the
additive models cannot predict ILs with atom types unseen in their training ILs; those ILs are
counted and listed).

Metrics (ln sigma, sigma in S/m; from the pooled out-of-fold points):
- ``rmse_ln``, ``mae_ln``, ``r2_ln``: over points (ILs with many temperatures weigh more);
- ``per_il_rmse_ln``: sqrt of the mean over ILs of each IL's mean squared error (every IL once);
- ``r2_at_reference_T``, ``spearman_at_reference_T`` (keys.R2_AT_REFERENCE_T, keys.SPEARMAN_AT_REFERENCE_T):
  across ILs at the reference temperature (``data.evaluate.across_ils.temperature_K``): ILs with points within
  ``window_K`` of it, one value per IL (the mean over its points at the temperature nearest the
  reference); the screening task is this ranking;
- ``r2_ln_lambda``, ``r2_lambda``: molar conductivity Lambda = sigma M / rho (S cm^2/mol) on the
  points with a density, in ln and linear form (the errors of ln Lambda equal those of ln sigma; its
  spread across ILs differs).
Intervals: 2.5 / 97.5 percentiles over resamples of whole ILs (all points of a drawn IL move
together; the reference-temperature table and the Lambda points follow the same draws, so differences are paired).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from matdisco.core.metrics import (
    difference_interval,
    group_resamples,
    interval,
    interval_text,
    regression_metrics,
    summarise_folds,
)
from matdisco.ionic import keys
from matdisco.ionic.calibration import calibration_lines
from matdisco.ionic.density import DensityLine, molar_mass_g_per_mol

POINT_KEY = [keys.FOLD, keys.IL_ID, keys.TEMPERATURE_K, keys.SIGMA_S_PER_M, keys.PRESSURE_KPA]
LN_LAMBDA_OFFSET = "ln_lambda_offset"  # ln(Lambda / sigma) = ln(0.01 M / rho), Lambda in S cm^2/mol, sigma in S/m
LOWER_IS_BETTER = ("rmse_ln", "mae_ln", "per_il_rmse_ln")
HIGHER_IS_BETTER = ("r2_ln", keys.R2_AT_REFERENCE_T, keys.SPEARMAN_AT_REFERENCE_T, "r2_ln_lambda", "r2_lambda")
METRICS = LOWER_IS_BETTER + HIGHER_IS_BETTER


def common_points(predictions: pd.DataFrame) -> pd.DataFrame:
    """Rows of points that every model predicted (finite), so all models are scored on the same set."""
    ok = predictions.assign(ok=np.isfinite(predictions[keys.PRED_LN_SIGMA])).groupby(POINT_KEY)["ok"].transform("all")
    return predictions[ok]


def ln_lambda_offsets(points: pd.DataFrame, lines: dict[str, DensityLine], margin_K: float) -> pd.Series:
    """ln(Lambda / sigma) = ln(0.01 M / rho(T)) per point (Lambda in S cm^2/mol, sigma in S/m);
    NaN where the IL (matched by salt name) has no density line or the point lies more than
    ``margin_K`` outside the line's measured temperatures."""
    molar_mass = {salt: molar_mass_g_per_mol(salt) for salt in points[keys.SALT_SMILES].unique()}
    offsets = np.full(len(points), np.nan)
    for row, (name, salt, temperature_K) in enumerate(
        zip(points[keys.SALT_NAME], points[keys.SALT_SMILES], points[keys.TEMPERATURE_K])
    ):
        line = lines.get(name)
        if line is not None and line.t_min_K - margin_K <= temperature_K <= line.t_max_K + margin_K:
            offsets[row] = np.log(0.01 * molar_mass[salt] / float(line.at(temperature_K)))
    return pd.Series(offsets, index=points.index, name=LN_LAMBDA_OFFSET)


def wide_out_of_fold(scored: pd.DataFrame) -> pd.DataFrame:
    """One row per out-of-fold point: POINT_KEY, ln_sigma, the Lambda offset and one column per model."""
    folds = scored[scored[keys.FOLD] != "default"]
    point_info = folds.drop_duplicates(POINT_KEY)[POINT_KEY + [keys.LN_SIGMA, LN_LAMBDA_OFFSET]]
    predictions = folds.pivot_table(
        index=POINT_KEY, columns=keys.MODEL, values=keys.PRED_LN_SIGMA, aggfunc="first"
    ).reset_index()
    return point_info.merge(predictions, on=POINT_KEY, how="inner", validate="one_to_one")


def at_reference_temperature(
    wide: pd.DataFrame, models: list[str], temperature_K: float, window_K: float
) -> pd.DataFrame:
    """One row per IL with points within ``window_K`` of ``temperature_K``: the mean measured and
    predicted ln sigma over its points at the temperature nearest ``temperature_K``."""
    distance = (wide[keys.TEMPERATURE_K] - temperature_K).abs()
    near = wide[distance <= window_K].assign(distance=distance)
    nearest = near[near["distance"] == near.groupby(keys.IL_ID)["distance"].transform("min")]
    return nearest.groupby(keys.IL_ID, sort=True)[[keys.TEMPERATURE_K, keys.LN_SIGMA, *models]].mean().reset_index()


class ILScorer:
    """Every metric of every model for any multiset of ILs (a bootstrap draw), from per-IL sums.

    Built from the wide out-of-fold table and the across-IL reference-temperature table; ``scores``
    takes IL indices [n_draw] into ``self.ils`` and returns metric -> [n_models].
    """

    def __init__(self, wide: pd.DataFrame, at_reference: pd.DataFrame, models: list[str]):
        self.models = list(models)
        self.ils = np.array(sorted(wide[keys.IL_ID].unique()))
        il_index = pd.Index(self.ils)
        group = il_index.get_indexer(wide[keys.IL_ID])
        y = wide[keys.LN_SIGMA].to_numpy(float)
        error = wide[self.models].to_numpy(float) - y[:, None]
        offset = wide[LN_LAMBDA_OFFSET].to_numpy(float)
        has_density = np.isfinite(offset)
        ln_lambda = y + offset
        lam = np.exp(ln_lambda[has_density])
        lam_error = np.exp(wide[self.models].to_numpy(float)[has_density] + offset[has_density, None]) - lam[:, None]

        def per_il(values: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
            """Sum of ``values`` ([n] or [n, m]) per IL over ``rows`` (a mask; all rows if None)."""
            g = group if rows is None else group[rows]
            out = np.zeros((len(self.ils),) + values.shape[1:])
            np.add.at(out, g, values)
            return out

        self.n = per_il(np.ones(len(y)))
        self.sum_y, self.sum_y2 = per_il(y), per_il(y**2)
        self.sse, self.sae = per_il(error**2), per_il(np.abs(error))
        self.n_lambda = per_il(np.ones(int(has_density.sum())), has_density)
        self.sum_ln_lambda = per_il(ln_lambda[has_density], has_density)
        self.sum_ln_lambda2 = per_il(ln_lambda[has_density] ** 2, has_density)
        self.sse_lambda_ln = per_il(error[has_density] ** 2, has_density)
        self.sum_lambda, self.sum_lambda2 = per_il(lam, has_density), per_il(lam**2, has_density)
        self.sse_lambda = per_il(lam_error**2, has_density)
        self.reference_row = pd.Index(at_reference[keys.IL_ID]).get_indexer(
            self.ils
        )  # [n_ils], -1: no point near T_ref
        self.y_reference = at_reference[keys.LN_SIGMA].to_numpy(float)
        self.pred_reference = at_reference[self.models].to_numpy(float)

    def scores(self, draw: np.ndarray) -> dict[str, np.ndarray]:
        """Metric -> value per model [n_models] on the ILs ``draw`` (indices into ``self.ils``, repeats
        allowed); NaN where the draw cannot define a metric (e.g. R^2 of one value)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._scores(draw)

    def _scores(self, draw: np.ndarray) -> dict[str, np.ndarray]:
        n, sse = self.n[draw].sum(), self.sse[draw].sum(axis=0)
        out = {
            "rmse_ln": np.sqrt(sse / n),
            "mae_ln": self.sae[draw].sum(axis=0) / n,
            "per_il_rmse_ln": np.sqrt(np.mean(self.sse[draw] / self.n[draw, None], axis=0)),
            "r2_ln": 1.0 - sse / _total_sum_of_squares(self.sum_y[draw].sum(), self.sum_y2[draw].sum(), n),
            "r2_ln_lambda": 1.0
            - self.sse_lambda_ln[draw].sum(axis=0)
            / _total_sum_of_squares(
                self.sum_ln_lambda[draw].sum(), self.sum_ln_lambda2[draw].sum(), self.n_lambda[draw].sum()
            ),
            "r2_lambda": 1.0
            - self.sse_lambda[draw].sum(axis=0)
            / _total_sum_of_squares(
                self.sum_lambda[draw].sum(), self.sum_lambda2[draw].sum(), self.n_lambda[draw].sum()
            ),
        }
        rows = self.reference_row[draw]
        rows = rows[rows >= 0]
        out[keys.R2_AT_REFERENCE_T] = np.array(
            [r2_score(self.y_reference[rows], self.pred_reference[rows, m]) for m in range(len(self.models))]
        )
        out[keys.SPEARMAN_AT_REFERENCE_T] = np.array(
            [spearman(self.y_reference[rows], self.pred_reference[rows, m]) for m in range(len(self.models))]
        )
        return out


def _total_sum_of_squares(sum_y: float, sum_y2: float, n: float) -> float:
    """sum (y - mean y)^2 from the sums; NaN where fewer than two values."""
    total = sum_y2 - sum_y**2 / n if n > 1 else float("nan")
    return total if total > 1e-12 * max(sum_y2, 1.0) else float("nan")


def r2_score(y: np.ndarray, pred: np.ndarray) -> float:
    """1 - SSE / SST over [n] values; NaN for fewer than two distinct values of ``y``."""
    if len(y) < 2 or np.ptp(y) == 0:
        return float("nan")
    return float(1.0 - np.sum((pred - y) ** 2) / np.sum((y - y.mean()) ** 2))


def spearman(y: np.ndarray, pred: np.ndarray) -> float:
    """Spearman rank correlation of [n] values (average ranks for ties); NaN when either is constant."""
    if len(y) < 2 or np.ptp(y) == 0 or np.ptp(pred) == 0:
        return float("nan")
    return float(np.corrcoef(rankdata(y), rankdata(pred))[0, 1])


def interval_summary(scorer: ILScorer, draws: np.ndarray, baselines: list[str]) -> tuple[dict, dict]:
    """Per model and metric: value on all ILs and 95 % interval; per (model, reference) pair with the
    model not a baseline: difference, interval and P(model better) over the same draws.

    References of a model: every baseline and every non-baseline model listed before it.
    """
    full = scorer.scores(np.arange(len(scorer.ils)))
    samples = [scorer.scores(draw) for draw in draws]
    stacked = {metric: np.array([s[metric] for s in samples]) for metric in METRICS}  # [n_resamples, n_models]
    values = {
        model: {metric: interval(full[metric][m], stacked[metric][:, m]) for metric in METRICS}
        for m, model in enumerate(scorer.models)
    }
    differences = {}
    models = [m for m in scorer.models if m not in baselines]
    for i, model in enumerate(models):
        for reference in [b for b in baselines if b in scorer.models] + models[:i]:
            a, b = scorer.models.index(reference), scorer.models.index(model)
            differences[f"{model}_minus_{reference}"] = {
                metric: difference_interval(
                    full[metric][b] - full[metric][a],
                    stacked[metric][:, b] - stacked[metric][:, a],
                    lower_is_better=metric in LOWER_IS_BETTER,
                )
                for metric in METRICS
            }
    return values, differences


COVERAGE_METRICS = ("rmse_ln", keys.R2_AT_REFERENCE_T, keys.SPEARMAN_AT_REFERENCE_T)
COVERAGE_CLASSES = ("both", "one", "neither")  # how many of a test IL's two ions its fold trained on


def ion_coverage(
    wide: pd.DataFrame, ion_keys_of_il: dict[str, tuple[str, str]], train_ils: dict[str, list[str]]
) -> pd.Series:
    """IL id -> "both" / "one" / "neither": how many of its (cation, anion) keys occur among the
    training ILs of the fold that held it out. ``ion_keys_of_il``: IL id -> (cation key, anion key);
    ``train_ils``: fold name -> the IL ids it trained on (train + val)."""
    coverage = {}
    for fold, rows in wide.groupby(keys.FOLD):
        seen = {key for il in train_ils[fold] for key in ion_keys_of_il[il]}
        for il in rows[keys.IL_ID].unique():
            n_seen = sum(key in seen for key in ion_keys_of_il[il])
            coverage[il] = COVERAGE_CLASSES[2 - n_seen]
    return pd.Series(coverage, name="ion_coverage")


def applicability_summary(
    wide: pd.DataFrame,
    at_reference: pd.DataFrame,
    predictors: list[str],
    baselines: list[str],
    coverage: pd.Series,
    draws_per_class: int,
    seed: int,
) -> dict:
    """Per coverage class: counts, each predictor's ``COVERAGE_METRICS`` with IL-bootstrap intervals,
    and the paired differences of the models against every baseline (as :func:`interval_summary`,
    restricted to the class's ILs)."""
    summary = {}
    for label in COVERAGE_CLASSES:
        ils = set(coverage.index[coverage == label])
        sub_wide = wide[wide[keys.IL_ID].isin(ils)]
        sub_reference = at_reference[at_reference[keys.IL_ID].isin(ils)]
        entry = {"n_ils": len(ils), "n_points": len(sub_wide), keys.N_ILS_AT_REFERENCE_T: len(sub_reference)}
        if len(ils) >= 2:
            scorer = ILScorer(sub_wide, sub_reference, predictors)
            values, differences = interval_summary(scorer, group_resamples(len(ils), draws_per_class, seed), baselines)
            entry["predictors"] = {p: {m: values[p][m] for m in COVERAGE_METRICS} for p in predictors}
            entry["differences"] = {d: {m: v[m] for m in COVERAGE_METRICS} for d, v in differences.items()}
        summary[label] = entry
    return summary


def fold_metrics(scored: pd.DataFrame) -> dict:
    """Per model: default-split test metrics and the per-fold summary (mean, std over folds)."""
    metrics = {}
    for model_name, rows in scored.groupby(keys.MODEL, sort=True):
        default = rows[rows[keys.FOLD] == "default"]
        folds = rows[rows[keys.FOLD] != "default"]
        per_fold = [regression_metrics(f[keys.LN_SIGMA], f[keys.PRED_LN_SIGMA]) for _, f in folds.groupby(keys.FOLD)]
        metrics[model_name] = {
            "default_test": regression_metrics(default[keys.LN_SIGMA], default[keys.PRED_LN_SIGMA])
            if len(default)
            else {},
            "kfold": summarise_folds(per_fold),
        }
    return metrics


def per_il_errors(scored: pd.DataFrame) -> pd.DataFrame:
    """Out-of-fold error per IL and model: n points, mean signed error, RMSE, worst first."""
    folds = scored[scored[keys.FOLD] != "default"].assign(error=lambda f: f[keys.PRED_LN_SIGMA] - f[keys.LN_SIGMA])
    table = (
        folds.groupby([keys.MODEL, keys.IL_ID, keys.SALT_NAME, keys.SALT_SMILES])
        .agg(
            n_points=("error", "size"),
            mean_error_ln=("error", "mean"),
            rmse_ln=("error", lambda e: float(np.sqrt(np.mean(e**2)))),
            mean_ln_sigma=(keys.LN_SIGMA, "mean"),
        )
        .reset_index()
    )
    return table.sort_values([keys.MODEL, "rmse_ln"], ascending=[True, False]).reset_index(drop=True)


METRIC_LABELS = {
    "rmse_ln": "out-of-fold RMSE",
    "mae_ln": "MAE",
    "per_il_rmse_ln": "per-IL RMSE",
    "r2_ln": "R^2 (points)",
    keys.R2_AT_REFERENCE_T: "R^2 across ILs, T_ref",
    keys.SPEARMAN_AT_REFERENCE_T: "Spearman across ILs, T_ref",
    "r2_ln_lambda": "R^2 ln Lambda",
    "r2_lambda": "R^2 Lambda",
}


def comparison_markdown(report: dict, excluded: list[str], worst: pd.DataFrame, n_worst: int) -> str:
    """The comparison page: one table of every model and baseline with intervals, the paired
    differences, the counts behind each metric, the excluded ILs and the worst ILs of each model."""
    counts = report["counts"]
    lines = [
        "# Ionic-liquid conductivity: held-out-IL comparison",
        "",
        f"ln(sigma / S m^-1), out of fold over {counts['n_folds']} IL-grouped folds (every IL held out once; identical points for every row): "
        f"{counts['n_points']} points of {counts['n_ils']} ILs; across-IL columns: {counts[keys.N_ILS_AT_REFERENCE_T]} ILs with points within "
        f"{counts['window_K']:g} K of T_ref = {counts[keys.REFERENCE_TEMPERATURE_K]:g} K (one value each); Lambda = sigma M / rho (S cm^2/mol): "
        f"{counts['n_points_lambda']} points of {counts['n_ils_lambda']} ILs with a density line. Brackets: 95 % intervals from "
        f"{counts['n_resamples']} resamples of whole ILs. k-fold RMSE: mean +- std over folds.",
        "",
        "| predictor | kind | k-fold RMSE | " + " | ".join(METRIC_LABELS[m] for m in METRICS) + " |",
        "|---|---|---|" + "---|" * len(METRICS),
    ]
    for name, entry in report["predictors"].items():
        kfold = entry["kfold"]
        cells = [interval_text(entry["out_of_fold"][m]) for m in METRICS]
        lines.append(
            f"| {name} | {entry['kind']} | {kfold['rmse_mean']:.3f} +- {kfold['rmse_std']:.3f} | "
            + " | ".join(cells)
            + " |"
        )
    lines += [
        "",
        "## Paired differences (model minus reference; same IL draws; P: fraction of draws where the model is better)",
        "",
        "| model - reference | "
        + " | ".join(METRIC_LABELS[m] for m in METRICS)
        + " | P(better RMSE) | P(better Spearman T_ref) |",
        "|---|" + "---|" * (len(METRICS) + 2),
    ]
    for name, entry in report["differences"].items():
        cells = [interval_text(entry[m], sign="+") for m in METRICS]
        lines.append(
            f"| {name.replace('_minus_', ' - ')} | "
            + " | ".join(cells)
            + f" | {entry['rmse_ln']['p_model_better']:.2f} | {entry[keys.SPEARMAN_AT_REFERENCE_T]['p_model_better']:.2f} |"
        )
    lines += _applicability_lines(report["applicability"])
    lines += calibration_lines(report["calibration"])
    umana = report["literature"]
    lines += [
        "",
        f"Literature (not the same data or split): {umana['reference']}: GroupKFold by IL on Lambda, R^2 {umana['r2_nernst_einstein']} "
        f"(Nernst-Einstein from measured diffusivities) and {umana['r2_best_ml']} (best ML on molecular descriptors). Their baseline uses "
        "measured ion diffusivities; ours predict from the ions alone.",
        "",
        f"{len(excluded)} IL(s) excluded for atom types unseen in training (no additive prediction):",
    ]
    lines += [f"- {il}" for il in excluded] or ["(none)"]
    for name, rows in worst.groupby(keys.MODEL, sort=True):
        lines += [
            "",
            f"## Worst held-out ILs: {name}",
            "",
            "| IL | points | RMSE (ln) | mean error (ln) | mean ln sigma |",
            "|---|---:|---:|---:|---:|",
        ]
        for _, r in rows.head(n_worst).iterrows():
            lines.append(
                f"| {r[keys.SALT_NAME]} | {r['n_points']} | {r['rmse_ln']:.2f} | {r['mean_error_ln']:+.2f} | {r['mean_ln_sigma']:.2f} |"
            )
    return "\n".join(lines) + "\n"


def _applicability_lines(applicability: dict) -> list[str]:
    """Markdown: every predictor's scores per ion-coverage class, then the models' differences."""
    lines = [
        "",
        "## By applicability: how many of the held-out IL's ions its fold trained on",
        "",
        "Same out-of-fold points, split by the test IL's ions (cation and anion, InChIKey) seen among the "
        "fold's training ILs. RMSE / R^2 T_ref / Spearman T_ref, brackets 95 % IL-bootstrap within the class.",
        "",
        "| ions seen | ILs (T_ref) | points | predictor | "
        + " | ".join(METRIC_LABELS[m] for m in COVERAGE_METRICS)
        + " |",
        "|---|---|---|---|" + "---|" * len(COVERAGE_METRICS),
    ]
    for label, entry in applicability.items():
        head = f"| {label} | {entry['n_ils']} ({entry[keys.N_ILS_AT_REFERENCE_T]}) | {entry['n_points']} |"
        if "predictors" not in entry:
            lines.append(head + " (too few ILs to score) |" + " |" * len(COVERAGE_METRICS))
            continue
        for name, values in {**entry["predictors"], **entry["differences"]}.items():
            cells = [interval_text(values[m], sign="+" if "_minus_" in name else "") for m in COVERAGE_METRICS]
            lines.append(f"{head} {name.replace('_minus_', ' - ')} | " + " | ".join(cells) + " |")
            head = "| | | |"
    return lines
