"""The ionic section of the results page (:mod:`matdisco.core.report`): the out-of-fold scores of every
predictor with their paired differences and calibrated intervals (``metrics/ionic/evaluate.json``, laid out
by :func:`matdisco.ionic.evaluate.evaluate_metrics`), the screening summary and verdict counts
(``metrics/ionic/screening.json``, :func:`matdisco.ionic.generate.screening_metrics`) and the talk's
figures next to ours. Keys come from :mod:`matdisco.ionic.keys`; ln sigma with sigma in S/m.
"""

from __future__ import annotations

from matdisco.core.report import NOT_COMPUTED, Published, Table, dig, fmt, fmt_interval, fmt_pair, fmt_pm
from matdisco.ionic import keys

HEADING = "Ionic liquids: conductivity ln(sigma) from atom types and graphs"
EVALUATE = "metrics/ionic/evaluate.json"
SCREENING = "metrics/ionic/screening.json"
TALK = "M. Uhrin, talk \u201cMachine learning for materials discovery\u201d"

PUBLISHED = [
    Published(
        f"sigma at 298 K of the talk's top prediction {label} (S/m)",
        f"{sigma:.2f}",
        TALK,
        (SCREENING, (keys.TALK_REFERENCE_PAIRS, label, keys.PRED_SIGMA_S_PER_M), "f2"),
    )
    for label, sigma in (
        ("dicyanamide + pyrrolidin-1-ium", 4.39),
        ("dicyanamide + dimethyl(prop-2-enyl)azanium", 3.30),
        ("nitrate + dimethyl(prop-2-enyl)azanium", 2.93),
        ("dicyanamide + dimethyl(propyl)azanium", 2.68),
        ("thiocyanate + pyrrolidin-1-ium", 2.60),
    )
]
"""The talk's top predictions (conf/data/ionic.yaml screening.reference_pairs; a test keeps them equal)."""

PREDICTORS = (
    "temperature_only",
    "ion_identity",
    "ridge_additive",
    "walden_ridge",
    "gbm_descriptors",
    "ionic_additive",
    "ionic_gnn",
)
"""Predictors expected in ``metrics/ionic/evaluate.json`` (conf/data/ionic.yaml evaluate.baselines + models),
listed as not computed when the file lacks them."""
SCORES = {
    "rmse_ln": "RMSE",
    "mae_ln": "MAE",
    "per_il_rmse_ln": "per-IL RMSE",
    keys.R2_AT_REFERENCE_T: "R\u00b2 across ILs, T_ref",
    keys.SPEARMAN_AT_REFERENCE_T: "Spearman across ILs, T_ref",
    "r2_ln_lambda": "R\u00b2 ln \u039b",
}
"""Out-of-fold metrics of ``predictors.<name>.out_of_fold`` (and of ``differences``) shown, with their column labels."""
P_BETTER = ("rmse_ln", keys.SPEARMAN_AT_REFERENCE_T)


def tables(metrics: dict) -> list[Table]:
    """Out-of-fold scores of every predictor, the paired model-minus-baseline differences and the calibrated
    intervals (``metrics/ionic/evaluate.json``), and the screening summary and verdict counts (``screening.json``)."""
    evaluate = metrics.get(EVALUATE)
    return [
        scores_table(evaluate),
        differences_table(evaluate),
        calibration_table(evaluate),
        *screening_tables(metrics.get(SCREENING)),
    ]


