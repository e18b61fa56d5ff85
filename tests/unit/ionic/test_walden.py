"""The walden_ridge baseline on hand-made salts whose viscosity and conductivity follow the rule exactly."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from matdisco.core.errors import ConfigError
from matdisco.ionic import keys
from matdisco.ionic.baselines import ion_keys, ridge_predict
from matdisco.ionic.evaluate import baseline_predictors
from matdisco.ionic.walden import LN_ETA, WaldenRidge

T_REF = 298.15
TEMPERATURES_K = (290.0, 310.0, 330.0)
EXPONENT = 0.9
LN_C = 1.0  # ln sigma = LN_C - EXPONENT ln eta for every salt
LN_ETA_PER_TYPE = {"C": 0.3, "N": 0.5, "S": 1.0}  # ln(eta / Pa s) = sum over atoms, temperature-independent
# each hand-made IL: (cation SMILES, anion SMILES, atom types of its graph); only the keys use the SMILES
SALTS = {
    "CN": ("CC[n+]1ccn(C)c1", "F[B-](F)(F)F", ["C", "N"]),
    "CCN": ("CCCC[n+]1ccn(C)c1", "F[B-](F)(F)F", ["C", "C", "N"]),
    "CS": ("C1CC[NH2+]C1", "N#C[S-]", ["C", "S"]),
    "CNS": ("CC[n+]1ccn(C)c1", "N#C[S-]", ["C", "N", "S"]),
    "CCS": ("CCCC[n+]1ccn(C)c1", "N#C[S-]", ["C", "C", "S"]),
}
GRAPHS = {il: SimpleNamespace(atom_types=types) for il, (_, _, types) in SALTS.items()}


def _ln_eta(il: str) -> float:
    return sum(LN_ETA_PER_TYPE[t] for t in SALTS[il][2])


def _frame(ils: list[str], column: str, value_of) -> pd.DataFrame:
    """One row per IL and temperature with its ion SMILES and ``column`` = value_of(il)."""
    rows = [(il, SALTS[il][0], SALTS[il][1], t, value_of(il)) for il in ils for t in TEMPERATURES_K]
    return pd.DataFrame(rows, columns=[keys.IL_ID, keys.CATION_SMILES, keys.ANION_SMILES, keys.TEMPERATURE_K, column])


def _viscosity(ils: list[str], ln_eta_of=_ln_eta) -> pd.DataFrame:
    frame = _frame(ils, LN_ETA, ln_eta_of)
    cation, anion = ion_keys(frame)
    return frame.assign(**{keys.SALT_KEY: cation + "." + anion})


def _walden(viscosity: pd.DataFrame) -> WaldenRidge:
    return WaldenRidge(viscosity, GRAPHS, EXPONENT, alpha_residual=1e6, viscosity_weight=1.0)


def _conductivity(ils: list[str]) -> pd.DataFrame:
    return _frame(ils, keys.LN_SIGMA, lambda il: LN_C - EXPONENT * _ln_eta(il))


def test_a_type_seen_only_in_viscosity_data_is_predicted_through_the_walden_rule():
    """S occurs in no training conductivity: the additive ridge refuses CCS, walden_ridge gets it exactly."""
    train, test = _conductivity(["CN", "CCN"]), _conductivity(["CCS"])
    walden = _walden(_viscosity(["CN", "CCN", "CS", "CNS"]))(train, test, GRAPHS, 1e-9, T_REF)
    assert walden[keys.PRED_LN_SIGMA].to_numpy() == pytest.approx(test[keys.LN_SIGMA].to_numpy(), abs=1e-4)
    assert walden[keys.UNSEEN_TYPES].tolist() == [""] * len(test)
    assert np.isnan(ridge_predict(train, test, GRAPHS, 1e-9, T_REF)[keys.PRED_LN_SIGMA]).all()


def test_the_test_salts_own_viscosity_is_left_out():
    """CS is the test IL: changing its measured viscosity (by any amount) cannot change its prediction."""
    train, test = _conductivity(["CN", "CCN"]), _conductivity(["CS"])
    honest = _viscosity(["CN", "CCN", "CNS", "CS"])
    wrong = _viscosity(["CN", "CCN", "CNS", "CS"], lambda il: 50.0 if il == "CS" else _ln_eta(il))
    first = _walden(honest)(train, test, GRAPHS, 1e-9, T_REF)[keys.PRED_LN_SIGMA].to_numpy()
    second = _walden(wrong)(train, test, GRAPHS, 1e-9, T_REF)[keys.PRED_LN_SIGMA].to_numpy()
    assert first == pytest.approx(second, abs=1e-12)
    assert first == pytest.approx(test[keys.LN_SIGMA].to_numpy(), abs=1e-4)


def test_a_type_in_no_training_data_is_refused_and_named():
    train, test = _conductivity(["CN", "CCN"]), _conductivity(["CCS"])
    out = _walden(_viscosity(["CN", "CCN"]))(train, test, GRAPHS, 1e-9, T_REF)
    assert np.isnan(out[keys.PRED_LN_SIGMA]).all() and out[keys.UNSEEN_TYPES].tolist() == ["S"] * len(test)


def test_an_unknown_baseline_name_is_refused_with_the_key_and_the_known_names():
    cfg = OmegaConf.create({"data": {"evaluate": {"baselines": ["ridge_additive", "walden"]}}})
    with pytest.raises(ConfigError, match=r"data.evaluate.baselines: unknown \['walden'\].*walden_ridge"):
        baseline_predictors(cfg)
