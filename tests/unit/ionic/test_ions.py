"""Canonical ion identity, names checked against structure, protic/aprotic class."""

import pandas as pd
import pytest

from matdisco.core.errors import InputError
from matdisco.ionic.ions import PROTIC_CAVEAT, ion_key, ion_name_table, is_protic, name_carbon_count

# The 11 cations of issue 15 that the curated table holds under two SMILES (charge on another N).
RESONANCE_PAIRS = [
    ("CCCC[n+]1ccn(C)c1", "CCCCn1cc[n+](C)c1"),
    ("CN(C)C(=[NH2+])N(C)C", "CN(C)C(N)=[N+](C)C"),
    ("CCCCC[n+]1ccn(C)c1", "CCCCCn1cc[n+](C)c1"),
    ("CCC[n+]1ccn(C)c1C", "CCCn1cc[n+](C)c1C"),
    ("CC[n+]1ccn(C)c1", "CCn1cc[n+](C)c1"),
    ("CCCCCC[n+]1ccn(C)c1", "CCCCCCn1cc[n+](C)c1"),
    ("C[n+]1ccn(CCCC#N)c1", "Cn1cc[n+](CCCC#N)c1"),
    ("CCC[n+]1ccn(C)c1", "CCCn1cc[n+](C)c1"),
    ("C=CC[n+]1ccn(C)c1", "C=CCn1cc[n+](C)c1"),
    ("CCCCCCCC[n+]1ccn(C)c1", "CCCCCCCCn1cc[n+](C)c1"),
    ("CCCC[n+]1ccn(C)c1C", "CCCCn1cc[n+](C)c1C"),
]


@pytest.mark.parametrize("first, second", RESONANCE_PAIRS)
def test_resonance_forms_share_one_key(first, second):
    assert ion_key(first) == ion_key(second)


def test_the_eleven_duplicates_collapse_to_eleven_distinct_ions():
    keys = {ion_key(s) for pair in RESONANCE_PAIRS for s in pair}
    assert len(keys) == 11


def test_homologues_keep_distinct_keys():
    assert ion_key("CCC[n+]1ccn(C)c1") != ion_key("CCCC[n+]1ccn(C)c1")


def test_invalid_smiles_names_where():
    with pytest.raises(InputError, match="cation of row 3"):
        ion_key("C1CC[N+", where="cation of row 3")


def test_name_carbon_count_of_alkyl_names():
    assert name_carbon_count("1-butyl-3-methyl-1H-imidazolium") == 8
    assert name_carbon_count("trihexyl(tetradecyl)phosphonium") == 32
    assert name_carbon_count("choline") is None  # not made of alkyl words: unchecked


def test_propyl_imidazolium_is_not_named_butyl():
    """salty's table draws '1-butyl-3-methyl-1H-imidazolium' with a propyl chain; that row is
    rejected, and the propyl cation takes its correct name from another row."""
    cations = pd.DataFrame(
        {
            "name": ["1-butyl-3-methyl-1H-imidazolium", "1-methyl-3-propylimidazolium", "1-butyl-3-methylimidazolium"],
            "smiles": ["Cn1c[n+](cc1)CCC", "CCCn1cc[n+](C)c1", "CCCCn1cc[n+](C)c1"],
        }
    )
    names, rejected = ion_name_table(cations)
    assert names[ion_key("CCC[n+]1ccn(C)c1")] == "1-methyl-3-propylimidazolium"
    assert names[ion_key("CCCC[n+]1ccn(C)c1")] == "1-butyl-3-methylimidazolium"
    assert "1-butyl-3-methyl-1H-imidazolium" in rejected


@pytest.mark.parametrize(
    "smiles, protic",
    [
        ("CC[NH3+]", True),  # ethylammonium
        ("C1CC[NH2+]C1", True),  # pyrrolidinium
        ("C[n+]1cc[nH]c1", True),  # 1-methylimidazolium: the N-H sits on a resonance form's charged N
        ("CN(C)C(N)=[N+](C)C", True),  # tetramethylguanidinium drawn with the charge on N(CH3)2
        ("CC[n+]1ccn(C)c1", False),  # EMIM
        ("OCC[N+](C)(C)C", False),  # choline: its O-H is not on the cationic centre
        ("CCCC[P+](CCCC)(CCCC)CCCC", False),
    ],
)
def test_protic_means_h_on_the_cationic_centre(smiles, protic):
    assert is_protic(smiles) is protic


def test_protic_caveat_names_proton_transfer():
    assert "proton transfer" in PROTIC_CAVEAT
