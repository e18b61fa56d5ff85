"""The results page: one static HTML file built from the committed metrics, plots and result tables.

Everything the page shows is read from files of the repository (``metrics/<study>/*.json``,
``plots/<study>[_*]/**/*.png``, ``results/<study>/*.md``) and from ``dvc exp show --json``; no
study package is imported, so the page builds on a fresh clone before anything is recomputed.
A value that a file does not hold is shown as :data:`NOT_COMPUTED`, never an error. The page has no
scripts and loads nothing from the network: plots are relative links to the committed PNGs.

Per study (:data:`STUDIES`): the headline numbers next to their baselines (tables built by
``<study>_tables``), the published figures of the talk / papers next to ours (:data:`PUBLISHED`),
the plots, the result tables, and every metric of the study (folded).
"""

from __future__ import annotations

import html
import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from matdisco.core.config import compose
from matdisco.core.io import atomic_write_text

NOT_COMPUTED = "not computed"
STUDIES = {
    "ionic": "Ionic liquids: conductivity ln(sigma) from atom types and graphs",
    "hubbard": "Hubbard U and V from occupation matrices",
    "motifs": "Amorphous-silicon motifs: a VAE of local environments",
}
"""Study name (folder under metrics/, plots/, results/) -> section heading."""

TALK = "M. Uhrin, talk \u201cMachine learning for materials discovery\u201d"
HUBBARD_PAPER = "M. Uhrin, G. Zadoks, L. Binci, N. Marzari, I. Timrov, npj Comput. Mater. 11, 19 (2025)"
LAAZIRI = "K. Laaziri et al., Phys. Rev. B 60, 13520 (1999), annealed a-Si (experiment)"
DERINGER = "V. L. Deringer et al., J. Phys. Chem. Lett. 9, 2879 (2018), GAP-MD a-Si"
SW_QUENCH = "Stillinger-Weber a-Si quenched fast (as quoted in Deringer et al. 2018)"
HUBBARD_PAPER_MARE = {"U": 0.03, "V": 0.05}
"""Mean absolute relative errors of U and V on held-out points reported in :data:`HUBBARD_PAPER` (README quotes them)."""


@dataclass(frozen=True)
class Published:
    """A published figure and where our counterpart lives: ``ours`` = (metrics file, key path, format)."""

    study: str
    quantity: str
    published: str
    citation: str
    ours: tuple[str, tuple, str]


PUBLISHED = [
    *(
        Published(
            "ionic",
            f"sigma at 298 K of the talk's top prediction {label} (S/m)",
            f"{sigma:.2f}",
            TALK,
            ("metrics/ionic/screening.json", ("talk_reference_pairs", label, "pred_sigma_S_per_m"), "f2"),
        )
        for label, sigma in (
            ("dicyanamide + pyrrolidin-1-ium", 4.39),
            ("dicyanamide + dimethyl(prop-2-enyl)azanium", 3.30),
            ("nitrate + dimethyl(prop-2-enyl)azanium", 2.93),
            ("dicyanamide + dimethyl(propyl)azanium", 2.68),
            ("thiocyanate + pyrrolidin-1-ium", 2.60),
        )
    ),
    *(
        Published(
            "hubbard",
            f"MARE of {parameter}, held-out points (ours: {variant}, test paths of the extract split; "
            "targets at this data set's DFPT settings, not the paper's)",
            f"{100 * mare:.1f} %",
            HUBBARD_PAPER,
            (
                "metrics/hubbard/evaluate.json",
                ("variants", variant, "schemes", "extract_split", "predictors", "model", "mare"),
                "pct",
            ),
        )
        for parameter, variant, mare in (
            ("U", "hubbard_u", HUBBARD_PAPER_MARE["U"]),
            ("V", "hubbard_v", HUBBARD_PAPER_MARE["V"]),
        )
    ),
    Published(
        "motifs",
        "mean coordination",
        "3.88",
        LAAZIRI,
        ("metrics/motifs/structure.json", ("comparison", "mean_coordination", "ours"), "f2"),
    ),
    Published(
        "motifs",
        "bond-angle standard deviation (degrees)",
        "9.6 - 10.5",
        LAAZIRI,
        ("metrics/motifs/structure.json", ("comparison", "bond_angle_std_deg", "ours"), "f1"),
    ),
    Published(
        "motifs",
        "RDF first peak (Angstrom)",
        "2.35",
        LAAZIRI,
        ("metrics/motifs/structure.json", ("comparison", "rdf_first_peak_angstrom", "ours"), "f3"),
    ),
    Published(
        "motifs",
        "fraction of coordination defects",
        "< 2.0 %",
        DERINGER,
        ("metrics/motifs/structure.json", ("comparison", "fraction_defects", "ours"), "pct"),
    ),
    Published(
        "motifs",
        "fraction of 5-fold atoms",
        "12.0 %",
        SW_QUENCH,
        ("metrics/motifs/structure.json", ("comparison", "fraction_5fold", "ours"), "pct"),
    ),
]
"""The talk's and the papers' figures quoted in the repository (conf/data/ionic.yaml reference_pairs,
:data:`HUBBARD_PAPER_MARE` (README), matdisco.motifs.structure.REFERENCES; a test keeps them equal)."""


