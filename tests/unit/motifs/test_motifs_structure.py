"""Structure analysis on crystalline silicon (known answers) and clear errors for bad cell files."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.io import write

from matdisco.core.errors import InputError
from matdisco.motifs.structure import read_cell, structure_report

A_SI = 5.431


def test_diamond_report_matches_the_crystal():
    report = structure_report(bulk("Si", "diamond", a=A_SI, cubic=True).repeat(3), 2.85, 8.0, 400)
    assert report["mean_coordination"] == 4.0 and report["fraction_4fold"] == 1.0
    assert report["bond_angle_mean_deg"] == pytest.approx(109.4712, abs=1e-3)
    assert report["bond_angle_std_deg"] < 1e-6
    assert report["rdf_first_peak_angstrom"] == pytest.approx(A_SI * np.sqrt(3) / 4, abs=0.01)
    assert report["density_g_cm3"] == pytest.approx(2.329, abs=0.002)


def test_read_cell_round_trip(tmp_path):
    path = tmp_path / "cell.extxyz"
    write(path, bulk("Si", "diamond", a=A_SI, cubic=True), format="extxyz")
    assert len(read_cell(path)) == 8


@pytest.mark.parametrize(
    "content, message",
    [
        ("this is not\nan xyz file\n", "cannot parse"),
        (
            '2\nLattice="10 0 0 0 10 0 0 0 10" Properties=species:S:1:pos:R:3 pbc="T T T"\nSi 0 0 0\nC 1 1 1\n',
            "species",
        ),
        ('2\nProperties=species:S:1:pos:R:3 pbc="F F F"\nSi 0 0 0\nSi 2.3 0 0\n', "periodic"),
    ],
)
def test_malformed_cell_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "bad.extxyz"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as error:
        read_cell(path)
    assert "bad.extxyz" in str(error.value)


def test_missing_cell_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_cell(tmp_path / "nope.extxyz")


def test_empty_cell_is_rejected(tmp_path):
    path = tmp_path / "empty.extxyz"
    write(path, Atoms(cell=[5, 5, 5], pbc=True), format="extxyz")
    with pytest.raises(InputError):
        read_cell(path)


def test_simulate_imports_user_cells_and_reports_them(make_cfg, tmp_path):
    from matdisco.motifs import simulate

    rng = np.random.default_rng(0)
    for k in range(2):
        cell = bulk("Si", "diamond", a=A_SI, cubic=True).repeat(2)
        cell.positions += rng.normal(scale=0.05, size=cell.positions.shape)
        write(tmp_path / f"user_{k}.extxyz", cell, format="extxyz")
    cfg = make_cfg(
        "simulate=md_quick",
        "data=motifs",
        "model=motifs_vae",
        "simulate.source=extxyz",
        f"simulate.input_glob={tmp_path}/user_*.extxyz",
    )
    result = simulate(cfg)
    assert result["n_cells"] == 2 and result["mean_coordination_mean"] == 4.0
    assert read_cell(tmp_path / "processed/motifs/cells/cell_001.extxyz").info["source"].endswith("user_1.extxyz")


def test_simulate_names_a_malformed_user_file(make_cfg, tmp_path):
    from matdisco.motifs import simulate

    (tmp_path / "broken.extxyz").write_text("3\nnot a header\nSi 0 0\n")
    cfg = make_cfg(
        "simulate=md_quick",
        "data=motifs",
        "model=motifs_vae",
        "simulate.source=extxyz",
        f"simulate.input_glob={tmp_path}/broken.extxyz",
    )
    with pytest.raises(InputError, match="broken.extxyz"):
        simulate(cfg)