def calibration_table(evaluate: object) -> Table:
    """One row per predictor: conformal half-widths per class and the held-out coverage of its intervals."""
    calibration = dig(evaluate, (keys.CALIBRATION,)) or {}
    level = dig(calibration, ("level",))
    table = Table(
        f"Calibrated {fmt(level, 'pct')} intervals: coverage on held-out ILs (value [95 % interval, ILs resampled])",
        [
            "predictor",
            "half-width, both ions seen (ln)",
            "half-width, an ion unseen (ln)",
            "coverage, points",
            "coverage, ILs",
            "coverage, ILs with an unseen ion",
        ],
        note="Split-conformal over whole ILs (ionic/calibration.py): each fold's ILs judged with widths from the other "
        "folds' out-of-fold errors; `matdisco predict ionic` states these intervals.",
    )
    for name, entry in calibration.items():
        if not isinstance(entry, dict) or keys.HALF_WIDTH_LN not in entry:
            continue
        coverage = dig(entry, ("coverage",))
        table.rows.append(
            [
                name,
                fmt(dig(entry, (keys.HALF_WIDTH_LN, "seen")), "f2"),
                fmt(dig(entry, (keys.HALF_WIDTH_LN, "unseen_ion")), "f2"),
                fmt_interval(dig(coverage, ("all", "points")), "pct"),
                fmt_interval(dig(coverage, ("all", "ils")), "pct"),
                fmt_interval(dig(coverage, ("unseen_ion", "ils")), "pct"),
            ]
        )
    if not table.rows:
        table.rows.append([NOT_COMPUTED] * len(table.header))
    return table


def _count(counts: object, key: str, kind: str = "int") -> str:
    """One number of ``counts`` as text."""
    return fmt(dig(counts, (key,)), kind)


def scores_table(evaluate: object) -> Table:
    """One row per predictor: k-fold RMSE (mean +- std over folds) and the out-of-fold metrics with intervals."""
    counts = dig(evaluate, (keys.COUNTS,))
    literature = dig(evaluate, (keys.LITERATURE,))
    table = Table(
        "Held-out ILs, out of fold: every model and baseline on identical points "
        "(ln sigma, sigma in S/m; value [95 % interval, ILs resampled])",
        ["predictor", "kind", "k-fold RMSE", *SCORES.values()],
        note=f"{_count(counts, keys.N_POINTS)} points of {_count(counts, keys.N_ILS)} ILs over "
        f"{_count(counts, keys.N_FOLDS)} IL-grouped folds; across-IL columns: {_count(counts, keys.N_ILS_AT_REFERENCE_T)} "
        f"ILs within {_count(counts, keys.WINDOW_K, 'f0')} K of T_ref = {_count(counts, keys.REFERENCE_TEMPERATURE_K, 'f2')} K; "
        f"ln \u039b: {_count(counts, keys.N_POINTS_LAMBDA)} points of {_count(counts, keys.N_ILS_LAMBDA)} ILs with a density; "
        f"{_count(counts, keys.N_RESAMPLES)} resamples; {_count(counts, keys.N_ILS_EXCLUDED_UNSEEN_TYPES)} "
        f"IL(s) left out for atom types unseen in training. Literature (other data and split): "
        f"{fmt(dig(literature, ('reference',)), 'text')}: R\u00b2 of \u039b {fmt(dig(literature, ('r2_nernst_einstein',)), 'f2')} "
        f"(Nernst-Einstein), {fmt(dig(literature, ('r2_best_ml',)), 'text')} (best ML).",
    )
    predictors = dig(evaluate, (keys.PREDICTORS,)) or {}
    for name in [*predictors, *(n for n in PREDICTORS if n not in predictors)]:
        entry = predictors.get(name)
        table.rows.append(
            [
                name,
                fmt(dig(entry, (keys.KIND,)), "text"),
                fmt_pm(dig(entry, ("kfold", "rmse_mean")), dig(entry, ("kfold", "rmse_std"))),
                *(fmt_interval(dig(entry, (keys.OUT_OF_FOLD, metric))) for metric in SCORES),
            ]
        )
    return table