@dataclass
class Table:
    """A titled table of already formatted cells (``rows`` [n_rows][len(header)])."""

    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    note: str = ""


# ---------------------------------------------------------------- reading and formatting


def load_metrics(root: Path) -> dict[str, object]:
    """Every ``metrics/**/*.json`` under ``root``, keyed by its path relative to ``root`` (posix).
    A file that is not valid JSON maps to a string saying so."""
    found: dict[str, object] = {}
    for path in sorted((root / "metrics").rglob("*.json")):
        key = path.relative_to(root).as_posix()
        try:
            found[key] = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            found[key] = f"unreadable: {error}"
    return found


def dig(data: object, path: tuple) -> object:
    """The value at ``path`` in nested dicts/lists, or None. In a list, a key that is not an int picks
    the first element whose ``label`` equals it."""
    for key in path:
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int):
            data = data[key] if -len(data) <= key < len(data) else None
        elif isinstance(data, list):
            data = next((item for item in data if isinstance(item, dict) and item.get("label") == key), None)
        else:
            return None
    return data


def fmt(value: object, kind: str = "f3") -> str:
    """A cell: ``f<digits>`` fixed point, ``pct`` percent (value is a fraction), ``int``, ``text``;
    :data:`NOT_COMPUTED` for None, non-finite numbers and values of the wrong type."""
    if value is None or (isinstance(value, bool) and kind != "text"):
        return NOT_COMPUTED
    if kind == "text":
        return str(value)
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return NOT_COMPUTED
    if kind == "pct":
        return f"{100 * value:.1f} %"
    if kind == "int":
        return f"{int(value)}"
    return f"{value:.{int(kind[1:])}f}"


def fmt_pm(mean: object, std: object, digits: int = 3) -> str:
    """``mean +- std`` (std left out when missing); :data:`NOT_COMPUTED` without a mean."""
    if fmt(mean) == NOT_COMPUTED:
        return NOT_COMPUTED
    return fmt(mean, f"f{digits}") + ("" if fmt(std) == NOT_COMPUTED else f" \u00b1 {fmt(std, f'f{digits}')}")


def fmt_interval(entry: object, kind: str = "f3", key: str = "value", signed: bool = False) -> str:
    """``value [low, high]`` of an interval entry (keys ``key``, ci_low, ci_high), ``signed`` with an explicit
    ``+``; the bounds left out when missing, :data:`NOT_COMPUTED` without a value."""
    value, low, high = (dig(entry, (name,)) for name in (key, "ci_low", "ci_high"))
    show = _signed if signed else fmt
    if fmt(value) == NOT_COMPUTED:
        return NOT_COMPUTED
    bounds = (
        f" [{show(low, kind)}, {show(high, kind)}]" if fmt(low) != NOT_COMPUTED and fmt(high) != NOT_COMPUTED else ""
    )
    return show(value, kind) + bounds


def _signed(value: float, kind: str) -> str:
    """``fmt`` with an explicit ``+`` on non-negative values."""
    return ("+" if value >= 0 else "") + fmt(value, kind)


