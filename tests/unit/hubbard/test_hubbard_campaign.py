"""Campaign logic without running QE: record assembly from QE's reference outputs, resume,
failure handling, Hubbard feedback."""

import dataclasses
import fcntl
import json
import threading

import numpy as np
import pytest

from matdisco.core.errors import ConfigError
from matdisco.hubbard import campaign as C
from matdisco.hubbard import keys as K
from matdisco.hubbard.qe.parse_hp import parse_hubbard_parameters, parse_parameters_out
from matdisco.hubbard.qe.parse_pw import parse_pw_output
from matdisco.hubbard.qe.run import Launcher
from matdisco.hubbard.records import read_records
from matdisco.hubbard.status import campaign_status, status_table
from matdisco.hubbard.structures import layered_r3m


def test_assemble_licoo2_u_plus_v(qe_reference):
    # same species order as the example (Co, O, O, Li); assemble uses symbols, labels and nat only
    atoms = layered_r3m("Co", 2.816, 14.05, 0.2605)
    pw = parse_pw_output(qe_reference("example10", "LiCoO2.scf.out.gz"))
    params = parse_hubbard_parameters(qe_reference("example10", "LiCoO2.Hubbard_parameters.dat.gz"))
    feedback = parse_parameters_out(qe_reference("example10", "parameters.out"))
    hubbard_in = [(1, 1, 1e-8), (2, 2, 1e-8)]
    out = C.assemble(atoms, pw, params, feedback, hubbard_in, tolerances_eV=(0.01, 0.01))
    assert [(s[K.SPECIES], s[K.U_IN], s[K.U_OUT]) for s in out[K.SITES]] == [
        ("Co", 0.0, 7.7514),
        ("O", 0.0, 8.0439),
        ("O", 0.0, 8.0439),
    ]
    assert np.asarray(out[K.SITES][0][K.OCCUPATIONS]).shape == (1, 5, 5)
    assert len(out[K.PAIRS]) == 6
    for pair in out[K.PAIRS]:
        assert (pair[K.SPECIES_I], pair[K.SPECIES_J], pair[K.V_IN], pair[K.V_OUT]) == ("Co", "O", 0.0, 0.7573)
        assert pair[K.DISTANCE] == pytest.approx(1.92131, abs=1e-4)
        assert pair[K.ATOM_J_CELL] in (2, 3)
    assert out[K.MAX_DELTA_EV] == pytest.approx(7.7514) and not out[K.CONVERGED]


def test_u_and_v_have_their_own_convergence_tolerance():
    hubbard_in = [(1, 1, 7.70), (1, 15, 0.750), (2, 2, 1e-8)]  # O's U is a marker: hp.x's output has none
    out = [(1, 1, 7.75), (1, 15, 0.757)]  # U moves by 0.05 eV, V by 0.007 eV
    assert C.is_converged(hubbard_in, out, (0.1, 0.01))
    assert not C.is_converged(hubbard_in, out, (0.01, 0.01))  # U's step is too large
    assert not C.is_converged(hubbard_in, out, (0.1, 0.005))  # V's step is too large
    assert not C.is_converged(hubbard_in, [(1, 1, 7.75), (1, 16, 0.05)], (0.1, 0.01))  # a new pair starts at 0
    assert not C.is_converged(hubbard_in, [], (0.1, 0.01))  # no output: nothing converged
    assert C.convergence_tolerances({"u": 0.1, "v": 0.01}) == (0.1, 0.01)
    with pytest.raises(ConfigError, match=r"simulate.tolerance_eV must be \{u: <eV>, v: <eV>\}"):
        C.convergence_tolerances(0.01)


def _campaign(tmp_path, max_iterations=4):
    material = C.Material(
        name="NiO",
        structure={"builder": "rocksalt_afm", "metal": "Ni", "a_angstrom": 4.17},
        occupations="two_step",
        kpts=(2, 2, 2),
        qpts=(2, 2, 2),
        magnetic=True,
    )
    return C.Campaign(
        materials=[material],
        strains=[0.0, 0.02],
        settings={},
        launcher=Launcher(),
        root=tmp_path / "runs",
        records_path=tmp_path / "records.jsonl",
        failures_path=tmp_path / "failures.jsonl",
        max_iterations=max_iterations,
    )


