"""Structure analysis of periodic silicon cells: coordination, bond angles, RDF, and the report.

All neighbour searches are periodic (vesin). Distances in Angstrom, angles in degrees.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import vesin
from ase import Atoms
from ase.io import read

from matdisco.core.errors import InputError
from matdisco.motifs.md import density_g_cm3

REFERENCES = {
    "experiment_laaziri_1999": {
        "citation": "K. Laaziri et al., Phys. Rev. B 60, 13520 (1999), annealed a-Si",
        "mean_coordination": 3.88,
        "bond_angle_std_deg": [9.6, 10.5],
        "rdf_first_peak_angstrom": 2.35,
    },
    "gap_md_deringer_2018": {
        "citation": "V. L. Deringer et al., J. Phys. Chem. Lett. 9, 2879 (2018), GAP-MD a-Si",
        "coordination_defect_fraction_below": 0.02,
    },
    "sw_fast_quench": {
        "citation": "Stillinger-Weber a-Si quenched fast (as quoted in Deringer et al. 2018)",
        "fraction_5fold": 0.12,
    },
}
"""Reference values that the structure report is compared against (facts with their sources)."""


def read_cell(path: str | Path) -> Atoms:
    """Read one periodic silicon cell (any ASE format, e.g. extxyz); fail with the file named.

    Raises :class:`InputError` when the file is missing or unreadable, holds other species,
    is not periodic in 3 D, or has no atoms.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("structure file does not exist", str(path), "an extxyz file of a periodic Si cell")
    try:
        atoms = read(path, index=-1)
    except Exception as error:  # ASE raises many types for malformed files
        raise InputError(
            f"cannot parse structure file ({type(error).__name__}: {error})",
            str(path),
            "an ASE-readable file such as extxyz",
        ) from error
    species = set(atoms.get_chemical_symbols())
    if len(atoms) == 0 or species != {"Si"}:
        raise InputError(f"cell holds species {sorted(species) or 'none'}", str(path), "silicon atoms only")
    if not all(atoms.pbc) or atoms.cell.volume <= 1e-6:
        raise InputError("cell is not periodic in three dimensions", str(path), "a Lattice with pbc='T T T'")
    return atoms


