"""Curation rules, name mapping errors, salt splitting and atom typing on known ionic liquids."""

import pandas as pd
import pytest

from matdisco.core.errors import InputError
from matdisco.ionic import keys
from matdisco.ionic.atom_types import atom_types, type_vocabulary, unseen_types
from matdisco.ionic.curation import curate, split_salt

RULES = {
    "pressure_max_deviation_kPa": 50.0,
    "sigma_max_S_per_m": 30.0,
    "temperature_range_K": [200.0, 500.0],
    "drop_exact_duplicates": True,
}
EMIM = "CC[n+]1ccn(C)c1"
BF4 = "F[B-](F)(F)F"


def tiny_tables(rows: list[tuple]) -> dict[str, pd.DataFrame]:
    """Snapshot tables: conductivity rows (sigma, P, T, name) and two name tables."""
    ec = pd.DataFrame(rows, columns=[keys.RAW_SIGMA, keys.RAW_PRESSURE, keys.RAW_TEMPERATURE, keys.RAW_SALT_NAME])
    ec.insert(1, "Frequency, MHz", None)
    return {
        "electrical_conductivity.csv": ec,
        "cationInfo.csv": pd.DataFrame(
            {"name": ["1-ethyl-3-methylimidazolium", "broken-ium"], "smiles": [EMIM, "C1CC[N+"]}
        ),
        "anionInfo.csv": pd.DataFrame({"name": ["tetrafluoroborate"], "smiles": [BF4]}),
        "compounds.csv": pd.DataFrame({"id": ["x"], "name": ["whole salt"], "smiles": [f"{EMIM}.[O-][N+](=O)[O-]"]}),
    }


def test_rules_drop_and_count():
    rows = [
        (1.4, 101.325, 298.15, "1-ethyl-3-methylimidazolium tetrafluoroborate"),
        (1.4, 101.325, 298.15, "1-ethyl-3-methylimidazolium tetrafluoroborate"),  # exact duplicate
        (0.0, 101.325, 300.0, "1-ethyl-3-methylimidazolium tetrafluoroborate"),  # non-positive
        (1.9, 5000.0, 310.0, "1-ethyl-3-methylimidazolium tetrafluoroborate"),  # far from ambient
        (144.6, 101.325, 320.0, "1-ethyl-3-methylimidazolium tetrafluoroborate"),  # implausible
        (2.0, None, 330.0, "1-ethyl-3-methylimidazolium tetrafluoroborate"),  # missing P = ambient, kept
        (0.5, 101.325, 298.15, "whole salt"),  # mapped through the compounds table
    ]
    points, ions, report = curate(tiny_tables(rows), RULES)
    assert len(points) == 3 and report.n_ils_kept == 2
    assert report.dropped_points["exact duplicate of another point"] == 1
    assert report.dropped_points["sigma <= 0 or missing"] == 1
    assert report.dropped_points["pressure more than 50.0 kPa from ambient"] == 1
    assert report.dropped_points["sigma above 30.0 S/m (implausible for a pure IL)"] == 1
    assert set(points[keys.NAME_SOURCE]) == {"salty-ions", "ilthermopy"}
    assert sorted(ions[keys.ION_ROLE]) == ["anion", "anion", "cation"]


def test_solid_branch_drops_the_crystal_series_only():
    """Below its melting point EMIM BF4 has a supercooled-liquid series and a crystal series ~6 ln
    units lower; the crystal points go, at any distance below the liquid, and the liquid stays."""
    name = "1-ethyl-3-methylimidazolium tetrafluoroborate"
    liquid = [(0.45, 101.325, 268.0, name), (0.60, 101.325, 278.0, name), (1.4, 101.325, 298.15, name)]
    crystal = [(0.0027, 101.325, 268.0, name), (0.011, 101.325, 279.0, name)]
    far_crystal = [(0.000001, 101.325, 230.0, name)]  # 38 K below the coldest liquid point: still dropped
    solid = {"gap_ln": 3.0, "gap_per_K": 0.1, "n_reference": 5, "min_span_K": 5.0, "default_activation_K": 7000.0}
    points, _, report = curate(tiny_tables(liquid + crystal + far_crystal), RULES | {"solid": solid})
    assert sorted(points[keys.TEMPERATURE_K]) == [268.0, 278.0, 298.15]
    rule = "solid branch (below the liquid extrapolation of warmer points)"
    assert report.rule_lists[rule] == {name: 3}
    kept_all, _, _ = curate(tiny_tables(liquid + crystal), RULES | {"solid": None})
    assert len(kept_all) == 5


def test_unknown_name_and_invalid_smiles_are_reported_not_crashed():
    rows = [
        (1.4, 101.325, 298.15, "1-ethyl-3-methylimidazolium tetrafluoroborate"),
        (1.0, 101.325, 298.15, "nobody knows this salt"),
        (1.0, 101.325, 298.15, "broken-ium tetrafluoroborate"),
    ]
    points, _, report = curate(tiny_tables(rows), RULES)
    assert report.unmapped_names == ["nobody knows this salt"]
    assert "broken-ium tetrafluoroborate" in report.rejected_names
    assert "invalid SMILES" in report.rejected_names["broken-ium tetrafluoroborate"]
    assert "broken-ium tetrafluoroborate" in report.as_markdown()
    assert len(points) == 1


def test_invalid_smiles_error_names_the_il():
    with pytest.raises(InputError, match="my IL"):
        split_salt("C1CC[N+", where="my IL")


def test_split_salt_balances_charges():
    salt = split_salt("[O-]S(=O)(=O)[O-].CC[n+]1ccn(C)c1.CC[n+]1ccn(C)c1", where="emim sulfate")
    assert (salt.n_cation, salt.n_anion) == (2, 1)
    with pytest.raises(InputError, match="not a single-cation/single-anion salt"):
        split_salt("CCO.[Na+].[Cl-]", where="x")


def test_typing_of_emim_bf4():
    cation = atom_types(EMIM, "element_aromatic_charge", "EMIM")
    assert len(cation) == 19  # C6 N2 + 11 H
    assert cation.count("N:ar:+") == 1 and cation.count("N:ar:0") == 1
    assert cation.count("C:ar:0") == 3 and cation.count("C:al:0") == 3 and cation.count("H:al:0") == 11
    assert atom_types(BF4, "element_aromatic_charge", "BF4") == ["F:al:0", "B:al:-", "F:al:0", "F:al:0", "F:al:0"]
    assert set(atom_types(EMIM, "element", "EMIM")) == {"C", "N", "H"}
    assert any(t.startswith("C:ar:0:SP2:3:ring") for t in atom_types(EMIM, "rich", "EMIM"))


def test_unseen_types_are_detected():
    vocabulary = type_vocabulary([atom_types(EMIM, "element", "EMIM")])
    assert unseen_types(atom_types(BF4, "element", "BF4"), vocabulary) == ["B", "F"]