def _fake_record(path, iteration, hubbard_in, status="ok", converged=False):
    u = 5.0 + iteration
    return {
        K.RECORD_ID: f"{path.path_id}/iter_{iteration}",
        K.PATH_ID: path.path_id,
        K.MATERIAL: path.material.name,
        K.STRAIN: path.strain,
        K.ITERATION: iteration,
        K.STATUS: status,
        K.CONVERGED: converged,
        K.STRUCTURE: {K.SYMBOLS: ["Ni", "Ni", "O", "O"]},
        K.CPU_TIME: 1.0,
        K.HUBBARD_IN: [{K.ATOM_I: i, K.ATOM_J: j, "value_eV": v} for i, j, v in hubbard_in],
        "hubbard_out": [{K.ATOM_I: 1, K.ATOM_J: 1, "value_eV": u}, {K.ATOM_I: 1, K.ATOM_J: 17, "value_eV": 0.5}],
    }


@pytest.fixture
def fake_qe(monkeypatch):
    """Replace the QE iteration by a fake that writes record.json like the real one; count calls."""
    calls = []
    behaviour = {}

    def fake_run_iteration(campaign, path, iteration, hubbard_in, folder):
        calls.append((path.path_id, iteration, list(hubbard_in)))
        status, converged = behaviour.get((path.path_id, iteration), ("ok", False))
        record = _fake_record(path, iteration, hubbard_in, status, converged)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "record.json").write_text(json.dumps(record))
        return record

    monkeypatch.setattr(C, "run_iteration", fake_run_iteration)
    return calls, behaviour


def test_plan_is_round_robin(tmp_path):
    campaign = _campaign(tmp_path)
    campaign.materials.append(C.Material("LiCoO2", {}, "fixed", (2, 2, 2), (2, 2, 2)))
    ids = [p.path_id for p in C.plan(campaign)]
    assert ids == ["NiO_strain+0.0pct", "LiCoO2_strain+0.0pct", "NiO_strain+2.0pct", "LiCoO2_strain+2.0pct"]


def test_workers_pull_the_paths_whose_lock_is_free(tmp_path, fake_qe):
    calls, _ = fake_qe
    campaign = _campaign(tmp_path, max_iterations=1)
    busy, free = C.plan(campaign)
    lock_file = campaign.root / busy.path_id / ".lock"
    lock_file.parent.mkdir(parents=True)
    with open(lock_file, "w") as other_worker:
        fcntl.flock(other_worker, fcntl.LOCK_EX | fcntl.LOCK_NB)
        C.run_campaign(campaign)
    assert [c[0] for c in calls] == [free.path_id]
    C.run_campaign(campaign)  # the other worker let go: this one takes the path it skipped
    assert [c[0] for c in calls] == [free.path_id, busy.path_id]


def test_plan_adds_distorted_paths_of_their_materials(tmp_path):
    campaign = _campaign(tmp_path)
    campaign.materials.append(
        C.Material(
            "LiCoO2",
            {"builder": "layered_r3m", "metal": "Co", "a_angstrom": 2.816, "c_angstrom": 14.05, "z_oxygen": 0.2605},
            "fixed",
            (2, 2, 2),
            (2, 2, 2),
        )
    )
    entry = {
        "materials": ["LiCoO2"],
        "strain_voigt": [0, 0, 0, 0, 0.03, 0],
        "displacements_angstrom": {2: [0, 0, 0.06]},
    }
    campaign.distortions = [C.distortion_from_config("shear_shift", entry, {"NiO", "LiCoO2"})]
    paths = C.plan(campaign)
    assert [p.path_id for p in paths][-1] == "LiCoO2_strain+0.0pct_shear_shift" and len(paths) == 5
    ideal, bent = C.path_structure(paths[1]), C.path_structure(paths[-1])
    assert not np.allclose(ideal.cell.array, bent.cell.array)
    campaign.only_paths = ["*_shear_*", "NiO_strain+2.0pct"]
    assert [p.path_id for p in C.plan(campaign)] == ["NiO_strain+2.0pct", "LiCoO2_strain+0.0pct_shear_shift"]
    campaign.only_paths, campaign.only_materials = [], ["NiO"]
    assert all(p.distortion is None for p in C.plan(campaign))
    with pytest.raises(ConfigError, match="FeO"):
        C.distortion_from_config("bad", {"materials": ["FeO"]}, {"NiO"})


