"""The Hubbard section of the results page (matdisco.hubbard.page) from tiny metrics laid out by the step's
own builders (hubbard.evaluate.evaluate_metrics / variant_metrics): the model next to every baseline per
holdout with path intervals, pooled schemes, the paper's MAREs next to ours, missing variants."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from matdisco.core.report import NOT_COMPUTED
from matdisco.hubbard import keys as K
from matdisco.hubbard import page
from matdisco.hubbard.baselines import BASELINES, LINEAR, MATERIAL_SPECIES_MEAN, PERSISTENCE, SPECIES_MEAN
from matdisco.hubbard.evaluate import evaluate_metrics, variant_metrics
from matdisco.hubbard.features import TARGET
from matdisco.hubbard.scoring import MODEL, PRED, baseline_column, evaluation_markdown, fold_metrics
from page_helpers import build, interval, percent_interval, row_of, section, write_tree

REPO = Path(__file__).resolve().parents[3]


def holdout_rows(material: str, n_paths: int, offset_eV: float, rng: np.random.Generator) -> pd.DataFrame:
    """Distinct test rows of one holdout as ``hubbard.evaluate.scored_rows`` leaves them (target, model, baselines)."""
    n = 4 * n_paths
    target = 5.0 + offset_eV + 0.1 * rng.standard_normal(n)
    rows = pd.DataFrame(
        {
            K.PATH_ID: [f"{material}_path{k // 4}" for k in range(n)],
            K.MATERIAL: material,
            K.ITERATION: np.tile(np.arange(4), n_paths),
            TARGET: target,
            PRED: target + 0.02 * rng.standard_normal(n),
        }
    )
    for k, name in enumerate(BASELINES):
        rows[baseline_column(name)] = target + 0.05 * (k + 1) * rng.standard_normal(n)
    rows.loc[rows[K.ITERATION] == 0, baseline_column(PERSISTENCE)] = np.nan  # no applied input at iteration 0
    return rows


TWINS = (MATERIAL_SPECIES_MEAN, LINEAR)  # per-material baselines that fall back to the species mean


def with_fallback_twins(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` whose per-material baselines (``TWINS``) predict exactly the species mean, as when the
    holdout's material has no training rows."""
    for name in TWINS:
        rows[baseline_column(name)] = rows[baseline_column(SPECIES_MEAN)]
    return rows


def variants() -> dict:
    """hubbard_u only (hubbard_v etc. missing), scored on the extract split, two leave-one-material-out folds
    and their pooled score, and one oxidation-state fold whose per-material baselines fall back to the species
    mean (``hubbard.scoring.fold_metrics``), laid out by ``variant_metrics``."""
    rng = np.random.default_rng(1)
    folds = {
        K.EXTRACT_SPLIT: holdout_rows("NiO", 5, 0.0, rng),
        "lomo_NiO": holdout_rows("NiO", 3, 0.5, rng),
        "lomo_LiCoO2": holdout_rows("LiCoO2", 3, 1.0, rng),
        "oxidation_state_4.0": with_fallback_twins(holdout_rows("NiO2", 2, 0.3, rng)),
    }
    schemes = {name: fold_metrics(rows, 100, 0) for name, rows in folds.items()}
    schemes[f"lomo{K.POOLED}"] = fold_metrics(pd.concat([folds["lomo_NiO"], folds["lomo_LiCoO2"]]), 100, 0)
    return {
        "hubbard_u": variant_metrics(
            model="hubbard_u",
            kind="u",
            parameter="U",
            target="next",
            n_points=200,
            n_paths=11,
            schemes=schemes,
            skipped={"strain_high": "no training rows outside the block"},
            cpu_s=12.0,
        )
    }


@pytest.fixture(scope="module")
def written() -> dict:
    """The Hubbard metrics file and its markdown table (relative path -> content), built once."""
    results = variants()
    return {page.EVALUATE: evaluate_metrics(results), "results/hubbard/evaluation.md": evaluation_markdown(results)}