def flatten(data: object, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted key, formatted value) of every scalar in nested dicts/lists; numbers to 4 significant digits."""
    if isinstance(data, dict):
        return [
            pair for key, value in data.items() for pair in flatten(value, f"{prefix}.{key}" if prefix else str(key))
        ]
    if isinstance(data, list):
        return [pair for k, value in enumerate(data) for pair in flatten(value, f"{prefix}[{k}]")]
    if isinstance(data, float):
        return [(prefix, f"{data:.4g}" if math.isfinite(data) else NOT_COMPUTED)]
    return [(prefix, NOT_COMPUTED if data is None else str(data))]


# ---------------------------------------------------------------- study tables

IONIC_PREDICTORS = (
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
IONIC_SCORES = {
    "rmse_ln": "RMSE",
    "mae_ln": "MAE",
    "per_il_rmse_ln": "per-IL RMSE",
    "r2_298": "R\u00b2 across ILs, 298 K",
    "spearman_298": "Spearman across ILs, 298 K",
    "r2_ln_lambda": "R\u00b2 ln \u039b",
}
"""Out-of-fold metrics of ``predictors.<name>.out_of_fold`` (and of ``differences``) shown, with their column labels."""
IONIC_P_BETTER = ("rmse_ln", "spearman_298")


def ionic_tables(metrics: dict) -> list[Table]:
    """Out-of-fold scores of every predictor and the paired model-minus-baseline differences
    (``metrics/ionic/evaluate.json``), and the screening verdict counts (``metrics/ionic/screening.json``)."""
    evaluate = metrics.get("metrics/ionic/evaluate.json")
    return [
        _ionic_scores(evaluate),
        _ionic_differences(evaluate),
        _ionic_calibration(evaluate),
        *_ionic_screening(metrics.get("metrics/ionic/screening.json")),
    ]


def _ionic_calibration(evaluate: object) -> Table:
    """One row per predictor: conformal half-widths per class and the held-out coverage of its intervals."""
    calibration = dig(evaluate, ("calibration",)) or {}
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
        if not isinstance(entry, dict) or "half_width_ln" not in entry:
            continue
        coverage = dig(entry, ("coverage",))
        table.rows.append(
            [
                name,
                fmt(dig(entry, ("half_width_ln", "seen")), "f2"),
                fmt(dig(entry, ("half_width_ln", "unseen_ion")), "f2"),
                fmt_interval(dig(coverage, ("all", "points")), "pct"),
                fmt_interval(dig(coverage, ("all", "ils")), "pct"),
                fmt_interval(dig(coverage, ("unseen_ion", "ils")), "pct"),
            ]
        )
    if not table.rows:
        table.rows.append([NOT_COMPUTED] * len(table.header))
    return table


def _ionic_scores(evaluate: object) -> Table:
    """One row per predictor: k-fold RMSE (mean +- std over folds) and the out-of-fold metrics with intervals."""
    counts = dig(evaluate, ("counts",))
    literature = dig(evaluate, ("literature",))
    table = Table(
        "Held-out ILs, out of fold: every model and baseline on identical points "
        "(ln sigma, sigma in S/m; value [95 % interval, ILs resampled])",
        ["predictor", "kind", "k-fold RMSE", *IONIC_SCORES.values()],
        note=f"{fmt(dig(counts, ('n_points',)), 'int')} points of {fmt(dig(counts, ('n_ils',)), 'int')} ILs over "
        f"{fmt(dig(counts, ('n_folds',)), 'int')} IL-grouped folds; across-IL columns: {fmt(dig(counts, ('n_ils_298',)), 'int')} "
        f"ILs within {fmt(dig(counts, ('window_K',)), 'f0')} K of {fmt(dig(counts, ('temperature_K',)), 'f2')} K; ln \u039b: "
        f"{fmt(dig(counts, ('n_points_lambda',)), 'int')} points of {fmt(dig(counts, ('n_ils_lambda',)), 'int')} ILs with a density; "
        f"{fmt(dig(counts, ('n_resamples',)), 'int')} resamples; {fmt(dig(counts, ('n_ils_excluded_unseen_types',)), 'int')} "
        f"IL(s) left out for atom types unseen in training. Literature (other data and split): "
        f"{fmt(dig(literature, ('reference',)), 'text')}: R\u00b2 of \u039b {fmt(dig(literature, ('r2_nernst_einstein',)), 'f2')} "
        f"(Nernst-Einstein), {fmt(dig(literature, ('r2_best_ml',)), 'text')} (best ML).",
    )
    predictors = dig(evaluate, ("predictors",)) or {}
    for name in [*predictors, *(n for n in IONIC_PREDICTORS if n not in predictors)]:
        entry = predictors.get(name)
        table.rows.append(
            [
                name,
                fmt(dig(entry, ("kind",)), "text"),
                fmt_pm(dig(entry, ("kfold", "rmse_mean")), dig(entry, ("kfold", "rmse_std"))),
                *(fmt_interval(dig(entry, ("out_of_fold", metric))) for metric in IONIC_SCORES),
            ]
        )
    return table


def _ionic_differences(evaluate: object) -> Table:
    """One row per (model, reference) pair of ``differences``: the difference with its interval, P(model better)."""
    table = Table(
        "Paired differences, model minus reference (same IL draws; P: fraction of draws where the model is better)",
        [
            "model \u2212 reference",
            *IONIC_SCORES.values(),
            *(f"P(better {IONIC_SCORES[metric]})" for metric in IONIC_P_BETTER),
        ],
    )
    differences = dig(evaluate, ("differences",)) or {NOT_COMPUTED: {}}
    for name, entry in differences.items():
        table.rows.append(
            [
                name.replace("_minus_", " \u2212 "),
                *(fmt_interval(dig(entry, (metric,)), signed=True) for metric in IONIC_SCORES),
                *(fmt(dig(entry, (metric, "p_model_better")), "f2") for metric in IONIC_P_BETTER),
            ]
        )
    return table


def _ionic_screening(screening: object) -> list[Table]:
    """The screening summary (ranking model, top pair, melting-point model against its baselines) and the verdict counts."""
    melting = dig(screening, ("melting_cv",))
    summary = Table(
        "Screening of unmeasured cation x anion pairs",
        ["quantity", "value"],
        [
            ["ranking model", fmt(dig(screening, ("model",)), "text")],
            ["model, fitted on", fmt(dig(screening, ("model_description",)), "text")],
            ["temperature (K)", fmt(dig(screening, ("temperature_K",)), "f2")],
            ["candidate pairs", fmt(dig(screening, ("n_pairs",)), "int")],
            ["pairs passing every verdict (ranked)", fmt(dig(screening, ("n_passing_all",)), "int")],
            ["top pair", fmt(dig(screening, ("top_pair",)), "text")],
            ["its predicted sigma (S/m)", fmt(dig(screening, ("top_sigma_S_per_m",)), "f2")],
            *(
                [
                    f"melting-point {label}, {fmt(dig(melting, ('n_folds',)), 'int')}-fold CV RMSE (K)",
                    fmt(dig(melting, (name, "rmse_K")), "f1"),
                ]
                for name, label in (
                    ("ridge", "model (ridge)"),
                    ("mean", "baseline: training mean"),
                    ("cation_family_mean", "baseline: cation-family mean"),
                )
            ),
            [
                "liquid verdict precision / recall (out of fold)",
                _pair(dig(melting, ("liquid_verdict",)), "precision", "recall"),
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
    verdicts.rows.append(
        [
            "every verdict",
            fmt(dig(screening, ("n_passing_all",)), "int"),
            _difference(screening, "n_pairs", "n_passing_all"),
        ]
    )
    return [summary, verdicts]


def _pair(entry: object, first: str, second: str) -> str:
    """``first / second`` of ``entry`` to 2 decimals; :data:`NOT_COMPUTED` when either is missing."""
    a, b = fmt(dig(entry, (first,)), "f2"), fmt(dig(entry, (second,)), "f2")
    return NOT_COMPUTED if NOT_COMPUTED in (a, b) else f"{a} / {b}"


def _difference(entry: object, total: str, part: str) -> str:
    """``entry[total] - entry[part]`` as an integer cell."""
    a, b = dig(entry, (total,)), dig(entry, (part,))
    return fmt(a - b, "int") if NOT_COMPUTED not in (fmt(a, "int"), fmt(b, "int")) else NOT_COMPUTED


HUBBARD_MODEL = "model"
POOLED = " (pooled)"


def hubbard_tables(metrics: dict) -> list[Table]:
    """Per model variant of ``metrics/hubbard/evaluate.json``: per holdout, the model's MAE / MARE next to
    every baseline's and the model-minus-baseline MAE, all with path-bootstrap intervals."""
    variants = dig(metrics.get("metrics/hubbard/evaluate.json"), ("variants",)) or {}
    baselines = list(
        dict.fromkeys(
            name
            for result in variants.values()
            for entry in (dig(result, ("schemes",)) or {}).values()
            for name in (dig(entry, ("predictors",)) or {})
            if name != HUBBARD_MODEL
        )
    )
    expected = compose(["data=hubbard"]).data.evaluate.variants  # the one definition of the variants
    names = [*variants, *(name for name in expected if name not in variants)]
    return [_hubbard_variant(name, variants.get(name), baselines) for name in names]


