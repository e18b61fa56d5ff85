"""Parsers of pw.x and hp.x output, on QE's reference outputs and on broken copies of them."""

import gzip

import numpy as np
import pytest

from matdisco.hubbard.qe.outputs import QEOutputError, cpu_time, read_lines, seconds, wall_time
from matdisco.hubbard.qe.parse_hp import parse_hp_output, parse_hubbard_parameters, parse_parameters_out
from matdisco.hubbard.qe.parse_pw import parse_pw_output


def test_nio_afm_occupations_and_moments(qe_reference):
    result = parse_pw_output(qe_reference("example02", "NiO.scf2.out.gz"))
    assert result.converged and result.scf_iterations == 8
    assert result.total_energy_Ry == pytest.approx(-267.42551760)
    assert result.n_bands == 20 and result.total_magnetization == 0.0
    assert sorted(result.occupations) == [1, 2]
    ni1 = result.occupations[1]
    assert ni1.shape == (2, 5, 5)
    # values printed in the last write_ns block of NiO.scf2.out
    assert np.diag(ni1[0]).tolist() == [0.935, 0.992, 0.992, 0.935, 0.992]
    assert np.diag(ni1[1]).tolist() == [0.365, 0.978, 0.978, 0.365, 0.978]
    assert ni1[1][1, 3] == 0.004 and ni1[1][2, 3] == -0.004
    # AFM: the two Ni swap spin channels
    np.testing.assert_array_equal(result.occupations[2][::-1], ni1)
    assert result.magnetic_moments == {1: 1.1765, 2: -1.1765, 3: 0.0, 4: 0.0}
    assert result.wall_s == pytest.approx(3.42)


def test_licoo2_nonmagnetic_single_spin(qe_reference):
    result = parse_pw_output(qe_reference("example01", "LiCoO2.scf.out.gz"))
    co = result.occupations[1]
    assert co.shape == (1, 5, 5)
    assert co[0][1, 4] == -0.260 and co[0][0, 0] == 0.970
    assert result.magnetic_moments == {}


def test_licoo2_dft_u_v_generalized_layout(qe_reference):
    result = parse_pw_output(qe_reference("example10", "LiCoO2.scf.out.gz"))
    assert {atom: occ.shape for atom, occ in result.occupations.items()} == {1: (1, 5, 5), 2: (1, 3, 3), 3: (1, 3, 3)}
    assert np.trace(result.occupations[1][0]) == pytest.approx(0.970 + 2 * 0.614 + 2 * 0.774)
    assert np.diag(result.occupations[2][0]).tolist() == [0.862, 0.827, 0.827]


def test_cri3_moments(qe_reference):
    result = parse_pw_output(qe_reference("example03", "CrI3.scf2.out.gz"))
    assert result.total_magnetization == 6.0
    assert result.magnetic_moments[1] == 2.9661 and result.magnetic_moments[8] == -0.0608


def test_hubbard_u_table_nio(qe_reference):
    params = parse_hubbard_parameters(qe_reference("example02", "NiO.Hubbard_parameters.dat.gz"))
    assert [(u.site, u.label, u.spin, u.new_label, u.u_eV) for u in params.u] == [
        (1, "Ni1", 1, "Ni1", 7.9401),
        (2, "Ni2", -1, "Ni1", 7.9401),
    ]
    assert params.v == []


def test_hubbard_v_table_licoo2(qe_reference):
    params = parse_hubbard_parameters(qe_reference("example10", "LiCoO2.Hubbard_parameters.dat.gz"))
    assert [u.u_eV for u in params.u] == [7.7514, 8.0439, 8.0439]
    assert len(params.v) == 66
    first_neighbour = params.v[1]
    assert (first_neighbour.atom_i, first_neighbour.label_j, first_neighbour.atom_j) == (1, "O", 19)
    assert first_neighbour.distance_angstrom == pytest.approx(3.630748 * 0.529177, rel=1e-5)
    assert first_neighbour.v_eV == 0.7573
    assert params.v[-1].v_eV == -0.2592


def test_parameters_out(qe_reference):
    rows = parse_parameters_out(qe_reference("example10", "parameters.out"))
    assert rows[0] == (1, 1, 7.7514)
    assert rows[1:] == [(1, j, 0.7573) for j in (19, 46, 43, 54, 11, 22)]


def test_hp_log(qe_reference):
    result = parse_hp_output(qe_reference("example02", "NiO.hp.out.gz"))
    assert result.n_q == 4 and result.perturbed_atoms == [1]
    assert result.wall_s == pytest.approx(111.46)
    assert parse_hp_output(qe_reference("example10", "LiCoO2.hp.out.gz")).perturbed_atoms == [1, 2]


def test_hp_stopped_before_all_q_points(qe_reference):
    path = qe_reference("example07", "Ni2MnGa.hp.Mn.step2.out.gz")
    with pytest.raises(QEOutputError, match=r"Ni2MnGa.hp.Mn.step2.out.gz:\d+"):
        parse_hp_output(path)


