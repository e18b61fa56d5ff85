"""Ion identity, names and protic/aprotic class.

Identity: the standard InChIKey of the ion, which is the same for its resonance forms (the charge
drawn on either nitrogen of an imidazolium, ``CC[n+]1ccn(C)c1`` and ``CCn1cc[n+](C)c1``) and for its
mobile-H tautomers, where canonical SMILES differ.

Names: salty's cation and anion tables (name -> SMILES) are keyed by that InChIKey. They hold wrong
rows (``1-butyl-3-methyl-1H-imidazolium`` drawn with a propyl chain), so a name is only taken when
its alkyl words agree with the ion's carbon count, wherever the name is made of such words alone.

Protic: a cation carrying an H on its cationic centre (N-H, O-H, P-H or S-H on an atom that holds
the positive charge in some resonance form) can give that proton back to the anion.
"""

from __future__ import annotations

import re

import pandas as pd
from rdkit import Chem
from rdkit.Chem import inchi

from matdisco.core.errors import InputError

PROTIC_CAVEAT = (
    "protic: the cation holds an N-H/O-H/P-H on its cationic centre; proton transfer back to the anion "
    "gives neutral acid and base, so the liquid may be only partly ionic (ionicity below 1, conductivity "
    "lower than a fully ionic liquid of this viscosity) and may lose the volatile neutral on heating"
)
_LONG_ALKYLS = {"octadecyl": 18, "hexadecyl": 16, "tetradecyl": 14, "dodecyl": 12, "undecyl": 11}
_ALKYLS = {
    "decyl": 10,
    "nonyl": 9,
    "octyl": 8,
    "heptyl": 7,
    "hexyl": 6,
    "pentyl": 5,
    "butyl": 4,
    "propyl": 3,
    "ethyl": 2,
    "methyl": 1,
}
_MULTIPLIERS = {"": 1, "di": 2, "tri": 3, "tetra": 4}
_CORES = {
    "imidazolium": 3,
    "pyridinium": 5,
    "pyrrolidinium": 4,
    "piperidinium": 5,
    "ammonium": 0,
    "aminium": 0,
    "phosphonium": 0,
}
_WORD = re.compile(
    "(" + "|".join(_LONG_ALKYLS) + ")|(di|tri|tetra)?(" + "|".join(_ALKYLS) + ")|(" + "|".join(_CORES) + ")"
)
_LOCANTS = re.compile(r"[\d,\-\(\)\[\] ]|(?<=\d)h|\bn\b")


def ion_mol(smiles: str, where: str = "ion") -> Chem.Mol:
    """RDKit molecule of ``smiles``; :class:`InputError` naming ``where`` if it cannot be parsed."""
    mol = Chem.MolFromSmiles(smiles) if isinstance(smiles, str) and smiles else None
    if mol is None:
        raise InputError(f"invalid SMILES {smiles!r}", where=where, expected="a SMILES string RDKit can parse")
    return mol


def ion_key(smiles: str, where: str = "ion") -> str:
    """Standard InChIKey (27 characters) of an ion: equal for its resonance forms and tautomers.

    Computed once per SMILES string (:data:`_ION_KEYS`): screening asks for the same ions per pair."""
    key = _ION_KEYS.get(smiles)
    if key is None:
        key = _ION_KEYS[smiles] = inchi.MolToInchiKey(ion_mol(smiles, where))
    return key


_ION_KEYS: dict[str, str] = {}
"""InChIKey by SMILES string, filled by :func:`ion_key`."""


def name_carbon_count(name: str) -> int | None:
    """Carbons implied by a name made only of alkyl words and a core (``1-butyl-3-methylimidazolium``: 8).

    None when the name holds anything else (functional groups, iso-, other cores): no check then.
    """
    text = name.lower().strip(", ")
    total, rest, found_core = 0, text, False
    for match in _WORD.finditer(text):
        long_alkyl, multiplier, alkyl, core = match.groups()
        if long_alkyl:
            total += _LONG_ALKYLS[long_alkyl]
        elif alkyl:
            total += _MULTIPLIERS[multiplier or ""] * _ALKYLS[alkyl]
        else:
            total += _CORES[core]
            found_core = True
        rest = rest.replace(match.group(0), " ", 1)
    return total if found_core and not _LOCANTS.sub("", rest).strip() else None


def name_matches_structure(name: str, mol: Chem.Mol) -> bool:
    """False only when the name's alkyl words imply another carbon count than the molecule's."""
    implied = name_carbon_count(name)
    return implied is None or implied == sum(atom.GetSymbol() == "C" for atom in mol.GetAtoms())


def ion_name_table(*tables: pd.DataFrame) -> tuple[dict[str, str], dict[str, str]]:
    """InChIKey -> first listed name agreeing with the structure, and rejected name -> why.

    ``tables``: frames with ``name`` and ``smiles`` columns (salty's cationInfo/anionInfo); rows
    with unparsable SMILES are skipped.
    """
    names: dict[str, str] = {}
    rejected: dict[str, str] = {}
    for table in tables:
        for name, smiles in zip(table["name"], table["smiles"]):
            mol = Chem.MolFromSmiles(smiles) if isinstance(smiles, str) else None
            if mol is None:
                continue
            name = str(name).strip(", ")
            if not name_matches_structure(name, mol):
                rejected[name] = (
                    f"{name_carbon_count(name)} carbons implied, {smiles} has {sum(a.GetSymbol() == 'C' for a in mol.GetAtoms())}"
                )
                continue
            names.setdefault(inchi.MolToInchiKey(mol), name)
    return names, rejected


def cationic_centres(mol: Chem.Mol) -> set[int]:
    """Indices of atoms that carry the positive charge in at least one resonance form."""
    centres = {atom.GetIdx() for atom in mol.GetAtoms() if atom.GetFormalCharge() > 0}
    for form in Chem.ResonanceMolSupplier(mol, Chem.KEKULE_ALL):
        if form is not None:
            centres |= {atom.GetIdx() for atom in form.GetAtoms() if atom.GetFormalCharge() > 0}
    return centres


def is_protic(cation_smiles: str, where: str = "cation") -> bool:
    """True when an N, O, P or S atom of the cationic centre holds a hydrogen (e.g. ethylammonium,
    1-methylimidazolium ``C[n+]1cc[nH]c1``); False for EMIM, pyrrolidinium with two alkyls, choline."""
    mol = ion_mol(cation_smiles, where)
    return any(
        mol.GetAtomWithIdx(i).GetSymbol() in {"N", "O", "P", "S"} and mol.GetAtomWithIdx(i).GetTotalNumHs() > 0
        for i in cationic_centres(mol)
    )
