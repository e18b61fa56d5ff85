"""Screening verdicts on hand-made pairs: resonance duplicates, single-point ions, solids, sigma range."""

import numpy as np
import pandas as pd

from matdisco.ionic import keys
from matdisco.ionic.screening import (
    PASSES_ALL,
    VERDICTS,
    VerdictRules,
    candidate_pairs,
    domain_verdict,
    identity_verdicts,
    pair_table,
    rank,
    temperature_verdicts,
    verdict_counts,
)

EMIM_A, EMIM_B = "CC[n+]1ccn(C)c1", "CCn1cc[n+](C)c1"  # one cation, charge drawn on either N
BMIM, BF4, DCA, SO4 = "CCCCn1cc[n+](C)c1", "F[B-](F)(F)F", "N#C[N-]C#N", "O=S(=O)([O-])[O-]"
RULES = VerdictRules(
    min_ils_per_ion=1, min_points_per_ion=2, max_half_width_ln=1.0, sigma_range_window_K=10.0, liquid_margin_K=20.0
)


def _points(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    """(cation, anion, T K, sigma S/m) rows as a curated points table."""
    frame = pd.DataFrame(rows, columns=[keys.CATION_SMILES, keys.ANION_SMILES, keys.TEMPERATURE_K, keys.SIGMA_S_PER_M])
    return frame.assign(**{keys.IL_ID: frame[keys.CATION_SMILES] + "." + frame[keys.ANION_SMILES]})


def _ions(cations: list[str], anions: list[str]) -> pd.DataFrame:
    rows = [{keys.ION_SMILES: s, keys.ION_NAME: s, keys.ION_ROLE: "cation", keys.ION_CHARGE: 1} for s in cations]
    rows += [{keys.ION_SMILES: s, keys.ION_NAME: s, keys.ION_ROLE: "anion", keys.ION_CHARGE: -1} for s in anions]
    return pd.DataFrame(rows)


def test_pair_measured_under_another_resonance_form_is_not_new_and_duplicates_are_marked():
    points = _points([(EMIM_A, BF4, 298.15, 1.4), (EMIM_A, BF4, 308.15, 1.8), (BMIM, DCA, 298.15, 1.0)])
    pairs = candidate_pairs(_ions([EMIM_A, EMIM_B, BMIM], [BF4, DCA]), points)
    by_pair = pairs.set_index([keys.CATION_SMILES, keys.ANION_SMILES])
    assert not by_pair.loc[(EMIM_B, BF4), "new_salt"], "EMIM BF4 is measured, drawn with the charge on the other N"
    assert by_pair.loc[(EMIM_A, DCA), "new_salt"] and by_pair.loc[(EMIM_B, DCA), "new_salt"]
    assert by_pair.loc[(EMIM_A, DCA), "unique"] != by_pair.loc[(EMIM_B, DCA), "unique"], (
        "one form of EMIM DCA is listed"
    )
    assert by_pair.loc[(EMIM_A, DCA), "unique"], "the listed form is the one the data hold"
    assert pairs["unique"].sum() == pairs[keys.SALT_KEY].nunique() == 4


def test_stoichiometry_of_a_divalent_anion():
    pairs = pair_table([BMIM], [SO4])
    assert (pairs["n_cation"].iloc[0], pairs["n_anion"].iloc[0]) == (2, 1)


def test_single_point_ion_is_flagged_and_out_of_domain():
    points = _points(
        [
            (EMIM_A, BF4, 298.15, 1.4),
            (EMIM_A, BF4, 308.15, 1.8),
            (BMIM, BF4, 298.15, 1.0),
            (BMIM, BF4, 303.15, 1.1),
            (BMIM, DCA, 298.15, 1.2),
        ]
    )
    pairs = domain_verdict(identity_verdicts(pair_table([EMIM_B, EMIM_B], [DCA, BF4]), points), points, RULES)
    dca, bf4 = pairs.iloc[0], pairs.iloc[1]
    assert dca["single_point_ion"] and not dca["in_domain"] and dca["anion_n_points"] == 1
    assert (bf4["cation_n_points"], bf4["cation_n_ils"], bf4["anion_n_ils"]) == (2, 1, 2), (
        "resonance forms pool their support"
    )
    assert not bf4["single_point_ion"] and bf4["in_domain"]


def _table(tm_pred_K, tm_measured_K, pred_sigma, std=0.1, unseen="", half_width=0.5):
    rows = len(tm_pred_K)
    return pd.DataFrame(
        {
            keys.TEMPERATURE_K: [298.15] * rows,
            "tm_pred_K": tm_pred_K,
            "tm_pred_std_K": [5.0] * rows,
            "tm_measured_K": tm_measured_K,
            keys.PRED_SIGMA_S_PER_M: pred_sigma,
            keys.PRED_LN_SIGMA: np.log(pred_sigma),
            keys.PRED_LN_SIGMA_STD: [std] * rows,
            "half_width_ln": half_width if isinstance(half_width, list) else [half_width] * rows,
            keys.UNSEEN_TYPES: [unseen] * rows,
            "new_salt": [True] * rows,
            "unique": [True] * rows,
            "in_domain": [True] * rows,
            "protic": [False] * rows,
            "single_point_ion": [False] * rows,
        }
    )


def test_solid_salts_fail_the_liquid_verdict():
    points = _points([(BMIM, BF4, 300.0, 2.0)])
    table = temperature_verdicts(
        _table([250.0, 285.0, 250.0, 330.0], [np.nan, np.nan, 350.0, 280.0], [1.0] * 4), points, RULES
    )
    assert list(table["likely_liquid"]) == [True, False, False, True], (
        "pred 250+20 < 298; 285+20 > 298; a measured Tm wins"
    )
    assert list(table[PASSES_ALL]) == [True, False, False, True]


def test_prediction_above_the_measured_range_is_capped_flagged_and_not_ranked():
    points = _points([(BMIM, BF4, 300.0, 2.0), (BMIM, BF4, 400.0, 9.0)])
    table = temperature_verdicts(_table([250.0, 250.0, 250.0], [np.nan] * 3, [6.3, 1.5, 1.9], std=0.2), points, RULES)
    assert list(table["within_sigma_range"]) == [False, True, True], "the cap is the highest sigma within 10 K: 2.0 S/m"
    assert table["pred_sigma_capped_S_per_m"].iloc[0] == 2.0
    ranked = rank(table.assign(**{keys.CATION_NAME: "c", keys.ANION_NAME: "a"}), 298.15)
    assert list(ranked[keys.PRED_SIGMA_S_PER_M]) == [1.9, 1.5] and list(ranked["rank"]) == [1, 2]
    counts = verdict_counts(table, 298.15)
    assert (
        counts["n_passing_all"] == 2
        and counts["failing"]["within_sigma_range"] == 1
        and counts["n_capped_at_sigma_range"] == 1
    )
    assert set(counts["passing"]) == set(VERDICTS)


def test_wide_interval_and_unseen_types_fail_their_verdicts():
    points = _points([(BMIM, BF4, 300.0, 2.0)])
    wide = temperature_verdicts(_table([250.0], [np.nan], [1.0], half_width=1.6), points, RULES)
    unseen = temperature_verdicts(_table([250.0], [np.nan], [1.0], unseen="Si"), points, RULES)
    assert not wide["confident"].iloc[0] and not wide[PASSES_ALL].iloc[0]
    assert not unseen["known_types"].iloc[0] and not unseen[PASSES_ALL].iloc[0]


def test_nearest_measured_point_matches_a_scan_per_row():
    import numpy as np
    import pandas as pd

    from matdisco.ionic import keys
    from matdisco.ionic.screening import nearest_measured, salt_keys

    emim, bmim, bf4 = "CCn1cc[n+](C)c1", "CCCCn1cc[n+](C)c1", "F[B-](F)(F)F"
    points = pd.DataFrame(
        {
            keys.CATION_SMILES: [emim, emim, emim, "CC[n+]1ccn(C)c1", bmim],
            keys.ANION_SMILES: [bf4] * 5,
            keys.TEMPERATURE_K: [300.0, 320.0, 280.0, 310.0, 298.15],
            keys.SIGMA_S_PER_M: [1.0, 2.0, 0.5, 1.5, 0.3],
        }
    )
    table = pd.DataFrame(
        {
            keys.SALT_KEY: list(salt_keys(points.iloc[[0, 0, 0, 4]])) + ["NEW.SALT"],
            keys.TEMPERATURE_K: [305.0, 315.0, 200.0, 400.0, 300.0],
        },
        index=[7, 3, 9, 1, 5],  # not a RangeIndex: rows are matched by position
    )
    got = nearest_measured(table, points)
    measured = points.assign(**{keys.SALT_KEY: salt_keys(points)})
    for (_, row), (T, sigma) in zip(
        table.iterrows(), zip(got["measured_temperature_K"], got["measured_sigma_S_per_m"])
    ):
        same = measured[measured[keys.SALT_KEY] == row[keys.SALT_KEY]]
        if not len(same):
            assert np.isnan(T) and np.isnan(sigma)
            continue
        best = same.iloc[(same[keys.TEMPERATURE_K] - row[keys.TEMPERATURE_K]).abs().argmin()]
        assert (T, sigma) == (best[keys.TEMPERATURE_K], best[keys.SIGMA_S_PER_M])
    assert list(got["measured_temperature_K"][:2]) == [300.0, 320.0]  # ties (305 K, 315 K): the first point wins


def test_confident_is_judged_on_the_calibrated_width_not_on_the_ensemble_spread():
    """A zero spread without a calibration is not confident; a wide calibrated interval is not either."""
    points = _points([(BMIM, BF4, 300.0, 2.0)])
    table = temperature_verdicts(
        _table([250.0] * 3, [np.nan] * 3, [1.0] * 3, std=0.0, half_width=[0.8, 1.6, np.nan]), points, RULES
    )
    assert list(table["confident"]) == [True, False, False]
