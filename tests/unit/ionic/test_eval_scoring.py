"""Evaluation of the ionic models: the 298 K selection, IL-bootstrap, paired differences, molar
conductivity offsets and the folds every predictor is scored on."""

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from matdisco.core.metrics import group_resamples, regression_metrics
from matdisco.ionic import baselines, keys
from matdisco.ionic.density import DensityLine, molar_mass_g_per_mol
from matdisco.ionic.evaluate import held_out_predictions
from matdisco.ionic.scoring import (
    LN_LAMBDA_OFFSET,
    ILScorer,
    applicability_summary,
    at_reference_temperature,
    interval_summary,
    ion_coverage,
    ln_lambda_offsets,
    spearman,
)
from matdisco.ionic.splits import grouped_splits

EMIM_BF4 = "CC[n+]1ccn(C)c1.F[B-](F)(F)F"


def _wide(rows: list[tuple[str, float, float, float, float]]) -> pd.DataFrame:
    """(il, T, ln_sigma, pred of model m, pred of model b) rows as a wide out-of-fold table."""
    frame = pd.DataFrame(rows, columns=[keys.IL_ID, keys.TEMPERATURE_K, keys.LN_SIGMA, "m", "b"])
    return frame.assign(**{LN_LAMBDA_OFFSET: 0.0})


def test_298_selection_keeps_one_value_per_il_at_its_nearest_temperature_within_the_window():
    wide = _wide(
        [
            ("A", 290.0, 0.0, 0.0, 0.0),
            ("A", 297.0, 1.0, 1.0, 1.0),
            ("A", 299.15, 2.0, 2.5, 2.0),  # nearest: 299.15 (1.0 K)
            ("B", 310.0, 5.0, 5.0, 5.0),  # nothing within 5 K: left out
            ("C", 298.15, 3.0, 3.0, 3.0),
            ("C", 298.15, 4.0, 5.0, 4.0),
            ("C", 300.0, 9.0, 9.0, 9.0),  # two points at 298.15: mean
        ]
    )
    table = at_reference_temperature(wide, ["m", "b"], 298.15, 5.0)
    assert table[keys.IL_ID].tolist() == ["A", "C"]
    assert table[keys.LN_SIGMA].tolist() == [2.0, 3.5] and table["m"].tolist() == [2.5, 4.0]


def test_spearman_is_the_rank_correlation():
    assert spearman(np.array([1.0, 2.0, 3.0, 4.0]), np.array([10.0, 20.0, 30.0, 400.0])) == pytest.approx(1.0)
    assert spearman(np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])) == pytest.approx(-1.0)


def _three_ils() -> pd.DataFrame:
    return _wide(
        [
            ("A", 298.15, 0.0, 0.5, 0.0),
            ("A", 320.0, 1.0, 1.0, 0.0),
            ("B", 298.15, 2.0, 1.0, 2.5),
            ("B", 330.0, 3.0, 3.5, 2.0),
            ("B", 340.0, 4.0, 4.0, 4.0),
            ("C", 298.15, -1.0, -1.0, 0.0),
        ]
    )


def test_scorer_on_a_draw_equals_metrics_of_the_drawn_ils_points_stacked():
    """A draw repeats whole ILs: the scores equal plain metrics over the points of those ILs, with
    every point of a drawn IL repeated together."""
    wide = _three_ils()
    scorer = ILScorer(wide, at_reference_temperature(wide, ["m", "b"], 298.15, 5.0), ["m", "b"])
    draw = np.array([1, 1, 2])  # B twice and C; A not drawn
    stacked = pd.concat([wide[wide[keys.IL_ID] == scorer.ils[i]] for i in draw])
    expected = regression_metrics(stacked[keys.LN_SIGMA], stacked["m"])
    scores = scorer.scores(draw)
    assert scores["rmse_ln"][0] == pytest.approx(expected["rmse"]) and scores["mae_ln"][0] == pytest.approx(
        expected["mae"]
    )
    assert scores["r2_ln"][0] == pytest.approx(expected["r2"])
    per_il = [np.mean((g["m"] - g[keys.LN_SIGMA]) ** 2) for _, g in wide.groupby(keys.IL_ID)]
    assert scores["per_il_rmse_ln"][0] == pytest.approx(np.sqrt(np.mean([per_il[i] for i in draw])))
    assert scorer.scores(np.arange(3))["per_il_rmse_ln"][0] == pytest.approx(np.sqrt(np.mean(per_il)))


def test_differences_are_paired_and_name_the_better_model():
    """A model equal to the baseline differs by exactly 0 in every draw; a perfect model is better in
    every draw that can tell."""
    wide = _three_ils().assign(same=lambda f: f["b"], perfect=lambda f: f[keys.LN_SIGMA])
    models = ["b", "same", "perfect"]
    scorer = ILScorer(wide, at_reference_temperature(wide, models, 298.15, 5.0), models)
    values, differences = interval_summary(scorer, group_resamples(3, 200, 1), baselines=["b"])
    assert set(differences) == {"same_minus_b", "perfect_minus_b", "perfect_minus_same"}
    same = differences["same_minus_b"]["rmse_ln"]
    assert (same["value"], same["ci_low"], same["ci_high"], same["p_model_better"]) == (0.0, 0.0, 0.0, 0.0)
    perfect = differences["perfect_minus_b"]["rmse_ln"]
    assert perfect["ci_high"] < 0 and perfect["p_model_better"] == 1.0
    assert values["perfect"]["rmse_ln"]["value"] == 0.0 and values["perfect"][keys.R2_AT_REFERENCE_T][
        "value"
    ] == pytest.approx(1.0)


