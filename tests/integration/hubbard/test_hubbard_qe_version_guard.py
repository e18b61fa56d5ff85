"""The QE version guard against the real pw.x of this machine (Debian's QE 6.7): its banner gives the
legacy input style; pw.x 6.7 handed a HUBBARD card ignores it and runs plain DFT, which the output
check catches, while the legacy keys give a DFT+U+V run that passes it. Two tiny SCFs (NiO2, 25/200 Ry,
Gamma only: a few CPU seconds each)."""

import shutil
import subprocess
from pathlib import Path

import pytest

from matdisco.hubbard.qe.inputs import hubbard_card, hubbard_entries_to_system, hubbard_style, pw_input
from matdisco.hubbard.qe.outputs import QEOutputError
from matdisco.hubbard.qe.parse_pw import require_hubbard_applied
from matdisco.hubbard.qe.run import Launcher, program_version
from matdisco.hubbard.structures import layered_r3m

PSEUDO_DIR = Path(__file__).resolve().parents[3] / "datasets" / "hubbard" / "v3" / "pseudo"
PSEUDOS = {"Ni": "ni_pbe_v1.4.uspp.F.UPF", "O": "O.pbe-n-kjpaw_psl.0.1.UPF"}
ENTRIES = [(1, 1, 6.0), (2, 2, 1e-8), (3, 3, 1e-8)]

pytestmark = pytest.mark.skipif(shutil.which("pw.x") is None, reason="Quantum ESPRESSO not installed (make qe)")


def _scf(folder: Path, system: dict, card: str) -> Path:
    atoms = layered_r3m("Ni", 2.878, 14.19, 0.2585, li_fraction=0.0)
    folder.mkdir()
    text = pw_input(
        atoms,
        prefix="calc",
        pseudo_dir=str(PSEUDO_DIR),
        pseudopotentials=PSEUDOS,
        system={"ecutwfc": 25.0, "ecutrho": 200.0, "occupations": "smearing", "degauss": 0.01, **system},
        electrons={"conv_thr": 1e-7},
        kpts=(1, 1, 1),
        hubbard=card,
    )
    (folder / "scf.in").write_text(text)
    with open(folder / "scf.out", "w") as out:
        subprocess.run(
            [str(Path(shutil.which("pw.x"))), "-in", "scf.in"],
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"},
            check=True,
            timeout=600,
        )
    return folder / "scf.out"


def test_installed_qe_is_read_as_legacy_and_a_card_it_ignores_is_caught(tmp_path):
    version = program_version(Launcher(ranks=1, bin_dir=str(Path(shutil.which("pw.x")).parent)))
    if not version or not version.startswith("6."):
        pytest.skip(f"this test is about QE 6.x (found {version})")
    assert hubbard_style(version) == "namelist"
    atoms = layered_r3m("Ni", 2.878, 14.19, 0.2585, li_fraction=0.0)
    ignored = _scf(tmp_path / "card", {}, hubbard_card(atoms, ENTRIES, kind=2, projection="ortho-atomic"))
    with pytest.raises(QEOutputError, match="ignored the HUBBARD card and ran plain DFT"):
        require_hubbard_applied(ignored)
    legacy = {**hubbard_entries_to_system(atoms, ENTRIES, 2), "U_projection_type": "ortho-atomic"}
    require_hubbard_applied(_scf(tmp_path / "legacy", {**legacy, "nbnd": 24}, ""))
