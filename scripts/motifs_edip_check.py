"""EDIP tabulated (``edip``) against analytic (``edip_multi``) on a committed slow-quench cell: energy (eV),
largest force difference (eV/A) and CPU seconds of NVT steps at 1000 K (matdisco.motifs.md.POTENTIALS: why
edip_multi exists).

    python scripts/motifs_edip_check.py [cell.extxyz] [n_steps]
"""

import sys
import time

import numpy as np

from matdisco.motifs.cells import read_cell
from matdisco.motifs.md import LammpsCell


def energy_forces(atoms, potential: str) -> tuple[float, np.ndarray]:
    """Potential energy (eV) and forces (n, 3; eV/A) of ``atoms``."""
    md = LammpsCell(atoms, potential)
    try:
        energy = md.energy_eV()
        return energy, np.array(md.lmp.numpy.extract_atom("f"))[: len(atoms)].copy()
    finally:
        md.close()


def nvt_cpu_s(atoms, potential: str, n_steps: int) -> float:
    """CPU seconds of ``n_steps`` 1-fs NVT steps at 1000 K."""
    md = LammpsCell(atoms, potential)
    try:
        md.commands("timestep 0.001", "velocity all create 1000 7 mom yes rot yes dist gaussian")
        md.commands("fix md all nvt temp 1000 1000 0.1")
        start = time.process_time()
        md.commands(f"run {n_steps}")
        return time.process_time() - start
    finally:
        md.close()


def main(path: str, n_steps: int) -> None:
    atoms = read_cell(path)
    (e_tab, f_tab), (e_ana, f_ana) = (energy_forces(atoms, p) for p in ("edip", "edip_multi"))
    print(f"{path}: {len(atoms)} atoms")
    print(f"energy edip {e_tab:.6f} eV, edip_multi {e_ana:.6f} eV: {abs(e_tab - e_ana) / len(atoms):.2e} eV/atom")
    print(f"largest force difference {np.abs(f_tab - f_ana).max():.2e} eV/A")
    for potential in ("edip", "edip_multi"):
        print(f"{potential}: {n_steps} NVT steps {nvt_cpu_s(atoms, potential, n_steps):.2f} CPU s")


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "datasets/motifs/asi_slow/cell_000.extxyz",
        int(sys.argv[2]) if len(sys.argv) > 2 else 2000,
    )
