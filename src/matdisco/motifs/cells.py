"""The a-Si data set: slow melt-quench cells computed once, committed with their provenance.

Layout of a data set folder (``simulate.dataset`` in conf/simulate/md_*.yaml)::

    <dataset>/cell_###.extxyz   one cell per file; ``atoms.info`` holds its provenance (:func:`provenance`)

A cell is written atomically when its melt-quench finishes, and a cell file that exists is never
recomputed, so the run can be killed and restarted (``nohup nice ... &`` across sessions). Cell k's
seed is the k-th draw of ``numpy.random.default_rng(seed)``: adding cells keeps the earlier ones.
"""

from __future__ import annotations

import dataclasses
import platform
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.io import write

from matdisco.core.errors import InputError
from matdisco.core.io import atomic_path
from matdisco.motifs import keys
from matdisco.motifs.md import MeltQuench, melt_quench_cells
from matdisco.motifs.structure import read_cell


def cell_seeds(seed: int, n_cells: int) -> list[int]:
    """Seeds of cells 0 .. n_cells - 1 (1 .. 2**31 - 1, as LAMMPS' velocity command needs)."""
    return [int(s) for s in np.random.default_rng(int(seed)).integers(1, 2**31 - 1, size=int(n_cells))]


def cell_path(folder: Path, index: int) -> Path:
    return Path(folder) / f"cell_{index:03d}.extxyz"


def missing_cells(folder: Path, n_cells: int) -> list[int]:
    """Indices of the cells that have no file yet."""
    return [k for k in range(int(n_cells)) if not cell_path(folder, k).is_file()]


def lammps_version() -> str:
    """Version of the LAMMPS library that ran the cells (an int such as 20250722)."""
    from matdisco.motifs.md import lammps_class

    lmp = lammps_class()(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    try:
        return str(lmp.version())
    finally:
        lmp.close()


def provenance(protocol: MeltQuench, seed: int, info: dict[str, Any], version: str) -> dict[str, Any]:
    """``atoms.info`` entries of one cell: potential, protocol, seed, LAMMPS version, machine, timings."""
    return {
        "potential": protocol.potential
        if protocol.anneal_potential is None
        else f"{protocol.potential}+{protocol.anneal_potential}",
        "seed": int(seed),
        "protocol": repr(dataclasses.asdict(protocol)),
        "lammps_version": version,
        "host": platform.node(),
        "source": "lammps",
        **{k: float(v) for k, v in info.items()},
    }


def run_cells(protocol: MeltQuench, folder: Path, seed: int, n_cells: int, n_workers: int) -> list[int]:
    """Melt-quench every missing cell of ``folder`` (``n_workers`` at a time, a fresh process each)
    and write each one atomically as soon as its batch finishes; returns the indices computed."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    seeds = cell_seeds(seed, n_cells)
    todo = missing_cells(folder, n_cells)
    version = lammps_version()
    for start in range(0, len(todo), max(1, int(n_workers))):
        batch = todo[start : start + max(1, int(n_workers))]
        for k, (atoms, info) in zip(batch, melt_quench_cells(protocol, [seeds[k] for k in batch], n_workers)):
            write_cell(cell_path(folder, k), atoms, provenance(protocol, seeds[k], info, version))
    return todo


def write_cell(path: Path, atoms: Atoms, info: dict[str, Any]) -> None:
    """One extxyz with ``info`` in its comment line, written through a temporary file."""
    atoms = atoms.copy()
    atoms.info.update(info)
    with atomic_path(path) as tmp:
        write(tmp, atoms, format="extxyz")


def max_displacement_angstrom(reference: Atoms, other: Atoms) -> float:
    """Largest minimum-image distance between the same atom in two cells of equal lattice, angstrom."""
    if len(reference) != len(other) or not np.allclose(reference.cell.array, other.cell.array, atol=1e-8):
        return float("inf")
    delta = other.get_scaled_positions(wrap=False) - reference.get_scaled_positions(wrap=False)
    delta -= np.round(delta)
    return float(np.linalg.norm(delta @ reference.cell.array, axis=1).max())


def spotcheck(reference_path: Path, protocol: MeltQuench) -> dict[str, float]:
    """Re-run the melt-quench that made ``reference_path`` (its seed, ``protocol``) in a fresh process;
    return the largest atom displacement (angstrom) and the energy difference (eV) to the stored cell."""
    reference = read_cell(reference_path)
    if "seed" not in reference.info:
        raise InputError(
            "the stored spot-check cell has no seed", str(reference_path), "a cell written by matdisco.motifs.cells"
        )
    ((fresh, info),) = melt_quench_cells(protocol, [int(reference.info["seed"])], 1, progress=False)
    return {
        "max_displacement_angstrom": max_displacement_angstrom(reference, fresh),
        "energy_difference_eV": abs(float(info[keys.INFO_ENERGY]) - float(reference.info[keys.INFO_ENERGY])),
        "cpu_s": float(info["cpu_s"]),
    }
