"""pw.x / hp.x input writing: round trip through ASE's espresso reader, Hubbard keys, structures."""

import numpy as np
import pytest
from ase.geometry import find_mic
from ase.io import read

from matdisco.core.errors import ConfigError
from matdisco.hubbard.qe.inputs import fortran, hp_input, hubbard_entries_to_system, pw_input, starting_magnetization
from matdisco.hubbard.structures import (
    atoms_from_record,
    distorted,
    layered_r3m,
    rocksalt_afm,
    strained,
    structure_record,
)

PSEUDOS = {"Ni": "Ni.UPF", "O": "O.UPF", "Co": "Co.UPF", "Li": "Li.UPF"}


def _write(atoms, system, tmp_path, kpts=(2, 2, 2)):
    text = pw_input(
        atoms,
        prefix="calc",
        pseudo_dir="/p",
        pseudopotentials=PSEUDOS,
        system=system,
        electrons={"conv_thr": 1e-10},
        kpts=kpts,
    )
    path = tmp_path / "scf.in"
    path.write_text(text)
    return text, path


def test_round_trip_through_ase(tmp_path):
    atoms = strained(rocksalt_afm("Ni", 4.17), 0.02)
    system = {"ecutwfc": 35.0, **starting_magnetization(atoms, 0.5)}
    text, path = _write(atoms, system, tmp_path)
    back = read(path, format="espresso-in")
    np.testing.assert_allclose(back.cell.array, atoms.cell.array, atol=1e-8)
    np.testing.assert_allclose(back.positions, atoms.positions, atol=1e-8)
    assert back.get_chemical_symbols() == ["Ni", "Ni", "O", "O"]
    assert "starting_magnetization(1) = 0.5" in text and "starting_magnetization(2) = -0.5" in text
    assert "  Ni1 58.6934 Ni.UPF" in text and "  Ni2 58.6934 Ni.UPF" in text


def test_hubbard_keys_u_plus_v_and_u_only():
    atoms = layered_r3m("Co", 2.816, 14.05, 0.2605)
    v = hubbard_entries_to_system(atoms, [(1, 1, 7.75), (1, 19, 0.76), (2, 2, 1e-8)], kind=2)
    assert v["Hubbard_V(1,1,1)"] == 7.75 and v["Hubbard_V(1,19,1)"] == 0.76 and v["lda_plus_u_kind"] == 2
    u = hubbard_entries_to_system(atoms, [(1, 1, 7.75)], kind=0)
    assert u["Hubbard_U(1)"] == 7.75
    with pytest.raises(ConfigError, match="needs lda_plus_u_kind = 2"):
        hubbard_entries_to_system(atoms, [(1, 19, 0.76)], kind=0)
    assert fortran(1e-8) == "1d-08" and fortran(True) == ".true." and fortran("x") == "'x'"


def test_missing_pseudopotential(tmp_path):
    with pytest.raises(ConfigError, match="Fe"):
        _write(rocksalt_afm("Fe", 4.33), {}, tmp_path)


def test_hp_input():
    text = hp_input(prefix="calc", qpts=(2, 2, 1), conv_thr_chi=1e-5)
    assert "nq1 = 2" in text and "nq3 = 1" in text and "conv_thr_chi = 1d-05" in text and text.startswith("&INPUTHP")


def test_structures():
    licoo2 = layered_r3m("Co", 2.816, 14.05, 0.2605)
    assert licoo2.get_chemical_symbols() == ["Co", "O", "O", "Li"]
    distances = licoo2.get_distances(0, [1, 2], mic=True)
    assert distances == pytest.approx([1.9213, 1.9213], abs=2e-3)  # QE example10: 3.630748 Bohr
    half = layered_r3m("Co", 2.816, 14.05, 0.2605, li_fraction=0.5, magnetic=True)
    assert half.get_chemical_formula() == "Co2LiO4" and half.get_chemical_symbols()[-1] == "Li"
    assert list(half.get_tags()) == [1, 0, 0, 1, 0, 0, 0]
    assert len(layered_r3m("Ni", 2.878, 14.19, 0.2585, li_fraction=0.0)) == 3
    nio = rocksalt_afm("Ni", 4.17)
    assert nio.get_distance(0, 2, mic=True) == pytest.approx(2.085)
    assert strained(nio, 0.03).get_volume() == pytest.approx(nio.get_volume() * 1.03**3)
    back = atoms_from_record(structure_record(nio))
    assert list(back.get_tags()) == [1, 2, 0, 0]