def test_resume_skips_finished_and_reruns_partial(tmp_path, fake_qe):
    calls, behaviour = fake_qe
    campaign = _campaign(tmp_path, max_iterations=3)
    path = C.plan(campaign)[0]
    behaviour[(path.path_id, 2)] = ("ok", True)
    C.run_path(campaign, path, 2)
    assert [c[1] for c in calls] == [0, 1]
    # iteration 1 carries iteration 0's hp.x output plus the tiny O 2p marker
    assert calls[1][2] == [(1, 1, 5.0), (1, 17, 0.5), (3, 3, 1e-8), (4, 4, 1e-8)]
    # killed during iteration 2: a partial folder without record.json is left behind
    partial = campaign.root / path.path_id / "iter_2"
    partial.mkdir()
    (partial / "scf1.out").write_text("partial")
    calls.clear()
    records = C.run_path(campaign, path)
    assert [c[1] for c in calls] == [2]
    assert not (partial / "scf1.out").exists() and (partial / "record.json").exists()
    assert [r[K.ITERATION] for r in records] == [0, 1, 2]
    assert len(read_records(campaign.records_path)) == 3
    calls.clear()
    C.run_path(campaign, path)  # converged: nothing more to do
    assert calls == []


def test_failure_ends_path_and_stays_out_of_the_data_set(tmp_path, fake_qe):
    calls, behaviour = fake_qe
    campaign = _campaign(tmp_path)
    path = C.plan(campaign)[0]
    behaviour[(path.path_id, 1)] = ("failed", False)
    C.run_path(campaign, path)
    assert [c[1] for c in calls] == [0, 1]
    assert [r[K.RECORD_ID] for r in read_records(campaign.records_path)] == [f"{path.path_id}/iter_0"]
    assert [r[K.STATUS] for r in read_records(campaign.failures_path)] == ["failed"]
    calls.clear()
    C.run_path(campaign, path)  # resuming does not retry a recorded failure
    assert calls == []


def test_run_campaign_counts(tmp_path, fake_qe):
    _, behaviour = fake_qe
    campaign = _campaign(tmp_path, max_iterations=2)
    summary = C.run_campaign(campaign)
    assert summary == {"paths": 2, "ok_iterations": 4, "failed_iterations": 0, "converged_paths": 0}


def test_campaign_from_the_shipped_config_is_json_ready(tmp_path):
    from pathlib import Path

    from hydra import compose, initialize_config_dir

    conf = Path(__file__).resolve().parents[3] / "conf"
    with initialize_config_dir(version_base="1.3", config_dir=str(conf)):
        spotcheck = compose("config", overrides=["simulate=dfpt_spotcheck"])
        v1 = compose("config", overrides=["simulate=dfpt_campaign"])
    assert spotcheck.simulate.mode == "spotcheck" and spotcheck.simulate.family == "hubbard"
    for cfg in (spotcheck, v1):
        campaign = C.campaign_from_config(cfg.simulate, tmp_path, tmp_path / "r.jsonl", tmp_path / "f.jsonl")
        json.dumps(campaign.settings)
        assert len(campaign.materials) >= 6 and campaign.launcher.mpi[0] == "/usr/bin/mpirun"
    for path in C.plan(campaign):  # v1: every k mesh set in the config (v3 takes them from its settings study)
        assert len(C.initial_hubbard(path)) >= 3


