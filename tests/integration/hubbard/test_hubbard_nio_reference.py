"""QE's HP example02 (AFM NiO, DFT+U, two-step smearing -> fixed occupations) through the engine
with the example's own settings must reproduce the reference U(Ni) = 7.9401 eV.

Slow: ~15-20 min on 2 idle cores (hp.x with 2x2x2 q points, 50/400 Ry, conv_thr_chi 1e-8).
"""

import shutil
from pathlib import Path

import pytest
from ase.units import Bohr

from matdisco.hubbard import keys as K
from matdisco.hubbard.campaign import Campaign, Material, PathSpec, run_iteration
from matdisco.hubbard.qe.run import Launcher

REFERENCE_U_NI_EV = 7.9401  # examples/HP/example02/reference/NiO.Hubbard_parameters.dat

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


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pw.x") is None or not Path("/usr/bin/mpirun").exists(), reason="needs QE and OpenMPI")
def test_example02_nio_reproduces_reference_u(tmp_path):
    material = Material(
        name="NiO_example02",
        structure={"builder": "rocksalt_afm", "metal": "Ni", "a_angstrom": 7.88 * Bohr},  # celldm(1) = 7.88 Bohr
        occupations="two_step", kpts=(2, 2, 2), qpts=(2, 2, 2), magnetic=True,
    )
    campaign = Campaign(
        materials=[material], strains=[0.0], settings=EXAMPLE02_SETTINGS, launcher=Launcher(ranks=2),
        root=tmp_path, records_path=tmp_path / "records.jsonl", failures_path=tmp_path / "failures.jsonl",
    )
    hubbard_in = [(1, 1, 1.0e-8), (2, 2, 1.0e-8)]  # Hubbard_U(1) = Hubbard_U(2) = 1.d-8
    record = run_iteration(campaign, PathSpec(material, 0.0), 0, hubbard_in, tmp_path / "NiO")
    assert record[K.STATUS] == "ok", record.get(K.REASON)
    u_out = {site[K.LABEL]: site[K.U_OUT] for site in record[K.SITES]}
    assert u_out == {"Ni1": pytest.approx(REFERENCE_U_NI_EV, abs=2e-3), "Ni2": pytest.approx(REFERENCE_U_NI_EV, abs=2e-3)}
