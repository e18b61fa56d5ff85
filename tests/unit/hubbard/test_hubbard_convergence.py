"""The convergence study's logic on hand-made records: changes per site and pair, the first
converged setting, the plan of points (shared points computed once), the pw.x band count."""

import threading
from pathlib import Path

import pytest

from matdisco.core.errors import ConfigError
from matdisco.hubbard import convergence as V
from matdisco.hubbard import keys as K
from matdisco.hubbard.campaign import Campaign, Material, fixed_occupation_bands, pseudo_valence
from matdisco.hubbard.qe.run import Launcher
from matdisco.hubbard.structures import layered_r3m

PSEUDO_DIR = Path("/usr/share/espresso/pseudo")


def _record(rid, u, v, status="ok"):
    return {
        K.RECORD_ID: rid,
        K.STATUS: status,
        K.SITES: [{K.ATOM_INDEX: n, K.SPECIES: "Co" if n == 1 else "O", K.U_OUT: x} for n, x in enumerate(u, 1)],
        K.PAIRS: [
            {K.ATOM_I: 1, K.ATOM_J: j, K.ATOM_J_CELL: j, K.DISTANCE: 1.9 + 0.1 * j, K.V_OUT: x}
            for j, x in enumerate(v, 2)
        ],
    }


def test_step_changes_are_the_largest_per_site_and_pair():
    du, dv = V.step_changes(_record("a", [9.0, 8.0], [1.0, 0.9]), _record("b", [8.9, 8.2], [1.01, 0.85]))
    assert du == pytest.approx(0.2) and dv == pytest.approx(0.05)


def test_first_converged_needs_both_u_and_v_within_tolerance():
    series = [
        _record("35", [9.2], [2.5]),
        _record("45", [7.2], [2.0]),
        _record("55", [6.6], [1.85]),
        _record("65", [6.58], [1.80]),
        _record("80", [6.57], [1.79]),
    ]
    # 55 -> 65 moves U by 0.02 but V by 0.05: not yet; 65 -> 80 moves both little
    assert V.first_converged(series, 0.05, 0.02) == 3
    assert V.first_converged(series, 0.05, 0.06) == 2
    assert V.first_converged(series[:3], 0.05, 0.02) is None


def test_a_failed_record_never_counts_as_converged():
    series = [_record("35", [9.0], [1.0]), _record("45", [9.0], [1.0], status="failed"), _record("55", [9.0], [1.0])]
    assert V.first_converged(series, 0.05, 0.02) is None


def test_v_is_compared_bond_by_bond_whatever_numbers_hp_gives_the_images():
    """q 1x1x1 and 2x2x2 runs of NiO2 (as hp.x prints them): the same Ni-O bond under other image
    numbers, and more images at the denser q mesh, compare on the shared bond."""

    def pairs(images, v):
        return [{K.ATOM_I: 1, K.ATOM_J: j, K.ATOM_J_CELL: 2, K.DISTANCE: 1.971943, K.V_OUT: v} for j in images]

    coarse, dense = _record("q1", [4.736], []), _record("q2", [8.117], [])
    coarse[K.PAIRS], dense[K.PAIRS] = pairs([15, 9], 0.0186), pairs([41, 17, 15, 9, 33, 35], 0.2959)
    du, dv = V.step_changes(coarse, dense)
    assert du == pytest.approx(3.381) and dv == pytest.approx(0.2773)


def test_different_sites_refuse_to_compare():
    with pytest.raises(ConfigError, match="different Hubbard sites"):
        V.step_changes(_record("a", [9.0, 8.0], []), _record("b", [9.0], []))


def _campaign(tmp_path):
    licoo2 = Material(
        "LiCoO2",
        {"builder": "layered_r3m", "metal": "Co", "a_angstrom": 2.816, "c_angstrom": 14.05, "z_oxygen": 0.2605},
        "fixed",
        (2, 2, 2),
        (2, 2, 2),
    )
    return Campaign(
        materials=[licoo2],
        strains=[0.0],
        settings={},
        launcher=Launcher(),
        root=tmp_path,
        records_path=tmp_path / "r.jsonl",
        failures_path=tmp_path / "f.jsonl",
    )