def test_passes_cover_every_path_first_and_stop_file(tmp_path, fake_qe):
    calls, _ = fake_qe
    campaign = _campaign(tmp_path, max_iterations=3)
    campaign.passes = (1, 3)
    C.run_campaign(campaign)
    assert [(c[0][:3], c[1]) for c in calls] == [("NiO", 0), ("NiO", 0), ("NiO", 1), ("NiO", 2), ("NiO", 1), ("NiO", 2)]
    assert [c[0] for c in calls[:2]] == ["NiO_strain+0.0pct", "NiO_strain+2.0pct"]
    calls.clear()
    campaign.max_iterations, campaign.passes = 4, (4,)
    (campaign.root / "STOP").touch()
    C.run_campaign(campaign)
    assert calls == []


def test_resume_from_the_data_set_on_a_fresh_machine(tmp_path, fake_qe):
    calls, _ = fake_qe
    campaign = _campaign(tmp_path, max_iterations=3)
    path = C.plan(campaign)[0]
    C.run_path(campaign, path, 2)
    import shutil

    shutil.rmtree(campaign.root)  # scratch lost; the committed records remain
    calls.clear()
    C.run_path(campaign, path, 3)
    assert [c[1] for c in calls] == [2]
    assert calls[0][2][0] == (1, 1, 6.0)  # iteration 1's U_out (5 + 1) feeds iteration 2


