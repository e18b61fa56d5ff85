"""Atom typing of ions with RDKit (explicit hydrogens), by a configurable scheme.

Schemes (``data.typing.scheme``):
- ``element``: the element symbol, e.g. ``C``.
- ``element_aromatic_charge``: element, aromatic flag, formal charge sign, e.g. ``C:ar:0``, ``N:al:+``.
- ``rich``: the above + hybridisation, heavy-and-H degree, ring membership, e.g. ``C:al:0:SP3:4:ring``.
"""

from __future__ import annotations

from rdkit import Chem

from matdisco.core.errors import InputError

SCHEMES = ("element", "element_aromatic_charge", "rich")


def _charge_sign(charge: int) -> str:
    return "+" if charge > 0 else "-" if charge < 0 else "0"


def atom_type(atom: Chem.Atom, scheme: str) -> str:
    """Type label of one RDKit atom under ``scheme``."""
    if scheme == "element":
        return atom.GetSymbol()
    base = f"{atom.GetSymbol()}:{'ar' if atom.GetIsAromatic() else 'al'}:{_charge_sign(atom.GetFormalCharge())}"
    if scheme == "element_aromatic_charge":
        return base
    if scheme == "rich":
        ring = "ring" if atom.IsInRing() else "chain"
        return f"{base}:{atom.GetHybridization().name}:{atom.GetDegree()}:{ring}"
    raise InputError(f"unknown atom-typing scheme {scheme!r}", expected=f"one of {SCHEMES}")


def molecule_with_hydrogens(smiles: str, where: str) -> Chem.Mol:
    """RDKit molecule with explicit hydrogens; :class:`InputError` naming ``where`` if unparsable."""
    mol = Chem.MolFromSmiles(smiles) if isinstance(smiles, str) and smiles else None
    if mol is None:
        raise InputError(f"invalid SMILES {smiles!r}", where=where, expected="a SMILES string RDKit can parse")
    return Chem.AddHs(mol)


def atom_types(smiles: str, scheme: str, where: str) -> list[str]:
    """Type label of every atom (hydrogens included) of ``smiles``, in RDKit atom order."""
    return [atom_type(atom, scheme) for atom in molecule_with_hydrogens(smiles, where).GetAtoms()]


def type_vocabulary(type_lists: list[list[str]]) -> dict[str, int]:
    """Sorted type -> index map over all types in ``type_lists`` (deterministic)."""
    return {label: index for index, label in enumerate(sorted({t for types in type_lists for t in types}))}


def unseen_types(types: list[str], vocabulary: dict[str, int]) -> list[str]:
    """Sorted distinct types of ``types`` that are absent from ``vocabulary``."""
    return sorted({t for t in types if t not in vocabulary})