def differences_table(evaluate: object) -> Table:
    """One row per (model, reference) pair of ``differences``: the difference with its interval, P(model better)."""
    table = Table(
        "Paired differences, model minus reference (same IL draws; P: fraction of draws where the model is better)",
        [
            "model \u2212 reference",
            *SCORES.values(),
            *(f"P(better {SCORES[metric]})" for metric in P_BETTER),
        ],
    )
    differences = dig(evaluate, (keys.DIFFERENCES,)) or {NOT_COMPUTED: {}}
    for name, entry in differences.items():
        table.rows.append(
            [
                name.replace("_minus_", " \u2212 "),
                *(fmt_interval(dig(entry, (metric,)), signed=True) for metric in SCORES),
                *(fmt(dig(entry, (metric, "p_model_better")), "f2") for metric in P_BETTER),
            ]
        )
    return table


MELTING_ROWS = (
    ("ridge", "model (ridge)"),
    ("mean", "baseline: training mean"),
    ("cation_family_mean", "baseline: cation-family mean"),
)
"""Predictors of the melting-point CV (``melting_cv``), with their row labels."""


def screening_tables(screening: object) -> list[Table]:
    """The screening summary (ranking model, top pair, melting-point model against its baselines) and the verdict counts."""
    melting = dig(screening, (keys.MELTING_CV,))
    liquid = dig(melting, ("liquid_verdict",))
    summary = Table(
        "Screening of unmeasured cation x anion pairs",
        ["quantity", "value"],
        [
            ["ranking model", fmt(dig(screening, (keys.MODEL,)), "text")],
            ["model, fitted on", fmt(dig(screening, (keys.MODEL_DESCRIPTION,)), "text")],
            ["temperature (K)", fmt(dig(screening, (keys.TEMPERATURE_K,)), "f2")],
            ["candidate pairs", fmt(dig(screening, ("n_pairs",)), "int")],
            ["pairs passing every verdict (ranked)", fmt(dig(screening, ("n_passing_all",)), "int")],
            ["top pair", fmt(dig(screening, (keys.TOP_PAIR,)), "text")],
            ["its predicted sigma (S/m)", fmt(dig(screening, (keys.TOP_SIGMA_S_PER_M,)), "f2")],
            *(
                [
                    f"melting-point {label}, {fmt(dig(melting, ('n_folds',)), 'int')}-fold CV RMSE (K)",
                    fmt(dig(melting, (name, "rmse_K")), "f1"),
                ]
                for name, label in MELTING_ROWS
            ),
            [
                "liquid verdict precision / recall (out of fold)",
                fmt_pair(dig(liquid, ("precision",)), dig(liquid, ("recall",))),
            ],
        ],
    )
    passing = dig(screening, ("passing",)) or {NOT_COMPUTED: None}
    verdicts = Table(
        "Screening verdicts: candidate pairs passing and failing each",
        ["verdict", "passing", "failing"],
        [[name, fmt(count, "int"), fmt(dig(screening, ("failing", name)), "int")] for name, count in passing.items()],
        note=f"Protic pairs: {fmt(dig(screening, ('n_protic',)), 'int')} ({fmt(dig(screening, ('n_protic_passing_all',)), 'int')} "
        f"passing every verdict); resting on a single-point ion: {fmt(dig(screening, ('n_single_point_ion',)), 'int')}; above the "
        f"measured sigma range: {fmt(dig(screening, ('n_capped_at_sigma_range',)), 'int')}; without a prediction: "
        f"{fmt(dig(screening, ('n_without_prediction',)), 'int')}.",
    )
    verdicts.rows.append(["every verdict", fmt(dig(screening, ("n_passing_all",)), "int"), _n_failing_some(screening)])
    return [summary, verdicts]


def _n_failing_some(screening: object) -> str:
    """Pairs failing at least one verdict (``n_pairs - n_passing_all``) as an integer cell."""
    n_pairs, n_passing = dig(screening, ("n_pairs",)), dig(screening, ("n_passing_all",))
    if NOT_COMPUTED in (fmt(n_pairs, "int"), fmt(n_passing, "int")):
        return NOT_COMPUTED
    return fmt(n_pairs - n_passing, "int")
