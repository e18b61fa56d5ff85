"""The ionic baselines on tiny hand-made sets whose answers are known by hand."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from matdisco.ionic import keys
from matdisco.ionic.baselines import ion_identity_predict, ridge_predict, temperature_only_predict, temperature_terms

T_REF = 298.15
TEMPERATURES_K = [280.0, 298.15, 320.0]


# hand-made ions by short name; "c1_resonance" is c1 with the charge drawn on the other nitrogen
ION = {
    "c1": "CC[n+]1ccn(C)c1",
    "c1_resonance": "CCn1cc[n+](C)c1",
    "c2": "CCCC[n+]1ccn(C)c1",
    "c3": "C1CC[NH2+]C1",
    "a1": "F[B-](F)(F)F",
    "a2": "N#C[N-]C#N",
    "a3": "N#C[S-]",
}


def _points(rows: list[tuple[str, str, str, float, float]]) -> pd.DataFrame:
    """(il, cation, anion, temperature_K, ln_sigma) rows as a points table (ions by short name)."""
    frame = pd.DataFrame(
        rows, columns=[keys.IL_ID, keys.CATION_SMILES, keys.ANION_SMILES, keys.TEMPERATURE_K, keys.LN_SIGMA]
    )
    frame[keys.CATION_SMILES] = frame[keys.CATION_SMILES].map(ION)
    frame[keys.ANION_SMILES] = frame[keys.ANION_SMILES].map(ION)
    return frame.assign(**{keys.SIGMA_S_PER_M: np.exp(frame[keys.LN_SIGMA])})


def _series(il: str, cation: str, anion: str, ln_sigma_of_T) -> list[tuple]:
    return [(il, cation, anion, t, ln_sigma_of_T(t)) for t in TEMPERATURES_K]


def test_temperature_only_is_the_mean_law_of_the_training_points():
    """Two ILs at ln sigma 0 and 2 at every temperature: the fit is ln sigma = 1, for any test IL."""
    train = _points(_series("A", "c1", "a1", lambda t: 0.0) + _series("B", "c2", "a2", lambda t: 2.0))
    test = _points([("C", "c3", "a3", 350.0, -5.0)])
    out = temperature_only_predict(train, test, {}, 0.0, T_REF)
    assert out[keys.PRED_LN_SIGMA].tolist() == pytest.approx([1.0])
    assert out[keys.UNSEEN_TYPES].tolist() == [""] and out[keys.PRED_LN_SIGMA_STD].tolist() == [0.0]


def test_temperature_only_recovers_a_plus_b_over_T_plus_c_over_T2():
    law = lambda t: 1.0 - 2.0 * (T_REF / t - 1.0) + 0.5 * (T_REF / t - 1.0) ** 2  # noqa: E731
    train = _points(_series("A", "c1", "a1", law))
    test = _points([("B", "c2", "a2", 310.0, 0.0)])
    assert temperature_only_predict(train, test, {}, 0.0, T_REF)[keys.PRED_LN_SIGMA].iloc[0] == pytest.approx(
        law(310.0)
    )


def test_temperature_terms_are_one_tau_tau_squared():
    assert temperature_terms(np.array([T_REF, T_REF / 2]), T_REF).tolist() == [[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]]


SHIFT = {"c1": 1.0, "c2": 3.0, "a1": 0.0, "a2": 2.0}


def _ion_identity_train() -> pd.DataFrame:
    """ln sigma = cation shift + anion shift (no temperature dependence); the pair c2 + a2 is left out."""
    rows = []
    for il, (cation, anion) in {"c1a1": ("c1", "a1"), "c1a2": ("c1", "a2"), "c2a1": ("c2", "a1")}.items():
        rows += _series(il, cation, anion, lambda t, c=cation, a=anion: SHIFT[c] + SHIFT[a])
    return _points(rows)


def test_ion_identity_predicts_a_new_pair_of_seen_ions_exactly():
    test = _points([("c2a2", "c2", "a2", 298.15, 5.0), ("c2a2", "c2", "a2", 330.0, 5.0)])
    out = ion_identity_predict(_ion_identity_train(), test, {}, 1e-9, T_REF)
    assert out[keys.PRED_LN_SIGMA].tolist() == pytest.approx([5.0, 5.0], abs=1e-6)


def test_ion_identity_knows_an_ion_under_another_resonance_form():
    """c1 drawn with the charge on the other nitrogen is the same ion: its shift, not the mean."""
    test = _points([("c1a1", "c1_resonance", "a1", 298.15, 0.0)])
    out = ion_identity_predict(_ion_identity_train(), test, {}, 1e-9, T_REF)
    assert out[keys.PRED_LN_SIGMA].tolist() == pytest.approx([SHIFT["c1"] + SHIFT["a1"]], abs=1e-6)


def test_ion_identity_gives_an_unseen_ion_the_mean_shift_of_its_role():
    """Unseen cation c3 with anion a1: the mean cation (2) plus a1 (0) = 2; unseen both: 2 + 1 = 3."""
    test = _points([("c3a1", "c3", "a1", 298.15, 0.0), ("c3a3", "c3", "a3", 298.15, 0.0)])
    out = ion_identity_predict(_ion_identity_train(), test, {}, 1e-9, T_REF)
    assert out[keys.PRED_LN_SIGMA].tolist() == pytest.approx([2.0, 3.0], abs=1e-6)


def test_ridge_additive_sums_per_type_terms_and_refuses_unseen_types():
    """ln sigma = 0.5 n_C - 1 n_N (temperature-independent): a new count of seen types is exact; a
    type unseen in training gives NaN and is named."""
    graphs = {
        "CN": SimpleNamespace(atom_types=["C", "N"]),
        "CCN": SimpleNamespace(atom_types=["C", "C", "N"]),
        "CNN": SimpleNamespace(atom_types=["C", "N", "N"]),
        "CCCN": SimpleNamespace(atom_types=["C", "C", "C", "N"]),
        "CS": SimpleNamespace(atom_types=["C", "S"]),
    }
    value = {il: 0.5 * g.atom_types.count("C") - 1.0 * g.atom_types.count("N") for il, g in graphs.items()}
    train = _points([r for il in ("CN", "CCN", "CNN") for r in _series(il, "c1", "a1", lambda t, il=il: value[il])])
    test = _points([("CCCN", "c1", "a1", 300.0, 0.0), ("CS", "c1", "a1", 300.0, 0.0)])
    out = ridge_predict(train, test, graphs, 1e-9, T_REF)
    assert out[keys.PRED_LN_SIGMA].iloc[0] == pytest.approx(0.5, abs=1e-5)
    assert np.isnan(out[keys.PRED_LN_SIGMA].iloc[1]) and out[keys.UNSEEN_TYPES].tolist() == ["", "S"]
