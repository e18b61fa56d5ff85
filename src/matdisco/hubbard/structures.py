"""Crystal structures of the Hubbard data set, built with ASE (lengths in angstrom).

Atoms carry ``tags``: 0 non-magnetic, 1 spin-up sublattice, 2 spin-down sublattice. The QE
species label of an atom is its symbol followed by its tag when the tag is non-zero (``Ni1``,
``Ni2``), so that AFM sublattices are distinct species in pw.x.

Structures are ideal (not relaxed): lattice constants are experimental or literature values;
delithiated cells keep the lithiated lattice of the config. Each structure is then strained
isotropically (cell and Cartesian positions scale by ``1 + strain``) and, for the symmetry-lowering
paths of the campaign, distorted (:func:`distorted`): a homogeneous strain tensor and displacements
of single atoms. The ideal cells have few distinct Hubbard sites and pairs (six equivalent M-O bonds
in R-3m); a distortion that breaks the symmetry gives several distinct U and V per calculation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from ase import Atoms

from matdisco.core.errors import ConfigError

TRANSITION_METALS = ("Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni")


def rocksalt_afm(metal: str, a_angstrom: float) -> Atoms:
    """Rock-salt MO in the AFM-II rhombohedral cell (4 atoms): two metal sublattices of opposite spin
    alternating along [111] (the cell of QE's HP example02 for NiO). ``a_angstrom``: cubic lattice constant.
    """
    cell = a_angstrom * np.array([[1.0, 0.5, 0.5], [0.5, 1.0, 0.5], [0.5, 0.5, 1.0]])
    cartesian = a_angstrom * np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.5, 0.0, 0.0], [1.0, 0.5, 0.0]])
    atoms = Atoms([metal, metal, "O", "O"], positions=cartesian, cell=cell, pbc=True)
    atoms.wrap()  # hp.x looks for neighbours in the 3x3x3 supercell: unwrapped, one O of Ni1 is missed
    atoms.set_tags([1, 2, 0, 0])
    return atoms


def layered_r3m(
    metal: str,
    a_angstrom: float,
    c_angstrom: float,
    z_oxygen: float,
    li_fraction: float = 1.0,
    magnetic: bool = False,
    second_metal: str | None = None,
) -> Atoms:
    """Layered Li_x MO2 (alpha-NaFeO2 type, R-3m) in the rhombohedral primitive cell.

    ``a_angstrom``, ``c_angstrom``: hexagonal lattice constants; ``z_oxygen``: O coordinate in the
    hexagonal setting. ``li_fraction`` 1: LiMO2 (4 atoms); 0: MO2 (3 atoms); 0.5: a doubled cell
    (2 x 1 x 1 along the first rhombohedral vector) with one of its two Li removed (7 atoms).
    Li atoms come last, so the Hubbard atoms (metal 3d, O 2p) are atoms 1..n.
    ``magnetic``: tag the metals as spin-up (ferromagnetic start). ``second_metal``: a mixed-metal
    cell LiM_0.5M'_0.5O2 (the doubled cell with its second metal replaced; needs ``li_fraction`` 1).
    """
    rhombohedral = np.array(
        [
            [a_angstrom / 2, -a_angstrom / (2 * np.sqrt(3)), c_angstrom / 3],
            [0.0, a_angstrom / np.sqrt(3), c_angstrom / 3],
            [-a_angstrom / 2, -a_angstrom / (2 * np.sqrt(3)), c_angstrom / 3],
        ]
    )
    fractional = [[0, 0, 0], [z_oxygen] * 3, [-z_oxygen] * 3, [0.5, 0.5, 0.5]]
    atoms = Atoms([metal, "O", "O", "Li"], scaled_positions=fractional, cell=rhombohedral, pbc=True)
    if li_fraction == 1.0:
        pass
    elif li_fraction == 0.0:
        del atoms[3]
    elif li_fraction == 0.5:
        atoms = atoms.repeat((2, 1, 1))
        del atoms[[i for i, s in enumerate(atoms.get_chemical_symbols()) if s == "Li"][-1]]
    else:
        raise ConfigError(f"li_fraction {li_fraction} is not supported (expected 0, 0.5 or 1)")
    if second_metal is not None:
        if li_fraction != 1.0:
            raise ConfigError(f"second_metal {second_metal} needs li_fraction 1, got {li_fraction}")
        atoms = atoms.repeat((2, 1, 1))
        atoms[[i for i, s in enumerate(atoms.get_chemical_symbols()) if s == metal][-1]].symbol = second_metal
    atoms.wrap()
    atoms = atoms[np.argsort([symbol == "Li" for symbol in atoms.get_chemical_symbols()], kind="stable")]
    atoms.set_tags([1 if magnetic and s in TRANSITION_METALS else 0 for s in atoms.get_chemical_symbols()])
    return atoms


def strained(atoms: Atoms, strain: float) -> Atoms:
    """Copy of ``atoms`` with cell and positions scaled by ``1 + strain`` (0.02 = +2 %)."""
    out = atoms.copy()
    out.set_cell(atoms.cell * (1.0 + strain), scale_atoms=True)
    return out


def voigt_to_tensor(strain_voigt: Sequence[float]) -> np.ndarray:
    """Symmetric 3 x 3 strain tensor from its Voigt components ``(e_xx, e_yy, e_zz, e_yz, e_xz, e_xy)``
    (tensor components, not engineering shears: ``e_xz = 0.02`` puts 0.02 in both off-diagonal places)."""
    if len(strain_voigt) != 6:
        raise ConfigError(f"strain_voigt needs 6 components (xx, yy, zz, yz, xz, xy), got {len(strain_voigt)}")
    xx, yy, zz, yz, xz, xy = (float(e) for e in strain_voigt)
    return np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])


def distorted(
    atoms: Atoms,
    strain_voigt: Sequence[float] = (0.0,) * 6,
    displacements_angstrom: Mapping[int, Sequence[float]] | None = None,
) -> Atoms:
    """Copy of ``atoms`` deformed by ``I + strain`` (Cartesian frame of the cell; for the layered
    cells z is the hexagonal c axis) and then with single atoms displaced.

    ``displacements_angstrom``: 1-based atom index (as in QE) -> Cartesian displacement (3,), angstrom.
    """
    out = atoms.copy()
    deformation = np.eye(3) + voigt_to_tensor(strain_voigt)
    out.set_cell(atoms.cell.array @ deformation.T, scale_atoms=True)
    for atom, shift in (displacements_angstrom or {}).items():
        if not 1 <= int(atom) <= len(out) or len(shift) != 3:
            raise ConfigError(
                f"displacement of atom {atom} ({list(shift)}): atoms are 1..{len(out)}, shifts have 3 components"
            )
        out.positions[int(atom) - 1] += np.asarray(shift, dtype=float)
    out.wrap()
    return out


def build(spec: dict[str, Any]) -> Atoms:
    """Structure from a material entry of the campaign config (``builder`` plus its arguments)."""
    builders = {"rocksalt_afm": rocksalt_afm, "layered_r3m": layered_r3m}
    kind = spec.get("builder")
    if kind not in builders:
        raise ConfigError(f"unknown structure builder {kind!r}; known: {', '.join(builders)}")
    arguments = {k: v for k, v in spec.items() if k in builders[kind].__code__.co_varnames}
    return builders[kind](**arguments)


def species_labels(atoms: Atoms) -> list[str]:
    """QE species label per atom: symbol, plus the tag when non-zero (``Ni1``, ``Ni2``)."""
    return [f"{s}{t}" if t else s for s, t in zip(atoms.get_chemical_symbols(), atoms.get_tags())]


def structure_record(atoms: Atoms) -> dict[str, Any]:
    """JSON-ready structure: symbols, QE labels, cell (3 x 3, angstrom), positions (nat x 3, angstrom)."""
    return {
        "symbols": atoms.get_chemical_symbols(),
        "labels": species_labels(atoms),
        "cell_angstrom": np.round(atoms.cell.array, 8).tolist(),
        "positions_angstrom": np.round(atoms.positions, 8).tolist(),
    }


def atoms_from_record(record: dict[str, Any]) -> Atoms:
    """Inverse of :func:`structure_record` (tags recovered from the labels' trailing digit)."""
    atoms = Atoms(record["symbols"], positions=record["positions_angstrom"], cell=record["cell_angstrom"], pbc=True)
    atoms.set_tags([int(label[len(symbol) :] or 0) for label, symbol in zip(record["labels"], record["symbols"])])
    return atoms
