"""One engine iteration end to end with QE replaced by QE's own reference outputs of example02
(AFM NiO): the inputs written must carry the example's settings, and the record parsed from the
reference outputs must hold the reference U(Ni) = 7.9401 eV."""

import pytest

from matdisco.hubbard import campaign as C
from matdisco.hubbard import keys as K
from matdisco.hubbard.qe.outputs import read_lines
from matdisco.hubbard.qe.run import Launcher
from qe_examples import EXAMPLE02_HUBBARD_IN, EXAMPLE02_MATERIAL, EXAMPLE02_SETTINGS, EXAMPLE02_U_NI_EV

REPLAY = {"scf1.out": "NiO.scf1.out.gz", "scf2.out": "NiO.scf2.out.gz", "hp.out": "NiO.hp.out.gz"}


def test_example02_replay(qe_reference, tmp_path, monkeypatch):
    def fake_run_qe(launcher, program, folder, input_name, output_name):
        (folder / output_name).write_text("\n".join(read_lines(qe_reference("example02", REPLAY[output_name]))) + "\n")
        if program == "hp.x":
            dat = read_lines(qe_reference("example02", "NiO.Hubbard_parameters.dat.gz"))
            (folder / f"{C.PREFIX}.Hubbard_parameters.dat").write_text("\n".join(dat) + "\n")
        return 1.5

    monkeypatch.setattr(C, "run_qe", fake_run_qe)
    campaign = C.Campaign(
        materials=[EXAMPLE02_MATERIAL],
        strains=[0.0],
        settings=EXAMPLE02_SETTINGS,
        launcher=Launcher(ranks=2),
        root=tmp_path,
        records_path=tmp_path / "r.jsonl",
        failures_path=tmp_path / "f.jsonl",
    )
    folder = tmp_path / "NiO"
    record = C.run_iteration(campaign, C.PathSpec(EXAMPLE02_MATERIAL, 0.0), 0, EXAMPLE02_HUBBARD_IN, folder)
    assert record[K.STATUS] == "ok", record.get(K.REASON)
    assert [(s[K.LABEL], s[K.U_IN], s[K.U_OUT]) for s in record[K.SITES]] == [
        ("Ni1", 0.0, EXAMPLE02_U_NI_EV),
        ("Ni2", 0.0, EXAMPLE02_U_NI_EV),
    ]
    assert record[K.PAIRS] == [] and record[K.SITES][0][K.MAGNETIC_MOMENT] == 1.1765
    assert record[K.CPU_TIME] == pytest.approx(3 * 1.5 * 2)
    scf1, scf2, hp = ((folder / n).read_text() for n in ("scf1.in", "scf2.in", "hp.in"))
    for text in (scf1, scf2):
        assert (
            "ecutwfc = 50.0" in text
            and "ecutrho = 400.0" in text
            and "Hubbard_U(1) = 1d-08" in text
            and "Hubbard_U(2) = 1d-08" in text
        )
        assert (
            "Hubbard_U(3)" not in text
            and "lda_plus_u_kind = 0" in text
            and "U_projection_type = 'ortho-atomic'" in text
        )
    assert (
        "occupations = 'smearing'" in scf1 and "starting_magnetization(2) = -0.5" in scf1 and "conv_thr = 1d-10" in scf1
    )
    # step 2: fixed occupations at scf1's total magnetization and number of bands, restarting from scf1
    assert "occupations = 'fixed'" in scf2 and "nbnd = 20" in scf2 and "tot_magnetization = 0.0" in scf2
    assert "startingpot = 'file'" in scf2 and "conv_thr = 1d-15" in scf2
    assert "nq1 = 2" in hp and "conv_thr_chi = 1d-08" in hp
    assert set(record[K.PROVENANCE]["inputs"]) == {"scf1.in", "scf2.in", "hp.in"}
