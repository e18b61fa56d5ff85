"""QE's HP example02 (AFM NiO, DFT+U, two-step smearing -> fixed occupations) expressed as an
engine material and settings: the validation case of the engine (tests/integration/hubbard).

The reference output (``examples/HP/example02/reference/NiO.Hubbard_parameters.dat``) gives
U(Ni) = 7.9401 eV.
"""

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
