"""Spot-check logic without QE: which records are re-run, how re-runs are compared, and that a re-run that
fails is an error of the run (the last report is kept), not a mismatch of the data."""

import copy
import importlib
from pathlib import Path

import pytest

from matdisco.core.config import compose
from matdisco.core.errors import ConfigError
from matdisco.hubbard import keys as K
from matdisco.hubbard.simulate import choose_records, compare


def _record(record_id, material, cpu, u=7.0, v=0.8):
    return {
        K.RECORD_ID: record_id,
        K.MATERIAL: material,
        K.STATUS: "ok",
        K.CPU_TIME: cpu,
        K.SITES: [{K.ATOM_INDEX: 1, K.U_OUT: u, K.OCCUPATIONS: [[[0.9, 0.0], [0.0, 0.5]]]}],
        K.PAIRS: [{K.ATOM_I: 1, K.ATOM_J: 19, K.V_OUT: v}],
    }


def test_choose_cheapest_per_material():
    records = [_record("a", "NiO", 300), _record("b", "NiO", 100), _record("c", "LiCoO2", 200), _record("d", "CoO", 50)]
    records.append({**_record("e", "FeO", 1), K.STATUS: "failed"})
    assert [r[K.RECORD_ID] for r in choose_records(records, [], 2)] == ["d", "b"]
    assert [r[K.RECORD_ID] for r in choose_records(records, ["c"], 2)] == ["c"]
    with pytest.raises(ConfigError, match="zzz"):
        choose_records(records, ["zzz"], 1)


def test_compare():
    stored = _record("a", "NiO", 1)
    fresh = copy.deepcopy(stored)
    fresh[K.SITES][0][K.U_OUT] += 0.005
    fresh[K.SITES][0][K.OCCUPATIONS][0][1][1] = 0.501
    diff = compare(stored, fresh)
    assert diff["u_eV"] == pytest.approx(0.005) and diff["v_eV"] == 0.0 and diff["occupation"] == pytest.approx(0.001)
    assert compare(stored, {**fresh, K.STATUS: "failed"})["u_eV"] == float("inf")
    fresh[K.PAIRS][0][K.ATOM_J] = 20
    assert compare(stored, fresh)["v_eV"] == float("inf")


def test_settings_must_match_the_record(tmp_path):
    from matdisco.hubbard.campaign import Campaign, Material, PathSpec
    from matdisco.hubbard.qe.run import Launcher
    from matdisco.hubbard.simulate import check_settings

    material = Material("NiO", {}, "two_step", (2, 2, 2), (2, 2, 2), magnetic=True)
    campaign = Campaign([material], [0.0], {"ecutwfc_Ry": 35.0}, Launcher(), tmp_path, tmp_path / "r", tmp_path / "f")
    stored = {
        K.RECORD_ID: "x",
        K.SETTINGS: {
            "ecutwfc_Ry": 35.0,
            "kpts": [2, 2, 2],
            "qpts": [2, 2, 2],
            "occupations": "two_step",
            "magnetic": True,
        },
    }
    check_settings(stored, campaign, PathSpec(material, 0.0))
    stored[K.SETTINGS]["ecutwfc_Ry"] = 40.0
    with pytest.raises(ConfigError, match="ecutwfc_Ry"):
        check_settings(stored, campaign, PathSpec(material, 0.0))


def test_a_failed_qe_rerun_stops_the_spotcheck_and_keeps_the_last_report(tmp_path, monkeypatch):
    simulate = importlib.import_module("matdisco.hubbard.simulate")  # the package exports a function of that name
    report = tmp_path / "spotcheck.json"
    report.write_text('{"max_u_diff_eV": 0.0001}')
    repo = Path(__file__).resolve().parents[3]
    cfg = compose(
        [
            "simulate=dfpt_spotcheck",
            "data=hubbard",
            f"simulate.seed_records=[{repo / 'datasets/hubbard/v3/settings/convergence.jsonl'}]",
            f"simulate.spotcheck.report={report}",
            f"simulate.spotcheck.root={tmp_path / 'reruns'}",
        ]
    )
    monkeypatch.setattr(simulate, "check_settings", lambda *args: None)
    monkeypatch.setattr(
        simulate, "run_iteration", lambda *args: {K.STATUS: "failed", K.REASON: "hp.x exited with status 1"}
    )
    with pytest.raises(simulate.SpotCheckError, match=r"re-run of .* failed \(hp.x exited with status 1\)"):
        simulate.spotcheck(cfg)
    assert report.read_text() == '{"max_u_diff_eV": 0.0001}'


def test_settings_study_points_rerun_at_their_own_cutoffs_and_meshes():
    """The pipeline's spot-check (simulate=dfpt_spotcheck) picks data set v3's cheapest points, which are
    settings-study points at k 2x2x2 and q Gamma, not at their material's path settings: each is re-run
    at the cutoffs and meshes stored with it, and every other stored setting equals the configuration's."""
    from matdisco.hubbard.simulate import campaign_of, check_settings, record_campaign, spotcheck_records

    repo = Path(__file__).resolve().parents[3]
    cfg = compose(["simulate=dfpt_spotcheck", "data=hubbard", f"paths.datasets={repo / 'datasets'}"])
    campaign = campaign_of(cfg)
    assert campaign.piece_store is None and campaign.hp_parallel_pieces == 0  # the campaign's pieces stay untouched
    chosen = choose_records(spotcheck_records(cfg.simulate), [], int(cfg.simulate.spotcheck.n_records))
    assert len({r[K.MATERIAL] for r in chosen}) == 2
    for stored in chosen:
        rerun, path = record_campaign(campaign, stored)
        check_settings(stored, rerun, path)
        assert [path.material.kpts, path.material.qpts] == [tuple(stored[K.SETTINGS][m]) for m in ("kpts", "qpts")]
        assert rerun.settings["ecutrho_Ry"] == stored[K.SETTINGS]["ecutrho_Ry"]
    with pytest.raises(ConfigError, match="material FeO is not in"):
        record_campaign(campaign, {**chosen[0], K.MATERIAL: "FeO"})
