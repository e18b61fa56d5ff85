"""Ions as torch-geometric graphs: node features for the GNN, atom-type labels for the additive model.

A formula unit is a disjoint union of ion graphs (no bonds between ions), so every quantity summed
over its atoms is the stoichiometric sum of the ions' sums. Graphs are therefore built once per ion
and salts are batched as lists of ion graphs with multiplicities.
"""

from __future__ import annotations

import torch
from rdkit import Chem
from torch_geometric.data import Data

from matdisco.ionic.atom_types import atom_type, molecule_with_hydrogens

ELEMENTS = ("H", "B", "C", "N", "O", "F", "Si", "P", "S", "Cl", "Br", "I")
HYBRIDISATIONS = ("S", "SP", "SP2", "SP3", "SP3D", "SP3D2")
BOND_TYPES = (Chem.BondType.SINGLE, Chem.BondType.DOUBLE, Chem.BondType.TRIPLE, Chem.BondType.AROMATIC)
MAX_DEGREE = 6


def _one_hot(value, choices) -> list[float]:
    """One-hot over ``choices`` plus a final 'other' slot."""
    vector = [0.0] * (len(choices) + 1)
    vector[choices.index(value) if value in choices else len(choices)] = 1.0
    return vector


def atom_features(atom: Chem.Atom) -> list[float]:
    """Node feature vector: element, aromatic, formal charge, hybridisation, degree, ring (length NODE_DIM)."""
    charge = max(-1, min(1, atom.GetFormalCharge()))
    return (
        _one_hot(atom.GetSymbol(), ELEMENTS)
        + [float(atom.GetIsAromatic())]
        + _one_hot(charge, (-1, 0, 1))
        + _one_hot(atom.GetHybridization().name, HYBRIDISATIONS)
        + _one_hot(min(atom.GetDegree(), MAX_DEGREE), tuple(range(MAX_DEGREE + 1)))
        + [float(atom.IsInRing())]
    )


def bond_features(bond: Chem.Bond) -> list[float]:
    """Edge feature vector: bond type and conjugation (length EDGE_DIM)."""
    return _one_hot(bond.GetBondType(), BOND_TYPES) + [float(bond.GetIsConjugated())]


NODE_DIM = len(ELEMENTS) + 1 + 1 + 4 + len(HYBRIDISATIONS) + 1 + MAX_DEGREE + 2 + 1
EDGE_DIM = len(BOND_TYPES) + 1 + 1


def ion_graph(smiles: str, scheme: str, where: str) -> Data:
    """Graph of one ion with explicit H.

    Fields: ``x`` [n_atoms, NODE_DIM] float, ``edge_index`` [2, 2 n_bonds] long (both directions),
    ``edge_attr`` [2 n_bonds, EDGE_DIM] float, ``atom_types`` list[str] (labels under ``scheme``).
    """
    mol = molecule_with_hydrogens(smiles, where)
    x = torch.tensor([atom_features(atom) for atom in mol.GetAtoms()], dtype=torch.float32)
    pairs, attrs = [], []
    for bond in mol.GetBonds():
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        pairs += [(i, j), (j, i)]
        attrs += [bond_features(bond)] * 2
    edge_index = torch.tensor(pairs, dtype=torch.long).t().reshape(2, -1)
    edge_attr = torch.tensor(attrs, dtype=torch.float32).reshape(-1, EDGE_DIM)
    types = [atom_type(atom, scheme) for atom in mol.GetAtoms()]
    return Data(x=x, edge_index=edge_index, edge_attr=edge_attr, atom_types=types, num_nodes=x.shape[0])


def with_type_id(graph: Data, vocabulary: dict[str, int]) -> Data:
    """Copy of ``graph`` with ``type_id`` [n_atoms] long: vocabulary index, -1 for unseen types."""
    graph = graph.clone()
    graph.type_id = torch.tensor([vocabulary.get(t, -1) for t in graph.atom_types], dtype=torch.long)
    return graph