def test_plan_orders_cutoffs_first_and_shares_points_between_scans(tmp_path):
    conv = {
        "cutoffs_Ry": [[35, 280], [45, 360]],
        "cutoff_qpts": [1, 1, 1],
        "materials": ["LiCoO2"],
        "kpts": {"default": [[2, 2, 2], [3, 3, 3]]},
        "qpts": {"default": [[1, 1, 1], [2, 2, 2]]},
    }
    campaign = _campaign(tmp_path)
    cut = V.cutoff_points(conv, campaign)
    assert [p.record_id for p in cut] == ["LiCoO2/ecut35-280_k222_q111", "LiCoO2/ecut45-360_k222_q111"]
    k_scan = V.mesh_points(conv, "kpts", "LiCoO2", (45.0, 360.0), None)
    assert k_scan[0].record_id == cut[1].record_id  # the k scan's first point is the cutoff scan's last
    q_scan = V.mesh_points(conv, "qpts", "LiCoO2", (45.0, 360.0), (3, 3, 3))
    assert [p.label for p in q_scan] == ["q111", "q222"] and all(p.kpts == (3, 3, 3) for p in q_scan)
    with pytest.raises(ConfigError, match="not campaign materials"):
        V.cutoff_points({**conv, "materials": ["MnO"]}, campaign)


@pytest.mark.skipif(not PSEUDO_DIR.is_dir(), reason="needs the Debian quantum-espresso pseudopotentials")
def test_fixed_occupation_runs_get_empty_bands_above_the_valence():
    pseudos = {
        "Li": "Li.pbesol-s-rrkjus_psl.0.2.1.UPF",
        "O": "O.pbesol-n-rrkjus_psl.0.1.UPF",
        "Co": "Co.pbesol-spn-rrkjus_psl.0.3.1.UPF",
    }
    assert pseudo_valence(PSEUDO_DIR / pseudos["Co"]) == 17.0  # UPF v2 header
    assert pseudo_valence(PSEUDO_DIR / pseudos["Li"]) == 3.0  # UPF v2, attribute on its own line
    # LiCoO2: 3 + 17 + 2 * 6 = 32 electrons, 16 occupied bands, + 4 empty
    assert (
        fixed_occupation_bands(
            layered_r3m("Co", 2.816, 14.05, 0.2605), {"pseudo_dir": str(PSEUDO_DIR), "pseudopotentials": pseudos}, 4
        )
        == 20
    )


def test_a_series_stops_at_its_first_converged_step_and_reports_it(tmp_path, monkeypatch):
    values = {"35": [9.2], "45": [7.2], "55": [6.6], "65": [6.58], "80": [6.57]}
    ran = []

    def fake_run_point(campaign, point, records_path):
        ran.append(point.label)
        return _record(point.record_id, values[f"{point.ecut_Ry[0]:g}"], [1.0])

    monkeypatch.setattr(V, "run_point", fake_run_point)
    conv = {"cutoffs_Ry": [[w, 8 * w] for w in (35, 45, 55, 65, 80)], "cutoff_qpts": [1, 1, 1], "materials": ["LiCoO2"]}
    picks = V.run_scan(
        _campaign(tmp_path), V.cutoff_points(conv, _campaign(tmp_path)), tmp_path / "r.jsonl", 0.05, 0.02
    )
    assert picks == {"LiCoO2": 2}  # 55 -> 65 changes U by 0.02 eV
    assert ran == ["ecut35-280", "ecut45-360", "ecut55-440", "ecut65-520"]  # 80 Ry is never run
    (tmp_path / "STOP").touch()
    ran.clear()
    assert V.run_scan(
        _campaign(tmp_path), V.cutoff_points(conv, _campaign(tmp_path)), tmp_path / "r.jsonl", 0.05, 0.02
    ) == {"LiCoO2": None}
    assert ran == []