def _hubbard_variant(variant: str, result: object, baselines: list[str]) -> Table:
    """The holdouts of one variant: paths, rows, the model's scores and each baseline's (MAE, MARE, model minus it)."""
    skipped = dig(result, ("skipped",)) or {}
    table = Table(
        f"{variant} ({fmt(dig(result, ('parameter',)), 'text')}, target {fmt(dig(result, ('target',)), 'text')}): "
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
    schemes = dig(result, ("schemes",)) or {"extract_split": None}
    for holdout in headline_holdouts(schemes):
        entry = schemes[holdout]
        model = dig(entry, ("predictors", HUBBARD_MODEL))
        table.rows.append(
            [
                holdout,
                fmt(dig(entry, ("n_paths",)), "int"),
                fmt(dig(entry, ("n_distinct",)), "int"),
                fmt_interval(dig(model, ("mae_eV",))),
                fmt_interval(dig(model, ("mare",)), "pct"),
                *(_hubbard_baseline(entry, name) for name in baselines),
            ]
        )
    return table


def headline_holdouts(schemes: dict) -> list[str]:
    """The holdouts of ``schemes`` in order, without the single folds of a scheme scored pooled
    (``<scheme> (pooled)`` stands for its folds ``<scheme>_<value>``)."""
    pooled = [name[: -len(POOLED)] for name in schemes if name.endswith(POOLED)]
    return [name for name in schemes if not any(name.startswith(f"{scheme}_") for scheme in pooled)]


def _hubbard_baseline(entry: object, name: str) -> str:
    """Three lines: the baseline's MAE and MARE and the model's MAE minus its (intervals); :data:`NOT_COMPUTED`
    where the holdout has no score of this baseline."""
    score = dig(entry, ("predictors", name))
    if score is None:
        return NOT_COMPUTED
    difference = fmt_interval(dig(entry, ("model_minus_baseline", name)), key="diff", signed=True)
    return "\n".join((fmt_interval(dig(score, ("mae_eV",))), fmt_interval(dig(score, ("mare",)), "pct"), difference))


MOTIFS_RECONSTRUCTION = ("model", "mean_environment", "nearest_training_environment")
"""Predictors of ``reconstruction_vs_baselines`` listed first (then the PCA baseline(s) the file holds)."""
MOTIFS_SAMPLES = {"samples": "VAE samples", "samples_standard_normal": "VAE samples, z ~ N(0, 1)"}
MOTIFS_INPAINTING = ("model", "nearest_training_baseline", "tetrahedral_baseline", "random_baseline", "mean_baseline")
MOTIFS_INPAINTED_GROUPS = {"bonded_": "bonded (first shell)", "second_shell_": "second shell"}
"""Groups of missing atoms scored apart by ``motifs.scoring.inpainting_scores`` (key prefixes), with their labels."""
MOTIFS_VACANCY = {
    "rmsd_angstrom": "RMSD to the removed atoms, unrelaxed (Angstrom)",
    "delta_energy_eV": "energy change, unrelaxed (eV)",
    "relaxed_delta_energy_eV": "energy change, relaxed (eV)",
    "relaxed_rmsd_angstrom": "RMSD after relaxation (Angstrom)",
}
MOTIFS_VACANCY_METHODS = ("model", "tetrahedral_growth", "largest_hole")


def motifs_tables(metrics: dict) -> list[Table]:
    """Reconstruction against the no-model baselines, noise robustness, samples against MD (``evaluate.json``);
    inpainting against placement baselines, interpolation and vacancy refilling (``generate.json``)."""
    evaluate = metrics.get("metrics/motifs/evaluate.json")
    generate = metrics.get("metrics/motifs/generate.json")
    return [
        _motifs_reconstruction(evaluate),
        _motifs_noise(evaluate),
        _motifs_samples(evaluate),
        _motifs_inpainting(generate),
        _motifs_interpolation(generate),
        _motifs_vacancy(generate),
    ]


def _motifs_reconstruction(evaluate: object) -> Table:
    """Label-free and fixed-label RMSD, over all neighbours and per shell, of the model and each baseline."""
    comparison = dig(evaluate, ("reconstruction_vs_baselines",)) or {}
    stems = [
        stem
        for stem in dict.fromkeys(
            key.removesuffix("_angstrom_median")
            for row in comparison.values()
            for key in (row if isinstance(row, dict) else {})
            if key.startswith("rmsd_") and key.endswith("_angstrom_median")
        )
    ] or ["rmsd_label_free_all", "rmsd_fixed_label_all"]
    table = Table(
        "Reconstruction of held-out environments: O(3)-aligned RMSD about the centre (Angstrom, median / p90)",
        ["predictor", "role", *(stem.removeprefix("rmsd_").replace("_", " ") for stem in stems), "decoded invalid"],
        note="label free: minimum over relabellings within each shell; fixed label: neighbours in distance order. "
        f"Decoding: {fmt(dig(evaluate, ('decoding',)), 'text')}.",
    )
    for name in [*MOTIFS_RECONSTRUCTION, *sorted(set(comparison) - set(MOTIFS_RECONSTRUCTION))]:
        row = comparison.get(name)
        table.rows.append(
            [
                name,
                "model" if name == "model" else "baseline",
                *(_median_p90(row, f"{stem}_angstrom") for stem in stems),
                fmt(dig(row, ("fraction_invalid",)), "pct"),
            ]
        )
    return table


def _motifs_noise(evaluate: object) -> Table:
    """Label-free RMSD between clean and noisy environments (input) and between their reconstructions (output)."""
    noise = dig(evaluate, ("noise_robustness",))
    return Table(
        f"Noise robustness: every atom of a held-out cell moved by {fmt(dig(noise, ('noise_angstrom',)))} Angstrom rms",
        ["compared", "label-free RMSD (Angstrom, median / p90)"],
        [
            ["input: noisy vs clean environments (the floor)", _median_p90(noise, "input_rmsd_label_free_angstrom")],
            ["output: their reconstructions", _median_p90(noise, "output_rmsd_label_free_angstrom")],
        ],
        note=f"Environments with a neighbour slot moved by more than 10x the noise: {fmt(dig(noise, ('fraction_relabelled',)), 'pct')}.",
    )


def _motifs_samples(evaluate: object) -> Table:
    """Samples against held-out MD: W1 distances, validity and novelty; MD train vs MD test is the floor."""
    table = Table(
        "Samples against held-out MD: Wasserstein-1 distances, validity, novelty (lower W1 is better)",
        [
            "environments",
            "W1 distances (Angstrom)",
            "W1 all angles (deg)",
            "W1 bond angles (deg)",
            "invalid",
            "nearest-training distance (Angstrom, median)",
            "near copies",
        ],
        note="MD train vs MD test is the floor: two sets of real environments differ this much (its validity and "
        "distance to training are those of the held-out MD). Near copies: samples nearer to training than the "
        "held-out 10th percentile.",
    )
    for name, label in MOTIFS_SAMPLES.items():
        row = dig(evaluate, (name,))
        density = fmt(dig(row, ("latent_density",)), "text")
        table.rows.append(
            [
                label if density == NOT_COMPUTED else f"{label} (latent density {density})",
                *_w1_cells(row),
                fmt(dig(row, ("fraction_invalid",)), "pct"),
                fmt(dig(row, ("novelty", "sample_to_train_angstrom_median"))),
                fmt(dig(row, ("novelty", "fraction_near_copies")), "pct"),
            ]
        )
    table.rows.append(
        [
            "MD train vs MD test (baseline)",
            *_w1_cells(dig(evaluate, ("md_train_vs_test",))),
            fmt(dig(evaluate, ("md_test_validity", "fraction_invalid")), "pct"),
            fmt(dig(evaluate, ("samples", "novelty", "held_out_to_train_angstrom_median"))),
            "",
        ]
    )
    return table


def _w1_cells(row: object) -> list[str]:
    return [
        fmt(dig(row, ("w1_distance_angstrom",))),
        fmt(dig(row, ("w1_angle_deg",)), "f2"),
        fmt(dig(row, ("w1_bond_angle_deg",)), "f2"),
    ]


def _motifs_inpainting(generate: object) -> Table:
    """Per number of known atoms: median RMSD of the model and each placement baseline over all missing atoms,
    and per group (bonded, second shell) where both groups were missing."""
    inpainting = dig(generate, ("inpainting",)) or {NOT_COMPUTED: None}
    table = Table(
        "Inpainting: missing atoms placed from k known ones, RMSD of the placed atoms after matching (Angstrom, median)",
        ["known atoms", "missing atoms", "scored", *MOTIFS_INPAINTING, "model beats random"],
        note="Baselines: tetrahedral completion of the known bonds, random and mean placement at the mean neighbour radius.",
    )
    for name in sorted(inpainting, key=lambda k: (len(k), k)):
        entry = inpainting[name]
        known = name.removeprefix("k")
        table.rows.append(
            [
                known,
                "all",
                f"{fmt(dig(entry, ('n_environments',)), 'int')} environments",
                *(fmt(dig(entry, (predictor, "rmsd_angstrom_median"))) for predictor in MOTIFS_INPAINTING),
                fmt(dig(entry, ("fraction_model_beats_random",)), "pct"),
            ]
        )
        n_atoms = {prefix: dig(entry, ("model", f"{prefix}n_atoms")) for prefix in MOTIFS_INPAINTED_GROUPS}
        if all(isinstance(n, int) and n > 0 for n in n_atoms.values()):
            table.rows += [
                [
                    known,
                    label,
                    f"{n_atoms[prefix]} atoms",
                    *(fmt(dig(entry, (p, f"{prefix}rmsd_angstrom_median"))) for p in MOTIFS_INPAINTING),
                    "",
                ]
                for prefix, label in MOTIFS_INPAINTED_GROUPS.items()
            ]
    return table


def _motifs_interpolation(generate: object) -> Table:
    """Validity and smoothness of the latent interpolation between two held-out environments."""
    path = dig(generate, ("interpolation",))
    return Table(
        f"Latent interpolation: {fmt(dig(path, ('start_coordination',)), 'int')}-fold to "
        f"{fmt(dig(path, ('end_coordination',)), 'int')}-fold centre, {fmt(dig(path, ('n_frames',)), 'int')} frames",
        ["quantity", "value"],
        [
            ["frames invalid", fmt(dig(path, ("fraction_frames_invalid",)), "pct")],
            ["smallest pair distance (Angstrom)", fmt(dig(path, ("min_pair_distance_angstrom",)))],
            ["largest step between frames, RMSD (Angstrom)", fmt(dig(path, ("max_frame_step_rmsd_angstrom",)))],
            ["mean step between frames, RMSD (Angstrom)", fmt(dig(path, ("mean_frame_step_rmsd_angstrom",)))],
            ["largest step of one atom (Angstrom)", fmt(dig(path, ("max_frame_step_atom_displacement_angstrom",)))],
            ["last frame vs end environment, O(3) RMSD (Angstrom)", fmt(dig(path, ("end_rmsd_o3_angstrom",)))],
        ],
    )


def _motifs_vacancy(generate: object) -> Table:
    """Holes refilled in a held-out cell: the model next to tetrahedral growth and largest-hole placement (medians
    over holes), and the model-minus-baseline mean with its interval from resampling holes."""
    vacancy = dig(generate, ("vacancy",))
    table = Table(
        f"Hole refilling: {fmt(dig(vacancy, ('n_sites',)), 'int')} holes of {fmt(dig(vacancy, ('hole_atoms',)), 'int')} "
        f"atoms cut out of {fmt(dig(vacancy, ('cell',)), 'text')} and regrown (medians over holes; potential "
        f"{fmt(dig(vacancy, ('potential',)), 'text')}); the unrelaxed columns are the headline",
        ["predictor", *MOTIFS_VACANCY.values()],
        note="Rows 'model - X': mean over holes of the per-hole difference [95 % interval, holes resampled].",
    )
    for name in MOTIFS_VACANCY_METHODS:
        table.rows.append([name, *(fmt(dig(vacancy, (f"{name}_{key}_median",))) for key in MOTIFS_VACANCY)])
    for name in MOTIFS_VACANCY_METHODS[1:]:
        table.rows.append(
            [
                f"model - {name}",
                *(
                    fmt_interval(dig(vacancy, (f"model_minus_{name}_{key}",)), key="mean", signed=True)
                    for key in MOTIFS_VACANCY
                ),
            ]
        )
    return table


def _median_p90(row: object, stem: str) -> str:
    """``median / p90`` of ``<stem>_median`` and ``<stem>_p90`` in ``row``."""
    median, p90 = fmt(dig(row, (f"{stem}_median",)), "f2"), fmt(dig(row, (f"{stem}_p90",)), "f2")
    return NOT_COMPUTED if median == NOT_COMPUTED else f"{median} / {p90}"


STUDY_TABLES = {"ionic": ionic_tables, "hubbard": hubbard_tables, "motifs": motifs_tables}


def published_table(study: str, metrics: dict) -> Table:
    """The published figures of ``study`` (:data:`PUBLISHED`) next to ours."""
    table = Table("Published figures next to ours", ["quantity", "published", "ours", "source"])
    for item in (p for p in PUBLISHED if p.study == study):
        file, path, kind = item.ours
        table.rows.append(
            [item.quantity, item.published, ours_cell(dig(metrics.get(file), path[:-1]), path[-1], kind), item.citation]
        )
    return table


def ours_cell(entry: object, key: str, kind: str) -> str:
    """``entry[key]`` formatted (an interval entry as ``value [low, high]``), with ``(rank r of n)`` when
    the entry ranks it; without a value, the entry's ``status`` (why there is none) or :data:`NOT_COMPUTED`."""
    found = dig(entry, (key,))
    value = fmt_interval(found, kind) if isinstance(found, dict) else fmt(found, kind)
    if value == NOT_COMPUTED:
        status = dig(entry, ("status",))
        return status if isinstance(status, str) else NOT_COMPUTED
    rank, of = dig(entry, ("rank",)), dig(entry, ("of",))
    return value + (f" (rank {fmt(rank, 'int')} of {fmt(of, 'int')})" if fmt(rank, "int") != NOT_COMPUTED else "")


# ---------------------------------------------------------------- files of a study and experiments


def study_files(root: Path, study: str) -> dict[str, list[Path]]:
    """PNG plots (``plots/<study>`` and ``plots/<study>_*``, recursive), result tables and reports
    (``results/<study>/*.md`` and the .md files of those plot folders) and metrics files
    (``metrics/<study>/*.json``) of ``study``, sorted."""
    plot_dirs = [
        folder for folder in (root / "plots" / study, *sorted((root / "plots").glob(f"{study}_*"))) if folder.is_dir()
    ]
    return {
        "plots": sorted(path for folder in plot_dirs for path in folder.rglob("*.png")),
        "tables": sorted(
            [*(root / "results" / study).glob("*.md"), *(path for folder in plot_dirs for path in folder.rglob("*.md"))]
        ),
        "metrics": sorted((root / "metrics" / study).glob("*.json")),
    }


def dvc_experiments(root: Path, timeout_s: float = 120.0) -> tuple[list | None, str]:
    """``dvc exp show --json`` run in ``root`` with this interpreter's dvc: (parsed list, "") or (None, why it is not available)."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "dvc", "exp", "show", "--json"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"dvc exp show could not run: {error}"
    if done.returncode != 0:
        return None, f"dvc exp show failed (exit {done.returncode}): {done.stderr.strip()[-300:]}"
    try:
        return json.loads(done.stdout or "[]"), ""
    except ValueError as error:
        return None, f"dvc exp show gave no JSON: {error}"


def _rev_values(rev: dict, kind: str) -> dict[str, str]:
    """Flattened ``params`` or ``metrics`` of one ``dvc exp show --json`` revision: ``file:key`` -> value."""
    values = {}
    for file, content in ((rev.get("data") or {}).get(kind) or {}).items():
        values.update({f"{file}:{key}": value for key, value in flatten((content or {}).get("data", {}))})
    return values


def experiments_table(entries: list, max_changes: int = 12) -> Table:
    """One row per experiment of ``dvc exp show --json``: its name, commit, time, the params it changed
    and the metrics that differ from its baseline commit (``before -> after``; at most ``max_changes`` each)."""
    table = Table(
        "DVC experiments (dvc exp show --json)",
        ["experiment", "commit", "created", "params changed", "metrics changed"],
    )
    for baseline in entries:
        params, metrics = _rev_values(baseline, "params"), _rev_values(baseline, "metrics")
        for experiment in baseline.get("experiments") or []:
            for rev in experiment.get("revs") or []:
                changed_params = [f"{k} = {v}" for k, v in _rev_values(rev, "params").items() if params.get(k) != v]
                changed_metrics = [
                    f"{k}: {metrics.get(k, NOT_COMPUTED)} \u2192 {v}"
                    for k, v in _rev_values(rev, "metrics").items()
                    if metrics.get(k) != v
                ]
                table.rows.append(
                    [
                        str(rev.get("name") or experiment.get("name") or ""),
                        str(rev.get("rev", ""))[:7],
                        str((rev.get("data") or {}).get("timestamp", "")),
                        _clip(changed_params, max_changes),
                        _clip(changed_metrics, max_changes),
                    ]
                )
    return table


def _clip(items: list[str], limit: int) -> str:
    """Newline-joined ``items``, at most ``limit`` of them and a count of the rest."""
    shown = items[:limit] + ([f"... and {len(items) - limit} more"] if len(items) > limit else [])
    return "\n".join(shown) or "(none)"


# ---------------------------------------------------------------- HTML

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 2px solid #36c; padding-bottom: .2em; margin-top: 2em; } h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; white-space: pre-line; }
th { background: #eef2f8; } td.missing { color: #a33; font-style: italic; background: #fbf3f3; }
figure { display: inline-block; margin: .5em; max-width: 560px; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #ddd; } figcaption { font-size: .85em; color: #555; }
p.note { font-size: .88em; color: #555; margin-top: -.5em; } pre { background: #f6f6f6; padding: .6em; overflow-x: auto; font-size: .85em; }
nav a { margin-right: 1em; }
"""


def render_table(table: Table) -> str:
    """``<h3>`` title, the table (missing cells marked with class ``missing``) and its note."""
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in table.header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="missing">{NOT_COMPUTED}</td>' if cell == NOT_COMPUTED else f"<td>{html.escape(cell)}</td>"
            for cell in row
        )
        + "</tr>"
        for row in table.rows
    )
    note = f'<p class="note">{html.escape(table.note)}</p>' if table.note else ""
    return f"<h3>{html.escape(table.title)}</h3>\n<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}\n"


