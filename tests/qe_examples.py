"""QE's HP examples expressed as engine materials and settings: the validation cases of the
engine (tests/integration/hubbard, tests/unit/hubbard); test data, not part of the package.

- example02: AFM NiO, DFT+U, two-step smearing -> fixed occupations;
  ``reference/NiO.Hubbard_parameters.dat`` gives U(Ni) = 7.9401 eV.
- example10: LiCoO2, DFT+U+V, fixed occupations, 50/400 Ry, 2x2x2 k and q;
  ``reference/LiCoO2.Hubbard_parameters.dat`` and ``parameters.out`` give U(Co) = 7.7514 eV,
  U(O) = 8.0439 eV and V(Co-O) = 0.7573 eV.
"""

from pathlib import Path

import numpy as np
from ase.units import Bohr

from matdisco.hubbard.campaign import Material

EXAMPLE02_U_NI_EV = 7.9401
EXAMPLE02_HUBBARD_IN = [(1, 1, 1.0e-8), (2, 2, 1.0e-8)]  # Hubbard_U(1) = Hubbard_U(2) = 1.d-8

EXAMPLE02_MATERIAL = Material(
    name="NiO_example02",
    structure={"builder": "rocksalt_afm", "metal": "Ni", "a_angstrom": 7.88 * Bohr},  # celldm(1) = 7.88 Bohr
    occupations="two_step",
    kpts=(2, 2, 2),
    qpts=(2, 2, 2),
    magnetic=True,
)

EXAMPLE02_SETTINGS = {
    "pseudo_dir": "/usr/share/espresso/pseudo",
    "pseudopotentials": {"Ni": "Ni.pbesol-n-rrkjus_psl.0.1.UPF", "O": "O.pbesol-n-rrkjus_psl.0.1.UPF"},
    "ecutwfc_Ry": 50.0,
    "ecutrho_Ry": 400.0,
    "conv_thr_first_Ry": 1.0e-10,  # NiO.scf1.in
    "conv_thr_Ry": 1.0e-15,  # NiO.scf2.in
    "mixing_beta": 0.7,
    "electron_maxstep": 100,
    "smearing": "gaussian",
    "degauss_Ry": 0.001,
    "starting_magnetization": 0.5,
    "lda_plus_u_kind": 0,
    "u_projection_type": "ortho-atomic",
    "conv_thr_chi": 1.0e-8,
}


def hexagonal_from_rhombohedral(a_r_angstrom: float, cos_alpha: float) -> tuple[float, float]:
    """Hexagonal (a, c) in angstrom of the rhombohedral lattice with edge ``a_r`` and angle alpha
    (QE's ibrav = 5, celldm(1) and celldm(4))."""
    a_hex = 2.0 * a_r_angstrom * np.sqrt((1.0 - cos_alpha) / 2.0)
    return float(a_hex), float(3.0 * np.sqrt(a_r_angstrom**2 - a_hex**2 / 3.0))


EXAMPLE10_U_CO_EV = 7.7514
EXAMPLE10_U_O_EV = 8.0439
EXAMPLE10_V_CO_O_EV = 0.7573
EXAMPLE10_HUBBARD_IN = [(1, 1, 1.0e-8), (2, 2, 1.0e-8)]  # Hubbard_V(1,1,1) = Hubbard_V(2,2,1) = 1.d-8
_A_HEX, _C_HEX = hexagonal_from_rhombohedral(9.3705 * Bohr, 0.83874)  # celldm(1), celldm(4)

EXAMPLE10_MATERIAL = Material(
    name="LiCoO2_example10",
    structure={
        "builder": "layered_r3m",
        "metal": "Co",
        "a_angstrom": _A_HEX,
        "c_angstrom": _C_HEX,
        "z_oxygen": 0.2604885,
        "li_fraction": 1.0,
    },
    occupations="fixed",
    kpts=(2, 2, 2),
    qpts=(2, 2, 2),
)

EXAMPLE10_SETTINGS = {
    "pseudo_dir": "/usr/share/espresso/pseudo",
    "pseudopotentials": {
        "Li": "Li.pbesol-s-rrkjus_psl.0.2.1.UPF",
        "O": "O.pbesol-n-rrkjus_psl.0.1.UPF",
        "Co": "Co.pbesol-spn-rrkjus_psl.0.3.1.UPF",
    },
    "ecutwfc_Ry": 50.0,
    "ecutrho_Ry": 400.0,
    "conv_thr_Ry": 1.0e-15,
    "mixing_beta": 0.7,
    "electron_maxstep": 100,
    "smearing": "gaussian",  # unused: fixed occupations
    "degauss_Ry": 0.001,
    "starting_magnetization": 0.0,
    "lda_plus_u_kind": 2,
    "u_projection_type": "ortho-atomic",
    "conv_thr_chi": 1.0e-8,
}


def run_reference(material: Material, settings: dict, hubbard_in: list, folder: Path, ranks: int = 2) -> dict:
    """Iteration 0 of a reference case through the engine (pw.x + hp.x in ``folder``); its record."""
    from matdisco.hubbard.campaign import Campaign, PathSpec, run_iteration
    from matdisco.hubbard.qe.run import Launcher

    campaign = Campaign(
        materials=[material],
        strains=[0.0],
        settings=settings,
        launcher=Launcher(ranks=ranks),
        root=folder,
        records_path=folder / "records.jsonl",
        failures_path=folder / "failures.jsonl",
    )
    return run_iteration(campaign, PathSpec(material, 0.0), 0, hubbard_in, folder / material.name)