def test_a_cutoff_scan_runs_its_materials_side_by_side(tmp_path, monkeypatch):
    """The cutoff scan shares the k and q scans' pool: with two workers NiO2's first cutoff starts while
    LiCoO2's is still running, and each material gets its own first converged step."""
    nio2_started, ran = threading.Event(), []

    def fake_run_point(campaign, point, records_path):
        ran.append(point.record_id)
        if point.record_id == "NiO2/ecut35-280_k222_q111":
            nio2_started.set()
        if point.record_id == "LiCoO2/ecut35-280_k222_q111":
            assert nio2_started.wait(timeout=30), "NiO2's cutoff series waited for LiCoO2's point"
        return _record(point.record_id, [6.0], [1.0])  # every step converged

    monkeypatch.setattr(V, "run_point", fake_run_point)
    campaign = _campaign(tmp_path)
    campaign.materials.append(V.dataclasses.replace(campaign.materials[0], name="NiO2"))
    campaign.parallel_paths = 2
    conv = {"cutoffs_Ry": [[35, 280], [45, 360]], "cutoff_qpts": [1, 1, 1], "materials": ["LiCoO2", "NiO2"]}
    picks = V.run_scan(campaign, V.cutoff_points(conv, campaign), tmp_path / "r.jsonl", 0.05, 0.02)
    assert picks == {"LiCoO2": 0, "NiO2": 0}
    assert sorted(ran) == sorted(p.record_id for p in V.cutoff_points(conv, campaign))  # each point once


V3_STUDY = {
    "cutoffs_Ry": [[50, 400], [60, 480]],
    "cutoff_kpts": [2, 2, 2],
    "cutoff_qpts": [1, 1, 1],
    "kpts_qpts": [3, 3, 3],
    "materials": ["LiCoO2"],
    "kpts": {"default": [[3, 3, 3], [4, 4, 4]]},
}
"""The shape of conf/simulate/dfpt_v3_settings.yaml's study, for one material."""


def test_k_scan_at_its_own_q_mesh_and_cutoffs_at_their_own_k(tmp_path):
    """v3's study: cutoffs at k2/q Gamma, the k scan at the data set's q3 (not the cutoff scan's q)."""
    conv = dict(V3_STUDY)
    campaign = _campaign(tmp_path)
    campaign.materials[0] = V.dataclasses.replace(campaign.materials[0], kpts=None)  # kpts: study, not chosen yet
    assert [p.record_id for p in V.cutoff_points(conv, campaign)][0] == "LiCoO2/ecut50-400_k222_q111"
    k_scan = V.mesh_points(conv, "kpts", "LiCoO2", (50.0, 400.0), None)
    assert [p.record_id for p in k_scan] == ["LiCoO2/ecut50-400_k333_q333", "LiCoO2/ecut50-400_k444_q333"]
    with pytest.raises(ConfigError, match="cutoff_kpts"):
        V.cutoff_points({**conv, "cutoff_kpts": None}, campaign)


def test_study_without_production_check_and_single_mesh_series_not_flagged(tmp_path, monkeypatch):
    u = {"k333": 6.30, "k444": 6.52, "q333": 6.52, "q444": 6.70}

    def fake_run_point(campaign, point, records_path):
        return _record(point.record_id, [u.get(point.label, 6.0)], [1.0])

    monkeypatch.setattr(V, "run_point", fake_run_point)
    monkeypatch.setattr(V, "records_by_id", lambda path: {})
    conv = {
        **V3_STUDY,
        "qpts": {"default": [[3, 3, 3]]},
        "u_tolerance_eV": 0.05,
        "v_tolerance_eV": 0.02,
        "records": str(tmp_path / "r.jsonl"),
        "production_check": False,
    }
    result = V.run_study(_campaign(tmp_path), conv, lambda partial: None)
    chosen = result["chosen"]
    assert chosen["ecut_Ry"] == [50.0, 400.0]
    assert chosen["kpts"] == {"LiCoO2": [4, 4, 4]} and chosen["kpts_not_converged"] == ["LiCoO2"]
    assert chosen["qpts"] == {"LiCoO2": [3, 3, 3]} and chosen["qpts_not_converged"] == []  # one mesh: no scan
    assert "production_check" not in chosen