def _link(path: Path, page_dir: Path) -> str:
    """``path`` relative to the page's folder, for href / src."""
    return html.escape(Path(os.path.relpath(path, page_dir)).as_posix())


def render_study(root: Path, page_dir: Path, study: str, metrics: dict) -> str:
    """The section of one study: headline tables, published figures, plots, result tables, all metrics."""
    files = study_files(root, study)
    parts = [f'<section id="{study}">\n<h2>{html.escape(STUDIES[study])}</h2>\n']
    parts += [render_table(table) for table in STUDY_TABLES[study](metrics)]
    parts.append(render_table(published_table(study, metrics)))
    parts.append("<h3>Plots</h3>\n")
    parts += [
        f'<figure><img src="{_link(p, page_dir)}" alt="{html.escape(p.name)}"><figcaption>{html.escape(p.relative_to(root).as_posix())}'
        f"</figcaption></figure>\n"
        for p in files["plots"]
    ] or [f'<p class="note">No plots: {NOT_COMPUTED}.</p>\n']
    parts.append("<h3>Result tables</h3>\n")
    parts += [
        f'<details><summary><a href="{_link(p, page_dir)}">{html.escape(p.relative_to(root).as_posix())}</a></summary>'
        f"<pre>{html.escape(p.read_text())}</pre></details>\n"
        for p in files["tables"]
    ] or [f'<p class="note">No result tables: {NOT_COMPUTED}.</p>\n']
    parts.append("<h3>All metrics</h3>\n")
    for path in files["metrics"]:
        key = path.relative_to(root).as_posix()
        rows = [list(pair) for pair in flatten(metrics.get(key))]
        parts.append(
            f"<details><summary>{html.escape(key)} ({len(rows)} values)</summary>"
            + render_table(Table(key, ["key", "value"], rows))
            + "</details>\n"
        )
    if not files["metrics"]:
        parts.append(f'<p class="note">No metrics files: {NOT_COMPUTED}.</p>\n')
    return "".join(parts) + "</section>\n"