def _copy(source, target, keep=None, edit=None):
    lines = read_lines(source)
    lines = lines[:keep] if keep else lines
    if edit:
        lines = edit(lines)
    target.write_text("\n".join(lines) + "\n")
    return target


def test_truncated_pw_output_names_file_and_line(qe_reference, tmp_path):
    broken = _copy(qe_reference("example02", "NiO.scf2.out.gz"), tmp_path / "cut.out", keep=900)
    with pytest.raises(QEOutputError, match=r"cut.out:900: .*JOB DONE"):
        parse_pw_output(broken)


def test_pw_error_block_names_line(qe_reference, tmp_path):
    def inject(lines):
        block = ["", " " + "%" * 78, "     Error in routine electrons (1):", "     charge is wrong", " " + "%" * 78]
        return lines[:200] + block

    broken = _copy(qe_reference("example02", "NiO.scf2.out.gz"), tmp_path / "err.out", edit=inject)
    with pytest.raises(QEOutputError, match=r"err.out:203: .*charge is wrong"):
        parse_pw_output(broken)


def test_unconverged_scf(qe_reference, tmp_path):
    def unconverge(lines):
        return [
            l.replace(
                "convergence has been achieved in   8 iterations",
                "convergence NOT achieved after 8 iterations: stopping",
            )
            for l in lines
        ]

    broken = _copy(qe_reference("example02", "NiO.scf2.out.gz"), tmp_path / "nc.out", edit=unconverge)
    line = next(i for i, l in enumerate(read_lines(broken), 1) if "NOT achieved" in l)
    with pytest.raises(QEOutputError, match=rf"nc.out:{line}: SCF not converged"):
        parse_pw_output(broken)


def test_malformed_occupation_row(qe_reference, tmp_path):
    source = qe_reference("example02", "NiO.scf2.out.gz")
    lines = read_lines(source)
    row = max(i for i, l in enumerate(lines) if l.strip() == "occupations:") + 2

    def damage(lines):
        lines = list(lines)
        lines[row] = "  0.935 garbage"
        return lines

    broken = _copy(source, tmp_path / "bad.out", edit=damage)
    with pytest.raises(QEOutputError, match=rf"bad.out:{row + 1}: occupation matrix row has 1 numbers"):
        parse_pw_output(broken)


def test_missing_u_table_and_bad_rows(tmp_path):
    empty = tmp_path / "x.Hubbard_parameters.dat"
    empty.write_text("\n  chi0 matrix :\n")
    with pytest.raises(QEOutputError, match="no 'Hubbard U parameters' table"):
        parse_hubbard_parameters(empty)
    bad = tmp_path / "parameters.out"
    bad.write_text(" # Atom 1  Atom 2  Hubbard V (eV)\n     1        1       7.75\n     1   oops\n")
    with pytest.raises(QEOutputError, match=r"parameters.out:3: malformed row"):
        parse_parameters_out(bad)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(QEOutputError, match="does not exist"):
        parse_pw_output(tmp_path / "nothing.out")
    (tmp_path / "empty.out").write_text("")
    with pytest.raises(QEOutputError, match=r"empty.out:1: output file is empty"):
        parse_pw_output(tmp_path / "empty.out")
    with gzip.open(tmp_path / "z.out.gz", "wt") as handle:
        handle.write("hello\n")
    assert read_lines(tmp_path / "z.out.gz") == ["hello"]


def test_clock_strings():
    assert seconds("3.42s") == pytest.approx(3.42)
    assert seconds("1m49.36s") == pytest.approx(109.36)
    assert seconds("1h 2m") == pytest.approx(3720.0)


def test_homo_lumo_and_gap_check(qe_reference, tmp_path):
    from matdisco.hubbard.campaign import require_gap

    result = parse_pw_output(qe_reference("example02", "NiO.scf2.out.gz"))
    assert result.homo_lumo_eV == (11.4359, 12.5395)
    require_gap(result)
    result.homo_lumo_eV = (14.9491, 14.5104)
    with pytest.raises(QEOutputError, match="without a gap"):
        require_gap(result)
    assert parse_pw_output(qe_reference("example09", "CoO2.scf.out.gz")).homo_lumo_eV is None  # smearing


def test_cpu_and_wall_clock_of_the_final_timing_line(qe_reference):
    # NiO.hp.out ends with "HP : 1m49.36s CPU 1m51.46s WALL"; NiO.scf2.out with "PWSCF : 3.37s CPU 3.42s WALL"
    hp = read_lines(qe_reference("example02", "NiO.hp.out.gz"))
    assert (cpu_time(hp, "HP"), wall_time(hp, "HP")) == (pytest.approx(109.36), pytest.approx(111.46))
    assert cpu_time(read_lines(qe_reference("example02", "NiO.scf2.out.gz")), "PWSCF") == pytest.approx(3.37)
    assert cpu_time(hp, "PWSCF") is None