def test_ln_lambda_offset_uses_the_density_line_only_near_its_range():
    line = DensityLine(
        rho_ref_g_per_cm3=1.28, slope_g_per_cm3_K=-7e-4, t_ref_K=298.15, t_min_K=283.15, t_max_K=353.15, n_points=6
    )
    points = pd.DataFrame(
        {
            keys.SALT_NAME: ["EMIM BF4", "EMIM BF4", "no density"],
            keys.SALT_SMILES: [EMIM_BF4, EMIM_BF4, EMIM_BF4],
            keys.TEMPERATURE_K: [298.15, 400.0, 298.15],
        }
    )
    offsets = ln_lambda_offsets(points, {"EMIM BF4": line}, margin_K=10.0)
    assert offsets.iloc[0] == pytest.approx(np.log(0.01 * molar_mass_g_per_mol(EMIM_BF4) / 1.28))
    assert np.isnan(offsets.iloc[1]) and np.isnan(offsets.iloc[2])
    # sigma 1.4 S/m -> Lambda 2.165 S cm^2/mol (test_density's hand value)
    assert 1.4 * np.exp(offsets.iloc[0]) == pytest.approx(2.165, abs=0.005)


def test_every_il_is_held_out_in_one_fold_and_never_trained_on_there(monkeypatch):
    """held_out_predictions fits each baseline on the split's train + val ILs and predicts its test
    ILs: no IL is in two folds' test sets, and no fold trains on the ILs it tests."""
    ils = [f"il{i}" for i in range(12)]
    points = pd.DataFrame(
        {keys.IL_ID: np.repeat(ils, 3), keys.TEMPERATURE_K: np.tile([290.0, 310.0, 330.0], 12), keys.LN_SIGMA: 0.0}
    )
    splits = grouped_splits(ils, n_test=3, val_fraction=0.2, n_folds=4, seed=3)
    seen = []

    def spy(train, test, graphs, alpha, t_ref_K):
        seen.append((set(train[keys.IL_ID]), set(test[keys.IL_ID])))
        return baselines.temperature_only_predict(train, test, graphs, alpha, t_ref_K)

    monkeypatch.setitem(baselines.BASELINES, "spy", spy)
    cfg = OmegaConf.create(
        {
            "data": {
                "evaluate": {
                    "models": [],
                    "blends": {},
                    "baselines": ["spy"],
                    "baseline_alpha": {"spy": 0.0},
                    "baseline_temperature_reference_K": 298.15,
                }
            }
        }
    )
    predictions = held_out_predictions(cfg, points, {}, splits)
    assert len(seen) == 5 and all(not (train & test) for train, test in seen)  # default + 4 folds
    assert sorted(il for _, test in seen[1:] for il in test) == sorted(ils)  # each IL tested in exactly one fold
    folds = predictions[predictions[keys.FOLD] != "default"]
    assert folds.groupby(keys.IL_ID)[keys.FOLD].nunique().max() == 1 and folds[keys.IL_ID].nunique() == 12


def test_ion_coverage_counts_the_held_out_ils_ions_seen_in_its_folds_training_ils():
    """Fold f1 trains on A (c1 a1) and B (c2 a2): C (c1 a2) has both ions seen, D (c1 a3) one,
    E (c3 a3) neither; fold f2 trains on C only, so A (c1 a1) there has one."""
    ions = {"A": ("c1", "a1"), "B": ("c2", "a2"), "C": ("c1", "a2"), "D": ("c1", "a3"), "E": ("c3", "a3")}
    wide = pd.DataFrame({keys.IL_ID: ["C", "C", "D", "E", "A"], keys.FOLD: ["f1", "f1", "f1", "f1", "f2"]})
    coverage = ion_coverage(wide, ions, {"f1": ["A", "B"], "f2": ["C"]})
    assert coverage.to_dict() == {"C": "both", "D": "one", "E": "neither", "A": "one"}


def test_applicability_summary_scores_each_class_on_its_own_ils_only():
    """Model m is exact on the 'both' ILs and off by 1 on the 'one' ILs: RMSE 0 and 1 per class;
    a class of one IL is counted but not scored."""
    truth = {"A": 0.0, "B": 2.0, "C": 1.0, "D": 4.0, "E": 0.5}  # ln sigma at 298.15 K
    error = {"A": 0.0, "B": 0.0, "C": 1.0, "D": 1.0, "E": 3.0}  # model m minus truth
    rows = []
    for il, y in truth.items():
        rows += [(il, 298.15, y, y + error[il], y), (il, 330.0, y + 1.0, y + 1.0 + error[il], y + 1.0)]
    wide = _wide(rows)
    coverage = pd.Series({"A": "both", "B": "both", "C": "one", "D": "one", "E": "neither"})
    at_reference = at_reference_temperature(wide, ["m", "b"], 298.15, 5.0)
    summary = applicability_summary(wide, at_reference, ["b", "m"], ["b"], coverage, 50, 0)
    assert summary["both"]["predictors"]["m"]["rmse_ln"]["value"] == pytest.approx(0.0)
    assert summary["one"]["predictors"]["m"]["rmse_ln"]["value"] == pytest.approx(1.0)
    assert summary["one"]["differences"]["m_minus_b"]["rmse_ln"]["value"] == pytest.approx(1.0)
    assert summary["neither"] == {"n_ils": 1, "n_points": 2, keys.N_ILS_AT_REFERENCE_T: 1}
    assert (summary["both"]["n_ils"], summary["both"]["n_points"]) == (2, 4)