def test_locked_path_is_skipped(tmp_path, fake_qe):
    import fcntl

    calls, _ = fake_qe
    campaign = _campaign(tmp_path)
    path = C.plan(campaign)[0]
    lock_file = campaign.root / path.path_id / ".lock"
    lock_file.parent.mkdir(parents=True)
    with open(lock_file, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert C.run_path(campaign, path) == []
    assert calls == []


def _study_record(campaign, path, record_id, hubbard_in):
    """An ok record as the settings study writes it for ``path`` at the campaign's settings."""
    return {
        K.RECORD_ID: record_id,
        K.PATH_ID: path.path_id,
        K.MATERIAL: path.material.name,
        K.STRAIN: path.strain,
        K.ITERATION: 0,
        K.STATUS: "ok",
        K.CONVERGED: False,
        K.SETTINGS: C.record_settings(campaign, path.material),
        K.STRUCTURE: C.structure_record(C.path_structure(path)),
        K.HUBBARD_IN: [{K.ATOM_I: i, K.ATOM_J: j, K.VALUE: v} for i, j, v in hubbard_in],
        K.HUBBARD_OUT: [{K.ATOM_I: 1, K.ATOM_J: 1, K.VALUE: 7.0}],
        K.CPU_TIME: 10.0,
    }


def test_iteration_zero_is_taken_from_the_settings_study_only_at_equal_settings(tmp_path, fake_qe):
    calls, _ = fake_qe
    campaign = _campaign(tmp_path, max_iterations=2)
    campaign.settings = {"ecutwfc_Ry": 50.0}
    unstrained, strained = C.plan(campaign)
    study = tmp_path / "study.jsonl"
    start = C.initial_hubbard(unstrained)
    other_k = C.PathSpec(dataclasses.replace(unstrained.material, kpts=(4, 4, 4)), 0.0)
    records = [
        _study_record(campaign, unstrained, "NiO/ecut50-400_k222_q222", start),
        _study_record(campaign, other_k, "NiO/ecut50-400_k444_q222", start),
    ]
    study.write_text("".join(json.dumps(r) + "\n" for r in records))
    campaign.seed_records = [study]
    C.run_path(campaign, unstrained)
    C.run_path(campaign, strained)
    # the unstrained path's iteration 0 is the study's k222 point; only its iteration 1 runs
    assert [(c[0], c[1]) for c in calls] == [
        (unstrained.path_id, 1),
        (strained.path_id, 0),
        (strained.path_id, 1),
    ]
    assert calls[0][2][0] == (1, 1, 7.0)  # the study's U_out feeds iteration 1
    stored = {r[K.RECORD_ID]: r for r in read_records(campaign.records_path)}
    seeded = stored[f"{unstrained.path_id}/iter_0"]
    assert seeded[K.SEEDED_FROM] == "NiO/ecut50-400_k222_q222" and seeded[K.PATH_ID] == unstrained.path_id
    # other settings (a changed cutoff) never reuse the study's point
    campaign.settings = {"ecutwfc_Ry": 60.0}
    assert C.seeded_record(campaign, unstrained, start) is None


def test_kpts_from_the_settings_study(tmp_path):
    report = tmp_path / "convergence.json"
    sim = {"settings_study": str(report)}
    assert C.chosen_kpts(sim) == {}
    assert C.material_kpts("NiO", "study", {}) is None and C.material_kpts("NiO", [3, 3, 3], {}) == (3, 3, 3)
    report.write_text(json.dumps({"chosen": {"kpts": {"NiO": [4, 4, 4]}}}))
    assert C.material_kpts("NiO", "study", C.chosen_kpts(sim)) == (4, 4, 4)
    campaign = _campaign(tmp_path)
    campaign.materials[0] = dataclasses.replace(campaign.materials[0], kpts=None)
    with pytest.raises(ConfigError, match=r"NiO.*'study'.*run the settings study first"):
        C.plan(campaign)


def test_v3_configs_compose_with_their_pseudopotentials(tmp_path):
    from pathlib import Path

    from hydra import compose, initialize_config_dir

    root = Path(__file__).resolve().parents[3]
    with initialize_config_dir(version_base="1.3", config_dir=str(root / "conf")):
        study = compose("config", overrides=["simulate=dfpt_v3_settings"])
        campaign_cfg = compose("config", overrides=["simulate=dfpt_v3"])
    assert study.simulate.mode == "convergence" and campaign_cfg.simulate.mode == "campaign"
    campaign = C.campaign_from_config(campaign_cfg.simulate, tmp_path, tmp_path / "r.jsonl", tmp_path / "f.jsonl")
    assert campaign.seed_records and {m.qpts for m in campaign.materials} == {(3, 3, 3)}
    pseudo_dir = root / campaign.settings["pseudo_dir"]
    sums = dict(line.split()[::-1] for line in (pseudo_dir / "MD5SUMS").read_text().splitlines())
    for name in campaign.settings["pseudopotentials"].values():
        assert C.file_md5(pseudo_dir / name) == sums[name], name


def _measured(record, qe_cpu_s, kpts=(2, 2, 2), delta_eV=0.5):
    """``record`` with what the status reads from a real one: its settings' meshes, QE CPU and max |out - in|."""
    settings = {"kpts": list(kpts), "qpts": [2, 2, 2], "occupations": "two_step", "magnetic": True}
    return {**record, K.SETTINGS: settings, K.QE_CPU_TIME: qe_cpu_s, K.MAX_DELTA_EV: delta_eV}


def test_status_counts_iterations_and_kept_pieces_and_estimates_the_cpu_left(tmp_path):
    campaign = dataclasses.replace(
        _campaign(tmp_path), piece_store=tmp_path / "pieces", hp_parallel_pieces=1, parallel_paths=2
    )
    done, running = C.plan(campaign)
    records = [
        _measured(_fake_record(done, 0, []), 3600.0),
        _measured(_fake_record(done, 1, [], converged=True), 5400.0, delta_eV=0.004),
        _measured(_fake_record(running, 0, []), 1800.0),
    ]
    C.merge_records(campaign.records_path, records)
    store = campaign.piece_store / running.path_id / "iter_1"
    store.mkdir(parents=True)
    for name, cpu_s in (("a1_q1", 600.0), ("a1_q2", 1200.0)):
        (store / f"{name}.json").write_text(json.dumps({"cpu_s": cpu_s, "n_q": None}))
        (store / f"{name}.dat").write_text("response")
    status = campaign_status(campaign, expected_iterations=3.5)
    first, second = status["paths"]
    assert (first["state"], first["iterations"], first["left_cpu_h"], first["spent_cpu_h"]) == (
        "converged",
        2,
        0.0,
        2.5,
    )
    assert first["last_delta_eV"] == 0.004
    # 2.5 iterations left at the material's mean 3600 CPU s, less the kept pieces' 1800 s
    assert (second["state"], second["iterations"], second["kept_pieces"]) == ("running", 1, 2)
    assert second["spent_cpu_h"] == 1.0 and second["left_cpu_h"] == 2.0
    assert (status["converged"], status["left_cpu_h"], status["left_wall_h"]) == (1, 2.0, 1.0)
    assert "| NiO_strain+2.0pct | 2x2x2 | 1 | 0.500 | running | 2 | 1.00 | 2.0 |" in status_table(status)
    # without a given number, the campaign's own converged path sets it: 2 iterations, so 1 left (0.5 h net)
    own = campaign_status(campaign)
    assert (own["expected_iterations"], own["paths"][1]["left_cpu_h"]) == (2.0, 0.5)
    assert "2.0 iterations expected per path, from this campaign's 1 converged path(s)" in status_table(own)


def test_status_of_a_failed_path_and_of_a_material_without_a_chosen_k_mesh(tmp_path):
    campaign = _campaign(tmp_path)
    campaign.materials[0] = dataclasses.replace(campaign.materials[0], kpts=None)
    failed, waiting = C.planned_paths(campaign)
    with pytest.raises(ConfigError, match="has not chosen a k mesh"):
        C.plan(campaign)
    C.merge_records(campaign.failures_path, [_measured(_fake_record(failed, 0, [], status="failed"), 900.0)])
    study = [
        _measured(_fake_record(failed, 0, []) | {K.RECORD_ID: f"study/k{k}"}, cpu_s, kpts=(k, k, k))
        for k, cpu_s in ((3, 1000.0), (4, 3600.0))
    ]
    campaign.seed_records = [tmp_path / "study.jsonl"]
    C.merge_records(campaign.seed_records[0], study)
    status = campaign_status(campaign, expected_iterations=3.5)
    first, second = status["paths"]
    assert (first["state"], first["left_cpu_h"], first["spent_cpu_h"]) == ("failed", 0.0, 0.25)
    # no k mesh chosen: the estimate takes the largest measured one (k4, 3600 s), from U = V = 0
    assert (second["state"], second["kpts"], second["iterations"], second["left_cpu_h"]) == (
        "waiting",
        "not chosen",
        0,
        3.5,
    )
    assert status["failed"] == 1 and status["paths_without_estimate"] == 0


def test_a_path_goes_on_to_its_next_pass_while_another_path_is_still_in_the_first(tmp_path, monkeypatch):
    """No barrier between passes (a core would wait for the slowest path): with two workers, the 0 %
    path's iteration 1 (its second pass) starts while the +2 % path's iteration 0 (first pass) runs,
    which waits for it."""
    second_pass_started, calls = threading.Event(), []

    def fake_run_iteration(campaign, path, iteration, hubbard_in, folder):
        calls.append((path.path_id, iteration))
        if (path.strain, iteration) == (0.0, 1):
            second_pass_started.set()
        if (path.strain, iteration) == (0.02, 0):
            assert second_pass_started.wait(timeout=30), "the second pass waited for the first to end"
        record = _fake_record(path, iteration, hubbard_in)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "record.json").write_text(json.dumps(record))
        return record

    monkeypatch.setattr(C, "run_iteration", fake_run_iteration)
    campaign = dataclasses.replace(_campaign(tmp_path, max_iterations=2), passes=(1, 2), parallel_paths=2)
    summary = C.run_campaign(campaign)
    assert summary == {"paths": 2, "ok_iterations": 4, "failed_iterations": 0, "converged_paths": 0}
    assert sorted(calls) == [(p, i) for p in ("NiO_strain+0.0pct", "NiO_strain+2.0pct") for i in (0, 1)]
