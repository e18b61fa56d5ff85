"""The ionic section of the results page (matdisco.ionic.page) from tiny metrics laid out by the steps'
own builders (ionic.evaluate.evaluate_metrics, ionic.generate.screening_metrics): every predictor next to
the baselines with intervals, the screening counts, the talk's figures next to ours, missing values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from matdisco.core.metrics import group_resamples
from matdisco.core.report import NOT_COMPUTED, fmt
from matdisco.ionic import keys, page
from matdisco.ionic.calibration import calibration_report
from matdisco.ionic.evaluate import evaluate_counts, evaluate_metrics, predictor_entries
from matdisco.ionic.generate import screening_metrics
from matdisco.ionic.melting import verdict_quality
from matdisco.ionic.scoring import (
    LN_LAMBDA_OFFSET,
    ILScorer,
    applicability_summary,
    at_reference_temperature,
    fold_metrics,
    interval_summary,
    wide_out_of_fold,
)
from matdisco.ionic.screening import (
    PASSES_ALL,
    PROTIC,
    SIGMA_CAP_S_PER_M,
    SINGLE_POINT_ION,
    VERDICTS,
    verdict_counts,
)
from page_helpers import build, interval, percent_interval, row_of, section, write_tree

REPO = Path(__file__).resolve().parents[3]
BASELINES = ["temperature_only", "ridge_additive"]  # ion_identity left out: "not computed"
MODELS = ["ionic_additive"]  # ionic_gnn left out: "not computed"
REFERENCE_TEMPERATURE_K = 298.15


def scored_points() -> pd.DataFrame:
    """Held-out predictions of 8 ILs x 3 temperatures (2 IL-grouped folds and a default split), long form."""
    rng = np.random.default_rng(0)
    error_scale = {"temperature_only": 0.9, "ridge_additive": 0.5, "ionic_additive": 0.3}
    rows = []
    for il in range(8):
        for temperature_K in (REFERENCE_TEMPERATURE_K, 320.0, 350.0):
            ln_sigma = -2.0 + 0.4 * il + 0.01 * (temperature_K - REFERENCE_TEMPERATURE_K)
            for fold in [f"fold_{il % 2}"] + (["default"] if il < 2 else []):
                for name, scale in error_scale.items():
                    rows.append(
                        {
                            keys.FOLD: fold,
                            keys.IL_ID: f"il{il}",
                            keys.TEMPERATURE_K: temperature_K,
                            keys.SIGMA_S_PER_M: float(np.exp(ln_sigma)),
                            keys.PRESSURE_KPA: 101.3,
                            keys.LN_SIGMA: ln_sigma,
                            LN_LAMBDA_OFFSET: -1.0 if il < 5 else np.nan,
                            keys.MODEL: name,
                            keys.PRED_LN_SIGMA: ln_sigma + scale * rng.standard_normal(),
                        }
                    )
    return pd.DataFrame(rows)


def evaluate_file() -> dict:
    """metrics/ionic/evaluate.json as ``ionic.evaluate.evaluate`` lays it out, from the scoring functions."""
    scored = scored_points()
    predictors = BASELINES + MODELS
    wide = wide_out_of_fold(scored)
    at_reference = at_reference_temperature(wide, predictors, REFERENCE_TEMPERATURE_K, 5.0)
    scorer = ILScorer(wide, at_reference, predictors)
    values, differences = interval_summary(scorer, group_resamples(len(scorer.ils), 50, 0), BASELINES)
    coverage = pd.Series({f"il{il}": "both" if il < 4 else "one" for il in range(8)})
    has_density = np.isfinite(wide[LN_LAMBDA_OFFSET])
    return evaluate_metrics(
        predictor_entries(values, fold_metrics(scored), predictors, BASELINES),
        differences,
        applicability_summary(wide, at_reference, predictors, BASELINES, coverage, 20, 0),
        evaluate_counts(
            n_folds=2,
            n_points=len(wide),
            n_ils=len(scorer.ils),
            n_ils_at_reference_T=len(at_reference),
            reference_temperature_K=REFERENCE_TEMPERATURE_K,
            window_K=5.0,
            n_points_lambda=int(has_density.sum()),
            n_ils_lambda=int(wide.loc[has_density, keys.IL_ID].nunique()),
            n_resamples=50,
            n_ils_excluded_unseen_types=3,
        ),
        calibration_report(wide, predictors, coverage, 0.9, 20, 0),
        {},
    )


def screening_file() -> dict:
    """metrics/ionic/screening.json as ``ionic.generate.generate`` lays it out: verdict counts of
    ``screening.verdict_counts`` on 6 pairs, the melting model's CV in ``melting.cross_validate``'s layout."""
    n = 6
    table = pd.DataFrame(
        {
            keys.TEMPERATURE_K: [REFERENCE_TEMPERATURE_K] * n,
            **{verdict: [k != index for k in range(n)] for index, verdict in enumerate(VERDICTS)},
            PROTIC: [True, False, False, False, False, True],
            SINGLE_POINT_ION: [False] * n,
            keys.PRED_SIGMA_S_PER_M: [5.5, 1.0, 2.0, np.nan, 0.5, 0.1],
            SIGMA_CAP_S_PER_M: [9.0] * n,
        }
    )
    table[PASSES_ALL] = table[list(VERDICTS)].all(axis=1)
    tm_K = np.array([250.0, 260.0, 350.0, 400.0])
    return screening_metrics(
        model="ionic_gnn",
        temperature_K=REFERENCE_TEMPERATURE_K,
        rules={},
        melting_cv={
            "n_salts": 4,
            "n_folds": 2,
            "ridge": {"rmse_K": 31.4, "mae_K": 25.0},
            "mean": {"rmse_K": 52.1, "mae_K": 45.0},
            "cation_family_mean": {"rmse_K": 44.7, "mae_K": 40.0},
            "liquid_verdict": verdict_quality(tm_K - 10.0, tm_K, 20.0),
        },
        model_description="ionic_gnn (ensemble of 5 member(s)), fitted on the 193 training ILs of the default split",
        half_width_ln={"seen": 1.2, "unseen_ion": 1.5},
        n_temperatures=1,
        counts=verdict_counts(table, REFERENCE_TEMPERATURE_K),
        top_pair="EMIM + DCA",
        top_sigma_S_per_m=5.5,
        talk_reference_pairs=[
            {
                "label": "dicyanamide + pyrrolidin-1-ium",
                "talk_sigma_S_per_m": 4.39,
                keys.PRED_SIGMA_S_PER_M: 3.77,
                "rank": 12,
                "of": 4321,
            },
            {"label": "thiocyanate + pyrrolidin-1-ium", "status": "measured in the data: 2.1 S/m at 298.1 K"},
        ],
    )


@pytest.fixture(scope="module")
def written() -> dict:
    """The ionic metrics files (relative path -> content), built once."""
    return {page.EVALUATE: evaluate_file(), page.SCREENING: screening_file()}


@pytest.fixture(scope="module")
def ionic(written, tmp_path_factory) -> str:
    """The ionic section of the page built from :func:`written`."""
    return section(build(write_tree(tmp_path_factory.mktemp("repo"), written)), "ionic")


def test_scores_sit_next_to_every_baseline_with_intervals(ionic, written):
    evaluate = written[page.EVALUATE]
    for name, entry in evaluate[keys.PREDICTORS].items():
        row = row_of(ionic, name)
        kfold = entry["kfold"]
        assert f"{kfold['rmse_mean']:.3f} \u00b1 {kfold['rmse_std']:.3f}" in row
        for metric in (
            "rmse_ln",
            "per_il_rmse_ln",
            keys.R2_AT_REFERENCE_T,
            keys.SPEARMAN_AT_REFERENCE_T,
            "r2_ln_lambda",
        ):
            assert interval(entry[keys.OUT_OF_FOLD][metric]) in row, (name, metric)
        assert f"<td>{entry[keys.KIND]}</td>" in row
    difference = evaluate[keys.DIFFERENCES]["ionic_additive_minus_ridge_additive"]
    row = row_of(ionic, "ionic_additive \u2212 ridge_additive")
    assert interval(difference["rmse_ln"], signed="+") in row
    assert f"<td>{difference['rmse_ln']['p_model_better']:.2f}</td>" in row
    assert "ionic_additive \u2212 temperature_only" in ionic
    assert "24 points of 8 ILs over 2 IL-grouped folds" in ionic and "3 IL(s) left out" in ionic
    assert "8 ILs within 5 K of T_ref = 298.15 K" in ionic  # the reference temperature read from the file
    assert "Digital Discovery 4" in ionic  # the literature figures of the file


def test_calibration_shows_half_widths_and_coverage_with_intervals(written):
    calibration = written[page.EVALUATE][keys.CALIBRATION]
    table = page.calibration_table(written[page.EVALUATE])
    assert "Calibrated 90.0 % intervals" in table.title
    assert [row[0] for row in table.rows] == BASELINES + MODELS
    for row in table.rows:
        coverage = calibration[row[0]]["coverage"]
        assert row[3] == percent_interval(coverage["all"]["points"])
        assert row[5] == percent_interval(coverage["unseen_ion"]["ils"])
        assert row[1] == fmt(calibration[row[0]][keys.HALF_WIDTH_LN]["seen"], "f2")  # infinite on 8 ILs: not computed
    assert page.calibration_table({}).rows == [[NOT_COMPUTED] * 6]


def test_screening_shows_verdict_counts_and_the_melting_baselines(ionic, written):
    screening = written[page.SCREENING]
    for verdict, n_passing in screening["passing"].items():
        assert f"<tr><td>{verdict}</td><td>{n_passing}</td><td>{screening['failing'][verdict]}</td></tr>" in ionic
    n_all, n_pairs = screening["n_passing_all"], screening["n_pairs"]
    assert f"<tr><td>every verdict</td><td>{n_all}</td><td>{n_pairs - n_all}</td></tr>" in ionic
    assert "<td>31.4</td>" in ionic and "<td>52.1</td>" in ionic and "<td>44.7</td>" in ionic
    assert "EMIM + DCA" in ionic and "without a prediction: 1" in ionic


def test_published_figures_sit_next_to_ours(ionic):
    assert "<td>4.39</td><td>3.77 (rank 12 of 4321)</td>" in ionic
    assert "<td>2.60</td><td>measured in the data: 2.1 S/m at 298.1 K</td>" in ionic
    assert '<td>3.30</td><td class="missing">not computed</td>' in ionic


def test_expected_predictors_without_metrics_are_not_computed(ionic):
    for name in ("ion_identity", "ionic_gnn"):  # every cell but the name
        assert row_of(ionic, name).count(NOT_COMPUTED) == 8


def test_a_file_of_the_old_layout_shows_not_computed_for_renamed_keys(written):
    """metrics written before the across-IL keys lost their temperature (r2_298, counts.temperature_K)."""
    old = yaml.safe_load(yaml.safe_dump(written[page.EVALUATE]))  # a deep copy
    for entry in old[keys.PREDICTORS].values():
        entry[keys.OUT_OF_FOLD]["r2_298"] = entry[keys.OUT_OF_FOLD].pop(keys.R2_AT_REFERENCE_T)
    old[keys.COUNTS]["temperature_K"] = old[keys.COUNTS].pop(keys.REFERENCE_TEMPERATURE_K)
    table = page.scores_table(old)
    assert all(row[6] == NOT_COMPUTED for row in table.rows) and "T_ref = not computed K" in table.note


def test_published_figures_match_the_talk_pairs_of_the_config():
    pairs = yaml.safe_load((REPO / "conf/data/ionic.yaml").read_text())["screening"]["reference_pairs"]
    published = {item.ours[1][1]: item.published for item in page.PUBLISHED}
    assert published == {pair["label"]: f"{pair['sigma_S_per_m']:.2f}" for pair in pairs}
