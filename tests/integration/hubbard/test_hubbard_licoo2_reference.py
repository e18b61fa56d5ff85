"""QE's HP example10 (LiCoO2, DFT+U+V, 50/400 Ry, 2x2x2 k and q) run through the engine with the
example's own settings must reproduce the reference U(Co) 7.7514, U(O) 8.0439 and V(Co-O) 0.7573 eV.

Slow: about 10 min on 2 idle cores.
"""

import shutil
from pathlib import Path

import numpy as np
import pytest
from ase.units import Bohr

from matdisco.hubbard import keys as K
from matdisco.hubbard.campaign import PathSpec, path_structure
from qe_examples import (
    EXAMPLE10_HUBBARD_IN,
    EXAMPLE10_MATERIAL,
    EXAMPLE10_SETTINGS,
    EXAMPLE10_U_CO_EV,
    EXAMPLE10_U_O_EV,
    EXAMPLE10_V_CO_O_EV,
    run_reference,
)


def test_example10_cell_is_the_examples_rhombohedral_cell():
    atoms = path_structure(PathSpec(EXAMPLE10_MATERIAL, 0.0))
    assert atoms.cell.cellpar()[:3] == pytest.approx([9.3705 * Bohr] * 3, abs=1e-6)  # celldm(1)
    assert atoms.cell.cellpar()[3:] == pytest.approx([np.degrees(np.arccos(0.83874))] * 3, abs=1e-6)  # celldm(4)
    assert atoms.get_scaled_positions()[1] == pytest.approx([0.2604885] * 3, abs=1e-6)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pw.x") is None or not Path("/usr/bin/mpirun").exists(), reason="needs QE and OpenMPI")
def test_example10_licoo2_reproduces_reference_u_and_v(tmp_path):
    record = run_reference(EXAMPLE10_MATERIAL, EXAMPLE10_SETTINGS, EXAMPLE10_HUBBARD_IN, tmp_path)
    assert record[K.STATUS] == "ok", record.get(K.REASON)
    u_out = {site[K.SPECIES]: site[K.U_OUT] for site in record[K.SITES]}
    assert u_out == {"Co": pytest.approx(EXAMPLE10_U_CO_EV, abs=2e-3), "O": pytest.approx(EXAMPLE10_U_O_EV, abs=2e-3)}
    assert [p[K.V_OUT] for p in record[K.PAIRS]] == [pytest.approx(EXAMPLE10_V_CO_O_EV, abs=2e-3)] * len(
        record[K.PAIRS]
    )
    assert record[K.GAP_EV] is not None and record[K.GAP_EV] > 0  # empty bands: pw.x prints the gap