def test_every_nearest_oxygen_is_in_qe_supercell():
    """hp.x and Hubbard_V index neighbours in the 3x3x3 supercell of cell translations -1..1."""
    import itertools

    from ase.neighborlist import neighbor_list

    shifts = np.array(list(itertools.product([-1, 0, 1], repeat=3)))
    licoo2 = layered_r3m("Co", 2.816, 14.05, 0.2605)
    low_symmetry = distorted(licoo2, [0.03, -0.03, 0, 0, 0.03, 0], {2: [0.0, 0.0, 0.06]})
    for atoms in (rocksalt_afm("Ni", 4.17), licoo2, layered_r3m("Ni", 2.878, 14.19, 0.2585, 0.5), low_symmetry):
        symbols = np.array(atoms.get_chemical_symbols())
        i, j = neighbor_list("ij", atoms, 2.3)
        for metal in np.flatnonzero(np.isin(symbols, ["Ni", "Co"])):
            coordination = int(np.sum((i == metal) & (symbols[j] == "O")))
            found = sum(
                np.linalg.norm(atoms.positions[o] + n @ atoms.cell.array - atoms.positions[metal]) < 2.3
                for o in np.flatnonzero(symbols == "O")
                for n in shifts
            )
            assert found == coordination == 6


def _metal_oxygen_bonds(atoms):
    """Sorted Co/Ni(atom 0)-O neighbour distances below 2.3 angstrom."""
    from ase.neighborlist import neighbor_list

    i, j, d = neighbor_list("ijd", atoms, 2.3)
    return np.sort(d[(i == 0) & (np.array(atoms.get_chemical_symbols())[j] == "O")])


def test_distortions_split_the_six_equivalent_bonds():
    licoo2 = layered_r3m("Co", 2.816, 14.05, 0.2605)
    assert np.unique(_metal_oxygen_bonds(licoo2).round(4)).size == 1
    shear = distorted(licoo2, [0, 0, 0, 0, 0.03, 0])
    bonds = _metal_oxygen_bonds(shear)
    assert np.unique(bonds.round(4)).size == 3  # inversion at Co survives a homogeneous strain: bonds in pairs
    assert shear.get_volume() == pytest.approx(
        licoo2.get_volume() * np.linalg.det(np.eye(3) + [[0, 0, 0.03], [0, 0, 0], [0.03, 0, 0]])
    )
    both = distorted(licoo2, [0, 0, 0, 0, 0.03, 0], {2: [0, 0, 0.06]})
    assert np.unique(_metal_oxygen_bonds(both).round(4)).size == 6
    moved, _ = find_mic(both.positions[1] - shear.positions[1], shear.cell)  # wrapping may add a lattice vector
    assert moved == pytest.approx([0, 0, 0.06], abs=1e-9)
    assert np.allclose(licoo2.positions, layered_r3m("Co", 2.816, 14.05, 0.2605).positions)  # input untouched


def test_distortion_errors_name_the_problem():
    licoo2 = layered_r3m("Co", 2.816, 14.05, 0.2605)
    with pytest.raises(ConfigError, match="6 components"):
        distorted(licoo2, [0.01, 0.0])
    with pytest.raises(ConfigError, match="atom 9"):
        distorted(licoo2, displacements_angstrom={9: [0, 0, 0.1]})