def test_a_resumed_study_tables_the_finished_points_of_a_scan_before_running_the_rest(tmp_path, monkeypatch):
    finished, ran, reported = {}, [], []

    def fake_run_point(campaign, point, records_path):
        ran.append(point.label)
        finished[point.record_id] = _record(point.record_id, [6.0], [1.0])
        return finished[point.record_id]

    monkeypatch.setattr(V, "run_point", fake_run_point)
    monkeypatch.setattr(V, "records_by_id", lambda path: dict(finished))
    k3 = "LiCoO2/ecut50-400_k333_q333"
    finished[k3] = _record(k3, [6.3], [1.0])  # computed in an earlier session
    conv = {**V3_STUDY, "qpts": {"default": [[3, 3, 3]]}, "production_check": False}
    conv.update(u_tolerance_eV=0.05, v_tolerance_eV=0.02, records=str(tmp_path / "r.jsonl"))

    def report(partial):
        reported.append((list(ran), [row["setting"] for row in partial["rows"] if row["scan"] == "kpts"]))

    V.run_study(_campaign(tmp_path), conv, report)
    before_k4 = [settings for done, settings in reported if "k444" not in done]
    assert any("k333" in settings for settings in before_k4), reported


def test_the_settings_study_runs_under_the_stop_signal_handlers(tmp_path, monkeypatch):
    """SIGTERM / SIGUSR2 during the settings study stop its QE runs as interruptions (the campaign's
    handlers), instead of killing the study and leaving its QE ranks running."""
    import importlib
    import signal

    from matdisco.core import cluster
    from matdisco.core.config import compose

    simulate = importlib.import_module("matdisco.hubbard.simulate")  # the package exports a function of that name
    seen = {}

    def fake_study(campaign, conv, report):
        seen["handlers"] = {signal.getsignal(s) for s in cluster.STOP_SIGNALS}
        return {"rows": [], "chosen": {"kpts": {}}}

    monkeypatch.setattr(simulate, "run_study", fake_study)
    cfg = compose(["simulate=dfpt_v3_settings", f"simulate.root={tmp_path}"])
    assert simulate.convergence_study(cfg) == {"kpts": {}}
    assert seen["handlers"] == {cluster._on_stop}
    assert signal.getsignal(signal.SIGTERM) is not cluster._on_stop  # restored afterwards


def test_the_settings_study_refuses_a_second_worker(tmp_path, monkeypatch):
    import importlib

    from matdisco.core.config import compose

    simulate = importlib.import_module("matdisco.hubbard.simulate")
    monkeypatch.setattr(simulate, "run_study", lambda *args: pytest.fail("the study started"))
    cfg = compose(["simulate=dfpt_v3_settings", f"simulate.root={tmp_path}", "simulate.worker=3"])
    with pytest.raises(ConfigError, match=r"simulate.worker = 3: the settings study runs as one process"):
        simulate.convergence_study(cfg)


def test_a_material_q_scan_starts_while_another_material_k_scan_still_runs(tmp_path, monkeypatch):
    """No barrier between the k and q scans (a core would wait for the slowest material): LiCoO2's q4
    point starts while NiO2's k3 point is still running, and NiO2's k3 waits for it to start."""
    q4_started, started = threading.Event(), []

    def fake_run_point(campaign, point, records_path):
        started.append(point.record_id)
        if point.record_id == "LiCoO2/ecut50-400_k333_q444":
            q4_started.set()
        if point.record_id == "NiO2/ecut50-400_k333_q333":
            assert q4_started.wait(timeout=30), "LiCoO2's q scan waited for NiO2's k scan"
        return _record(point.record_id, [6.0], [1.0])

    monkeypatch.setattr(V, "run_point", fake_run_point)
    campaign = _campaign(tmp_path)
    campaign.materials.append(V.dataclasses.replace(campaign.materials[0], name="NiO2"))
    campaign.parallel_paths = 2
    conv = {
        **V3_STUDY,
        "materials": ["LiCoO2", "NiO2"],
        "qpts": {"default": [[3, 3, 3]], "LiCoO2": [[3, 3, 3], [4, 4, 4]]},
    }
    reported = []

    def report(scans):  # what convergence.json would say now
        reported.append(V.mesh_choices(scans, (0.05, 0.02)))

    scans = V.run_mesh_scans(campaign, conv, (50.0, 400.0), tmp_path / "r.jsonl", (0.05, 0.02), report)
    # (the fake's wait is the check: with a barrier NiO2's k3 would time out, and its error reach here)
    assert "LiCoO2/ecut50-400_k333_q444" in started
    assert sorted(started) == sorted(set(started))  # the q scans' q3 points are the k scans' points: run once
    assert V.mesh_choices(scans, (0.05, 0.02)) == {
        "kpts": {"LiCoO2": [3, 3, 3], "NiO2": [3, 3, 3]},
        "kpts_not_converged": [],
        "qpts": {"LiCoO2": [3, 3, 3], "NiO2": [3, 3, 3]},
        "qpts_not_converged": [],
    }
    assert 2 <= len(reported) <= len(started) + 1  # before the first point and after each wait that ended points
    # a material's single-mesh q series settles as its k series does: reported with it, not a point later
    assert all(set(r["qpts"]) >= {"NiO2"} for r in reported if "NiO2" in r["kpts"])
    assert reported[-1] == V.mesh_choices(scans, (0.05, 0.02))


