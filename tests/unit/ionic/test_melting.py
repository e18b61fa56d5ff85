"""Melting-point model: salt table, features, ridge, salt folds, baselines and the liquid verdict."""

import numpy as np
import pandas as pd

from matdisco.ionic import keys
from matdisco.ionic.melting import (
    RAW_TM,
    TM_K,
    Ridge,
    cation_family,
    cross_validate,
    likely_liquid_298,
    melting_table,
    pair_features,
    predict_tm,
    salt_folds,
)

BF4 = "F[B-](F)(F)F"


def imidazolium(n_carbons: int) -> str:
    """1-alkyl-3-methylimidazolium with an n-carbon chain."""
    return "C" * n_carbons + "[n+]1ccn(C)c1"


def homologue_table() -> pd.DataFrame:
    """Alkyl-imidazolium BF4 and a few ammonium salts, Tm rising 12 K per chain carbon."""
    rows = [
        {keys.IL_ID: f"im{n}", keys.CATION_SMILES: imidazolium(n), keys.ANION_SMILES: BF4, TM_K: 240.0 + 12.0 * n}
        for n in range(1, 13)
    ]
    rows += [
        {
            keys.IL_ID: f"am{n}",
            keys.CATION_SMILES: "C" * n + "[N+](C)(C)C",
            keys.ANION_SMILES: BF4,
            TM_K: 300.0 + 12.0 * n,
        }
        for n in range(1, 9)
    ]
    return pd.DataFrame(rows)


def test_melting_table_maps_names_averages_synonyms_and_skips_unknown():
    tables = {
        "compounds.csv": pd.DataFrame({"name": ["EMIM BF4"], "smiles": [f"{imidazolium(2)}.{BF4}"]}),
        "cationInfo.csv": pd.DataFrame({"name": ["1-ethyl-3-methylimidazolium"], "smiles": ["CCn1cc[n+](C)c1"]}),
        "anionInfo.csv": pd.DataFrame({"name": ["tetrafluoroborate"], "smiles": [BF4]}),
    }
    raw = pd.DataFrame(
        {
            keys.RAW_SALT_NAME: ["EMIM BF4", "1-ethyl-3-methylimidazolium tetrafluoroborate", "unknown salt"],
            RAW_TM: [286.0, 290.0, 400.0],
        }
    )
    table = melting_table(raw, tables)
    assert len(table) == 1 and table[TM_K].iloc[0] == 288.0


def test_cation_families():
    assert cation_family(imidazolium(2)) == "imidazolium"
    assert cation_family("CC[NH3+]") == "ammonium"
    assert cation_family("CCCC[P+](CCCC)(CCCC)CCCC") == "phosphonium"
    assert cation_family("CCCC[N+]1(C)CCCC1") == "pyrrolidinium"


def test_pair_features_shape_and_protic_flag():
    aprotic = pair_features(imidazolium(2), BF4, 8, 4)
    protic = pair_features("CC[NH3+]", BF4, 8, 4)
    assert aprotic.shape == (9 + 8 + 9 + 4 + 1,) and aprotic[-1] == 0.0 and protic[-1] == 1.0


def test_ridge_recovers_a_linear_law():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3))
    y = 300.0 + x @ np.array([10.0, -5.0, 0.0])
    model = Ridge.fit(x, y, alpha=1e-6)
    assert np.allclose(model.predict(x), y, atol=1e-3)


def test_salt_folds_are_balanced_and_seeded():
    folds = salt_folds(23, 5, seed=1)
    assert sorted(np.bincount(folds)) == [4, 4, 5, 5, 5]
    assert np.array_equal(folds, salt_folds(23, 5, seed=1))


def test_cross_validation_beats_the_baselines_on_a_chain_length_trend():
    table = homologue_table()
    x = np.stack([pair_features(c, a, 8, 4) for c, a in zip(table[keys.CATION_SMILES], table[keys.ANION_SMILES])])
    metrics, models = cross_validate(table, x, alpha=1.0, n_folds=5, seed=0)
    assert metrics["n_salts"] == 20 and len(models) == 5
    assert metrics["ridge"]["rmse_K"] < metrics["cation_family_mean"]["rmse_K"] < metrics["mean"]["rmse_K"]
    tm_K, spread_K = predict_tm(models, pair_features(imidazolium(4), BF4, 8, 4))
    assert abs(tm_K - 288.0) < 15.0 and spread_K >= 0.0


def test_likely_liquid_verdict_uses_the_margin():
    assert likely_liquid_298(270.0, margin_K=20.0)
    assert not likely_liquid_298(285.0, margin_K=20.0)
