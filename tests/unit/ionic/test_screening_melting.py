"""The melting-point model behind "likely liquid": salts grouped by InChIKey, one fold per salt."""

import numpy as np
import pandas as pd

from matdisco.ionic import keys
from matdisco.ionic.melting import RAW_TM, TM_K, MeltingModel, melting_table, salt_folds, verdict_quality

BF4 = "F[B-](F)(F)F"
SETTINGS = {"cation_bits": 8, "anion_bits": 4, "ridge_alpha": 10.0, "n_folds": 3, "margin_K": 20.0}


def _tables_and_raw():
    """Imidazolium BF4 salts (C1..C10 chains), each under two names and, for even chains, with the
    charge drawn on the other nitrogen under its second name."""
    compounds, raw = [], []
    for n in range(1, 11):
        forms = ("C" * n + "[n+]1ccn(C)c1", "C" * n + "n1cc[n+](C)c1" if n % 2 == 0 else "C" * n + "[n+]1ccn(C)c1")
        for k, cation in enumerate(forms):
            name = f"C{n}mim BF4 name{k}"
            compounds.append({"name": name, "smiles": f"{cation}.{BF4}"})
            raw.append({keys.RAW_SALT_NAME: name, RAW_TM: 240.0 + 12.0 * n + k})
    empty = pd.DataFrame({"name": [], "smiles": []})
    return {"compounds.csv": pd.DataFrame(compounds), "cationInfo.csv": empty, "anionInfo.csv": empty}, pd.DataFrame(
        raw
    )


def test_synonyms_and_resonance_forms_are_one_salt_so_no_salt_is_in_two_folds():
    tables, raw = _tables_and_raw()
    table = melting_table(raw, tables)
    assert len(table) == 10 and table[keys.SALT_KEY].is_unique
    folds = salt_folds(len(table), 3, seed=0)
    fold_of_key = pd.Series(folds, index=table[keys.SALT_KEY])
    assert fold_of_key.groupby(level=0).nunique().max() == 1
    assert (
        table.loc[
            table[keys.CATION_SMILES].str.startswith("CC[n+]") | table[keys.CATION_SMILES].str.startswith("CCn1"), TM_K
        ].iloc[0]
        == 264.5
    )


def test_measured_melting_point_is_found_under_either_resonance_form():
    tables, raw = _tables_and_raw()
    model = MeltingModel.train(raw, tables, SETTINGS, seed=0)
    assert model.cv["n_salts"] == 10 and model.cv["n_folds"] == 3 and len(model.fold_models) == 3
    _, std, measured = model.tm_K("CCCCn1cc[n+](C)c1", BF4)
    _, _, measured_other = model.tm_K("CCCC[n+]1ccn(C)c1", BF4)
    assert measured == measured_other == 288.5 and std >= 0.0
    assert np.isnan(model.tm_K("CCCCCCCCCCCC[n+]1ccn(C)c1", BF4)[2]), "no measured Tm for the C12 salt"


def test_verdict_quality_counts_precision_and_recall():
    quality = verdict_quality(
        np.array([250.0, 270.0, 290.0, 260.0]), np.array([260.0, 310.0, 280.0, 290.0]), margin_K=20.0
    )
    assert quality["n_called_liquid"] == 3 and quality["n_liquid"] == 3, (
        "called: Tm_pred + 20 < 298.15; liquid: Tm < 298.15"
    )
    assert quality["precision"] == 2 / 3 and quality["recall"] == 2 / 3