@pytest.fixture(scope="module")
def hubbard(written, tmp_path_factory) -> str:
    """The Hubbard section of the page built from :func:`written`."""
    return section(build(write_tree(tmp_path_factory.mktemp("repo"), written)), "hubbard")


def test_model_sits_next_to_every_baseline_with_path_intervals(hubbard, written):
    schemes = written[page.EVALUATE][K.VARIANTS]["hubbard_u"][K.SCHEMES]
    for holdout in (K.EXTRACT_SPLIT, f"lomo{K.POOLED}"):
        entry, row = schemes[holdout], row_of(hubbard, holdout)
        model = entry["predictors"][MODEL]
        assert f"<td>{entry['n_paths']}</td><td>{entry['n_distinct']}</td>" in row
        assert interval(model["mae_eV"]) in row and percent_interval(model["mare"]) in row
        for name in BASELINES:
            assert percent_interval(entry["predictors"][name]["mare"]) in row, (holdout, name)
            assert interval(entry["model_minus_baseline"][name], signed="+") in row, (holdout, name)
    assert "lomo_NiO" not in re.sub(r"<details>.*?</details>", "", hubbard, flags=re.S)  # shown pooled only
    assert "strain_high: no training rows outside the block" in hubbard
    assert "baseline persistence" in hubbard and "hubbard_u (U, target next)" in hubbard


def test_baselines_with_identical_predictions_are_shown_once(hubbard, written):
    schemes = written[page.EVALUATE][K.VARIANTS]["hubbard_u"][K.SCHEMES]
    assert schemes["oxidation_state_4.0"]["same_as"] == {name: SPECIES_MEAN for name in TWINS}
    assert schemes[K.EXTRACT_SPLIT]["same_as"] == {}  # distinct predictions stay separate rows
    markdown = written["results/hubbard/evaluation.md"]
    assert "| oxidation_state_4.0 | species_mean = material_species_mean = linear |" in markdown
    assert "| oxidation_state_4.0 | linear |" not in markdown
    assert "| extract_split | linear |" in markdown
    row = row_of(hubbard, "oxidation_state_4.0")
    assert row.count("= species_mean") == len(TWINS)
    assert percent_interval(schemes["oxidation_state_4.0"]["predictors"][SPECIES_MEAN]["mare"]) in row


def test_published_mare_sits_next_to_ours(hubbard, written):
    mare = written[page.EVALUATE][K.VARIANTS]["hubbard_u"][K.SCHEMES][K.EXTRACT_SPLIT]["predictors"][MODEL]["mare"]
    assert f"<td>3.0 %</td><td>{percent_interval(mare)} on extract_split</td>" in hubbard
    assert '<td>5.0 %</td><td class="missing">not computed</td>' in hubbard


def test_configured_variants_without_metrics_are_not_computed(hubbard):
    for variant in ("hubbard_v", "hubbard_u_converged", "hubbard_v_converged"):
        assert f"{variant} ({NOT_COMPUTED}, target {NOT_COMPUTED})" in hubbard
    assert re.search(r"<tr><td>extract_split</td>(<td class=\"missing\">not computed</td>)+</tr>", hubbard)


def test_headline_holdouts_hide_the_folds_of_pooled_schemes():
    schemes = {"extract_split": {}, "strain_high": {}, "lomo_NiO": {}, "lomo_LiCoO2": {}, "lomo (pooled)": {}}
    assert page.headline_holdouts(schemes) == ["extract_split", "strain_high", "lomo (pooled)"]
    assert page.headline_holdouts({"lomo_NiO": {}}) == ["lomo_NiO"]  # a single fold, not pooled: shown


def test_published_figures_match_the_readme():
    u, v = (100 * page.PAPER_MARE[p] for p in ("U", "V"))
    assert f"MARE {u:g} % for U, {v:g} % for V" in (REPO / "README.md").read_text()
    assert [(item.ours[1][1], item.published) for item in page.PUBLISHED] == [
        ("hubbard_u", f"{u:.1f} %"),
        ("hubbard_v", f"{v:.1f} %"),
    ]
