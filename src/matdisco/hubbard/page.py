"""The Hubbard section of the results page (:mod:`matdisco.core.report`): per model variant of
``metrics/hubbard/evaluate.json`` (laid out by :func:`matdisco.hubbard.evaluate.evaluate_metrics`), per
holdout, the model's MAE (eV) / MARE next to every baseline's and the model-minus-baseline MAE, all with
path-bootstrap intervals; and the paper's held-out MAREs next to ours. Keys from :mod:`matdisco.hubbard.keys`.
"""

from __future__ import annotations

from matdisco.core.config import compose
from matdisco.core.report import NOT_COMPUTED, Published, Table, dig, fmt, fmt_interval
from matdisco.hubbard import keys as K

HEADING = "Hubbard U and V from occupation matrices"
EVALUATE = "metrics/hubbard/evaluate.json"
PAPER = "M. Uhrin, G. Zadoks, L. Binci, N. Marzari, I. Timrov, npj Comput. Mater. 11, 19 (2025)"
PAPER_MARE = {"U": 0.03, "V": 0.05}
"""Mean absolute relative errors of U and V on held-out points reported in :data:`PAPER` (README quotes them)."""

PUBLISHED = [
    Published(
        f"MARE of {parameter}, held-out points (ours: {variant} on its headline holdout, data.evaluate.headline; "
        "targets at this data set's DFPT settings, not the paper's)",
        f"{100 * PAPER_MARE[parameter]:.1f} %",
        PAPER,
        (EVALUATE, (K.VARIANTS, variant, K.HEADLINE, "mare"), "pct"),
    )
    for parameter, variant in (("U", "hubbard_u"), ("V", "hubbard_v"))
]


def configured_variants() -> list[str]:
    """The variants of ``data.evaluate.variants`` (conf/data/hubbard.yaml, the one definition of them)."""
    return list(compose(["data=hubbard"]).data.evaluate.variants)


def tables(metrics: dict) -> list[Table]:
    """One table per variant of ``metrics/hubbard/evaluate.json``, then the configured variants it lacks."""
    variants = dig(metrics.get(EVALUATE), (K.VARIANTS,)) or {}
    baselines = list(
        dict.fromkeys(
            name
            for result in variants.values()
            for entry in (dig(result, (K.SCHEMES,)) or {}).values()
            for name in (dig(entry, ("predictors",)) or {})
            if name != K.MODEL_PREDICTOR
        )
    )
    names = [*variants, *(name for name in configured_variants() if name not in variants)]
    return [variant_table(name, variants.get(name), baselines) for name in names]


def variant_table(variant: str, result: object, baselines: list[str]) -> Table:
    """The holdouts of one variant: paths, rows, the model's scores and each baseline's (MAE, MARE, model minus it)."""
    skipped = dig(result, (K.SKIPPED,)) or {}
    table = Table(
        f"{variant} ({fmt(dig(result, (K.PARAMETER,)), 'text')}, target {fmt(dig(result, (K.TARGET_CHOICE,)), 'text')}): "
        "held-out errors, value [95 % interval, test paths resampled]",
        [
            "holdout",
            "paths",
            "rows",
            "model MAE (eV)",
            "model MARE",
            *(f"baseline {name}: MAE (eV)\nMARE\nmodel \u2212 it, MAE (eV)" for name in baselines),
        ],
        note="Rows: symmetry-distinct sites (pairs) per record; every predictor is fitted on the holdout's training "
        "rows and scored on its test rows (persistence on its subset, iterations >= 1); model \u2212 baseline < 0: "
        "the model is better. Targets are this data set's DFPT values, not the paper's. Folds of pooled schemes: "
        "results/hubbard/evaluation.md."
        + ("" if not skipped else " Not scored: " + "; ".join(f"{k}: {v}" for k, v in sorted(skipped.items())) + "."),
    )
    schemes = dig(result, (K.SCHEMES,)) or {K.EXTRACT_SPLIT: None}
    for holdout in headline_holdouts(schemes):
        entry = schemes[holdout]
        model = dig(entry, ("predictors", K.MODEL_PREDICTOR))
        table.rows.append(
            [
                holdout,
                fmt(dig(entry, ("n_paths",)), "int"),
                fmt(dig(entry, ("n_distinct",)), "int"),
                fmt_interval(dig(model, ("mae_eV",))),
                fmt_interval(dig(model, ("mare",)), "pct"),
                *(_baseline_cell(entry, name) for name in baselines),
            ]
        )
    return table


def headline_holdouts(schemes: dict) -> list[str]:
    """The holdouts of ``schemes`` in order, without the single folds of a scheme scored pooled
    (``<scheme> (pooled)`` stands for its folds ``<scheme>_<value>``)."""
    pooled = [name[: -len(K.POOLED)] for name in schemes if name.endswith(K.POOLED)]
    return [name for name in schemes if not any(name.startswith(f"{scheme}_") for scheme in pooled)]


def _baseline_cell(entry: object, name: str) -> str:
    """Three lines: the baseline's MAE and MARE and the model's MAE minus its (intervals); :data:`NOT_COMPUTED`
    where the holdout has no score of this baseline; ``= <other>`` where it predicts exactly what an earlier
    baseline does (``same_as`` of :func:`matdisco.hubbard.scoring.fold_metrics`)."""
    score = dig(entry, ("predictors", name))
    if score is None:
        return NOT_COMPUTED
    twin = dig(entry, ("same_as", name))
    if twin is not None:
        return f"= {twin}"
    difference = fmt_interval(dig(entry, ("model_minus_baseline", name)), signed=True)
    return "\n".join((fmt_interval(dig(score, ("mae_eV",))), fmt_interval(dig(score, ("mare",)), "pct"), difference))