def render_experiments(entries: list | None, why_not: str) -> str:
    """The experiments section: the table, or a note saying why there is none."""
    parts = ['<section id="experiments">\n<h2>Experiments</h2>\n']
    table = experiments_table(entries) if entries is not None else None
    if table is None:
        parts.append(f'<p class="note">{html.escape(why_not)}</p>\n')
    elif not table.rows:
        parts.append(
            '<p class="note">No DVC experiments in this repository (run one with <code>dvc exp run -S key=value</code>).</p>\n'
        )
    else:
        parts.append(render_table(table))
    return "".join(parts) + "</section>\n"


def render_page(root: Path, page_path: Path, experiments: tuple[list | None, str]) -> str:
    """The whole page for the repository at ``root``, to be written at ``page_path``."""
    metrics = load_metrics(root)
    nav = "".join(f'<a href="#{study}">{study}</a>' for study in STUDIES) + '<a href="#experiments">experiments</a>'
    body = "".join(render_study(root, page_path.parent, study, metrics) for study in STUDIES)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        f"<title>matdisco results</title><style>{STYLE}</style></head>\n<body>\n<h1>matdisco results</h1>\n"
        "<p>Built by <code>matdisco report</code> from the committed <code>metrics/</code>, <code>plots/</code> and "
        "<code>results/</code> of this repository. Cells marked <em>not computed</em> are values the metrics files do not hold "
        "(run <code>make pipeline</code>).</p>\n"
        f"<nav>{nav}</nav>\n{body}{render_experiments(*experiments)}</body></html>\n"
    )


def write_report(root: Path, page_path: Path, experiments: bool = True) -> Path:
    """Write the page for the repository at ``root`` to ``page_path`` (atomically); ``experiments=False``
    skips ``dvc exp show`` (the section then says so)."""
    found = dvc_experiments(root) if experiments else (None, "Experiments table not requested (--no-experiments).")
    atomic_write_text(page_path, render_page(root, page_path, found))
    return page_path