def pairs(atoms: Atoms, cutoff_angstrom: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full periodic neighbour list: centre indices i (M,), neighbour indices j (M,), vectors r_j - r_i (M, 3) in Angstrom."""
    calculator = vesin.NeighborList(cutoff=float(cutoff_angstrom), full_list=True)
    i, j, vectors = calculator.compute(atoms.positions, np.asarray(atoms.cell), True, quantities="ijD")
    return i.astype(np.int64), j.astype(np.int64), vectors


def coordination(atoms: Atoms, bond_cutoff_angstrom: float) -> np.ndarray:
    """Number of neighbours of each atom within ``bond_cutoff_angstrom``, shape (N,)."""
    i, _, _ = pairs(atoms, bond_cutoff_angstrom)
    return np.bincount(i, minlength=len(atoms))


def bond_angles(atoms: Atoms, bond_cutoff_angstrom: float) -> np.ndarray:
    """Angles j-i-k (degrees) between every pair of bonds at every atom i, shape (n_angles,)."""
    i, _, vectors = pairs(atoms, bond_cutoff_angstrom)
    order = np.argsort(i, kind="stable")
    i, vectors = i[order], vectors[order]
    units = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    starts = np.searchsorted(i, np.arange(len(atoms) + 1))
    angles = []
    for begin, end in zip(starts[:-1], starts[1:]):
        a, b = np.triu_indices(end - begin, k=1)
        cosines = np.einsum("ij,ij->i", units[begin + a], units[begin + b])
        angles.append(np.degrees(np.arccos(np.clip(cosines, -1.0, 1.0))))
    return np.concatenate(angles) if angles else np.empty(0)


def fraction_all_staggered(atoms: Atoms, bond_cutoff_angstrom: float, tolerance_deg: float = 25.0) -> float:
    """Share of atoms whose four bonds all lead to 4-fold atoms in the staggered conformation, the
    local order of diamond (every atom of a diamond crystal; a crystallite shows up as a cluster of them).

    A bond i-j is staggered when each of the 3 x 3 torsion angles between the other bonds of i and
    of j, seen along the bond, lies within ``tolerance_deg`` of 60, 180 or 300 degrees (eclipsed
    bonds sit at 0, 120, 240). With 25 degrees the committed slow-quench cells hold 0.2-1.2 %.
    """
    i, j, vectors = pairs(atoms, bond_cutoff_angstrom)
    order = np.argsort(i, kind="stable")
    i, j, vectors = i[order], j[order], vectors[order]
    starts = np.searchsorted(i, np.arange(len(atoms) + 1))
    four = (starts[1:] - starts[:-1]) == 4
    staggered = np.zeros(len(atoms), dtype=bool)
    for atom in np.flatnonzero(four):
        bonds = range(starts[atom], starts[atom + 1])
        staggered[atom] = all(
            four[j[b]] and _bond_staggered(vectors[b], vectors, starts, atom, j[b], tolerance_deg) for b in bonds
        )
    return float(staggered.mean())


def _bond_staggered(
    axis: np.ndarray, vectors: np.ndarray, starts: np.ndarray, a: int, b: int, tolerance_deg: float
) -> bool:
    """Whether bond a -> b (vector ``axis``) is staggered (see :func:`fraction_all_staggered`); ``vectors`` are the
    bond vectors sorted by centre atom, ``starts`` the first row of each atom."""
    unit = axis / np.linalg.norm(axis)
    near = vectors[starts[a] : starts[a + 1]]
    far = vectors[starts[b] : starts[b + 1]]
    near = near[np.linalg.norm(near - axis, axis=1) > 1e-3]  # the other bonds of a
    far = far[np.linalg.norm(far + axis, axis=1) > 1e-3]  # the other bonds of b
    reference = np.cross(unit, [1.0, 0.0, 0.0] if abs(unit[0]) < 0.9 else [0.0, 1.0, 0.0])
    reference /= np.linalg.norm(reference)
    other = np.cross(unit, reference)

    def phase(v: np.ndarray) -> np.ndarray:
        return np.degrees(np.arctan2(v @ other, v @ reference))

    torsion = np.mod(phase(far)[None, :] - phase(near)[:, None], 120.0)
    return bool(np.all(np.abs(torsion - 60.0) <= tolerance_deg))


def rdf(atoms: Atoms, r_max_angstrom: float, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Radial distribution function g(r): bin centres (n_bins,) in Angstrom and g (n_bins,)."""
    _, _, vectors = pairs(atoms, r_max_angstrom)
    distances = np.linalg.norm(vectors, axis=1)
    counts, edges = np.histogram(distances, bins=n_bins, range=(0.0, r_max_angstrom))
    shell_volumes = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    number_density = len(atoms) / atoms.get_volume()
    g = counts / (len(atoms) * number_density * shell_volumes)
    return 0.5 * (edges[1:] + edges[:-1]), g


def first_peak_angstrom(r: np.ndarray, g: np.ndarray, window: tuple[float, float] = (2.0, 3.0)) -> float:
    """Position of the first RDF peak: maximum of g in ``window``, refined by a parabola through 3 bins."""
    inside = np.flatnonzero((r >= window[0]) & (r <= window[1]))
    k = inside[np.argmax(g[inside])]
    if 0 < k < len(g) - 1:
        y0, y1, y2 = g[k - 1], g[k], g[k + 1]
        denominator = y0 - 2 * y1 + y2
        if denominator != 0:
            return float(r[k] + 0.5 * (y0 - y2) / denominator * (r[1] - r[0]))
    return float(r[k])


def structure_report(atoms: Atoms, bond_cutoff_angstrom: float, r_max_angstrom: float, n_bins: int) -> dict:
    """Density, coordination statistics, bond angles and RDF first peak of one cell (JSON-ready).

    ``r_max_angstrom`` is capped at just under half the shortest cell height so the RDF sees each
    pair once per image.
    """
    cn = coordination(atoms, bond_cutoff_angstrom)
    angles = bond_angles(atoms, bond_cutoff_angstrom)
    r, g = rdf(atoms, min(r_max_angstrom, rdf_limit_angstrom(atoms)), n_bins)
    return {
        "n_atoms": len(atoms),
        "density_g_cm3": density_g_cm3(atoms),
        "mean_coordination": float(cn.mean()),
        "fraction_3fold": float(np.mean(cn == 3)),
        "fraction_4fold": float(np.mean(cn == 4)),
        "fraction_5fold": float(np.mean(cn == 5)),
        "fraction_defects": float(np.mean(cn != 4)),
        "bond_angle_mean_deg": float(angles.mean()),
        "bond_angle_std_deg": float(angles.std()),
        "rdf_first_peak_angstrom": first_peak_angstrom(r, g),
    }


def rdf_limit_angstrom(atoms: Atoms) -> float:
    """Largest RDF radius that stays below half the shortest perpendicular cell height, Angstrom."""
    volume = atoms.cell.volume
    cell = np.asarray(atoms.cell)
    heights = [volume / np.linalg.norm(np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3])) for k in range(3)]
    return 0.499 * min(heights)


def summarise_reports(reports: dict[str, dict]) -> dict:
    """Mean and standard deviation over cells of every report value: ``{key}_mean``, ``{key}_std``."""
    keys = next(iter(reports.values())).keys()
    summary = {"n_cells": len(reports)}
    for key in keys:
        values = np.array([report[key] for report in reports.values()], dtype=float)
        summary[f"{key}_mean"] = float(values.mean())
        summary[f"{key}_std"] = float(values.std())
    return summary


def compare_with_references(summary: dict) -> dict:
    """Our cell-averaged values next to the reference numbers of :data:`REFERENCES` (numbers only)."""
    experiment = REFERENCES["experiment_laaziri_1999"]
    return {
        "mean_coordination": {"ours": summary["mean_coordination_mean"], "experiment": experiment["mean_coordination"]},
        "bond_angle_std_deg": {
            "ours": summary["bond_angle_std_deg_mean"],
            "experiment_low": experiment["bond_angle_std_deg"][0],
            "experiment_high": experiment["bond_angle_std_deg"][1],
        },
        "rdf_first_peak_angstrom": {
            "ours": summary["rdf_first_peak_angstrom_mean"],
            "experiment": experiment["rdf_first_peak_angstrom"],
        },
        "fraction_defects": {
            "ours": summary["fraction_defects_mean"],
            "gap_md_below": REFERENCES["gap_md_deringer_2018"]["coordination_defect_fraction_below"],
        },
        "fraction_5fold": {
            "ours": summary["fraction_5fold_mean"],
            "sw_fast_quench": REFERENCES["sw_fast_quench"]["fraction_5fold"],
        },
    }