def test_a_stopped_mesh_scan_chooses_nothing_for_its_open_series(tmp_path, monkeypatch):
    monkeypatch.setattr(V, "run_point", lambda campaign, point, path: _record(point.record_id, [6.0], [1.0]))
    known = {"LiCoO2/ecut50-400_k333_q333": _record("LiCoO2/ecut50-400_k333_q333", [6.0], [1.0])}
    monkeypatch.setattr(V, "records_by_id", lambda path: dict(known))
    (tmp_path / "STOP").touch()
    scans = V.run_mesh_scans(
        _campaign(tmp_path), dict(V3_STUDY), (50.0, 400.0), tmp_path / "r.jsonl", (0.05, 0.02), lambda s: None
    )
    assert V.mesh_choices(scans, (0.05, 0.02))["kpts"] == {}  # k4 never ran: LiCoO2's k mesh stays unchosen


def test_a_series_looks_one_point_ahead():
    points = [V.Point("LiCoO2", "kpts", (50.0, 400.0), (k, k, k), (3, 3, 3)) for k in (2, 3, 4, 5)]
    series = V.Series(points)
    assert series.ready(0.05, 0.02) == [0, 1]
    series.records[0] = _record("k2", [6.0], [1.0])
    series.running.add(1)
    assert series.ready(0.05, 0.02) == [2]  # k4 may start before k3 has finished
    series.records[1] = _record("k3", [6.5], [1.0])
    series.running.discard(1)
    assert series.ready(0.05, 0.02) == [2, 3] and series.chosen(0.05, 0.02) is None
    series.records[2] = _record("k4", [6.51], [1.0])  # k3 -> k4 converged: k5 is not needed
    assert series.ready(0.05, 0.02) == [] and series.chosen(0.05, 0.02) == points[1]


def test_the_report_plots_every_scan_with_finished_points(tmp_path):
    """convergence.png has a row of panels per scan with points (cutoff, k, q): taller with the mesh scans."""
    from PIL import Image

    def row(scan, ecut, k, q, u):
        return {
            "material": "LiCoO2",
            "scan": scan,
            "setting": "x",
            "ecutwfc_Ry": ecut,
            "ecutrho_Ry": 8 * ecut,
            "kpts": [k] * 3,
            "qpts": [q] * 3,
            "status": "ok",
            "u_metal_eV": [u, u],
            "u_oxygen_eV": [9.0, 9.0],
            "v_eV": [0.7, 0.7],
            "qe_cpu_s": 1.0,
        }

    cutoffs = [row("cutoff", 50, 2, 1, 6.28), row("cutoff", 60, 2, 1, 6.28)]
    meshes = [row("kpts", 50, 3, 3, 8.28), row("kpts", 50, 4, 3, 8.29), row("qpts", 50, 3, 3, 8.28)]
    conv = {"records": str(tmp_path / "none.jsonl"), "u_tolerance_eV": 0.05, "v_tolerance_eV": 0.02}
    heights = []
    for rows in (cutoffs, cutoffs + meshes):
        V.write_report({"rows": rows, "chosen": {}}, tmp_path, conv)
        heights.append(Image.open(tmp_path / "convergence.png").size[1])
    assert heights[1] > 2.5 * heights[0]  # three rows of panels instead of one
    assert "(convergence.png)" in (tmp_path / "convergence.md").read_text()
