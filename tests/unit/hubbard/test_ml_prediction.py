"""hubbard_generate: Hubbard entries in pw.x inputs, prediction from a real pw.x output, closed loop (fake QE)."""

import importlib
import json
import re

import numpy as np
import pandas as pd
import pytest
import torch
from test_ml_evaluation import TINY, cobalt_records, eval_cfg  # noqa: E402  (same test folder)
from test_ml_training import synthetic_records, tiny_cfg, write_tables  # noqa: E402  (same test folder)

from matdisco.core.errors import ConfigError, InputError
from matdisco.hubbard import campaign as C
from matdisco.hubbard import keys as K
from matdisco.hubbard.generate import generate
from matdisco.hubbard.prediction import finished_iteration, next_entries
from matdisco.hubbard.qe.edit import input_entries, replace_hubbard
from matdisco.hubbard.splits import BY_PATH
from matdisco.hubbard.train import train

G = importlib.import_module("matdisco.hubbard.generate")  # the module: the package exports the function under its name
torch.set_num_threads(1)  # the shared machine is loaded: several threads thrash (conf/config.yaml)

KIND2 = """&CONTROL
  calculation = 'scf'
/
&SYSTEM
  ibrav = 0
  nat = 3
  ntyp = 2
  lda_plus_u = .true.
  lda_plus_u_kind = 2
  Hubbard_V(1,1,1) = 1d-08
  Hubbard_V(2,2,1) = 1d-08
/
&ELECTRONS
  conv_thr = 1d-10
/
ATOMIC_SPECIES
  Co 58.9 Co.UPF
  O 16.0 O.UPF
ATOMIC_POSITIONS angstrom
  Co 0 0 0
  O 0 0 1.9
  O 0 0 -1.9
"""


def test_replace_hubbard_kind2_and_kind0():
    text = replace_hubbard(KIND2, [(1, 1, 7.5), (2, 2, 1e-8), (1, 5, 0.9)], "test")
    assert input_entries(text) == [(1, 1, 7.5), (2, 2, 1e-8), (1, 5, 0.9)]
    assert (
        text.count("Hubbard_V") == 3
        and "conv_thr = 1d-10" in text
        and text.index("Hubbard_V") < text.index("&ELECTRONS")
    )
    kind0 = KIND2.replace("lda_plus_u_kind = 2", "lda_plus_u_kind = 0").replace(
        "Hubbard_V(1,1,1) = 1d-08\n  Hubbard_V(2,2,1) = 1d-08", "Hubbard_U(1) = 1d-08"
    )
    text0 = replace_hubbard(kind0, [(1, 1, 6.0), (2, 2, 1.0), (3, 3, 3.0)], "test")
    assert "Hubbard_U(1) = 6.0" in text0 and "Hubbard_U(2) = 2.0" in text0 and "Hubbard_V" not in text0
    with pytest.raises(Exception, match="lda_plus_u_kind = 2"):
        replace_hubbard(kind0, [(1, 2, 0.5)], "test")


def _campaign_like(records):
    """Give synthetic records what generate reads: the input file, Hubbard in/out, timings."""
    for r in records:
        r[K.STATUS] = "ok"
        r[K.HUBBARD_IN] = [
            {K.ATOM_I: s[K.ATOM_INDEX], K.ATOM_J: s[K.ATOM_INDEX], K.VALUE: s[K.U_IN] or 1e-8} for s in r[K.SITES]
        ]
        r[K.HUBBARD_OUT] = [{K.ATOM_I: 1, K.ATOM_J: 1, K.VALUE: r[K.SITES][0][K.U_OUT]}] + [
            {K.ATOM_I: p[K.ATOM_I], K.ATOM_J: p[K.ATOM_J], K.VALUE: p[K.V_OUT]} for p in r[K.PAIRS]
        ]
        r[K.TIMINGS] = {"scf1": 20.0, "hp": 400.0}
        r[K.CPU_TIME] = 420.0
        r[K.QE_CPU_TIMINGS] = {"scf1": 20.0, "hp": 400.0}
        r[K.QE_CPU_TIME] = 420.0
        r[K.PROVENANCE] = {"inputs": {"scf1.in": KIND2}, "mpi_ranks": 1}
    return records


@pytest.fixture
def trained(tmp_path):
    records = _campaign_like(synthetic_records(materials=("CoO", "NiO"), strains=(0.0, 0.02, -0.02), iterations=2))
    write_tables(tmp_path, records)
    with open(tmp_path / "records.jsonl", "w") as f:
        f.writelines(json.dumps(r, default=lambda o: o.tolist()) + "\n" for r in records)
    for model in ("hubbard_u", "hubbard_v"):
        train(tiny_cfg(tmp_path, model=model, splits=[BY_PATH], max_epochs=2))
    cfg = tiny_cfg(tmp_path)
    cfg.data.records = str(tmp_path / "records.jsonl")
    return cfg, records


def test_generate_from_records_writes_next_inputs_and_runs_fake_closed_loop(trained, tmp_path):
    cfg, records = trained
    calls = []

    def fake_run_iteration(campaign, path, iteration, hubbard_in, folder):
        calls.append((path.path_id, iteration, hubbard_in))
        reference = [r for r in records if r[K.PATH_ID] == path.path_id][-1]
        return {**reference, K.STATUS: "ok", K.CONVERGED: True, K.QE_CPU_TIME: 300.0}

    cfg.data.generate.closed_loop.enabled = True
    cfg.data.generate.closed_loop.root = str(tmp_path / "loop")
    summary = generate(cfg, run_iteration=fake_run_iteration)
    assert summary["n_paths"] >= 1
    metrics = json.loads((tmp_path / "metrics" / "hubbard" / "generate.json").read_text())
    path_id, entry = next(iter(metrics["paths"].items()))
    text = open(entry["next_input"]).read()
    entries = input_entries(text)
    u_pred = next(e for e in entry["u_eV"] if e[K.ATOM_INDEX] == 1)["pred_eV"]
    assert (1, 1, round(u_pred, 4)) in entries and (2, 2, 1e-8) in entries  # metal U predicted, O kept tiny
    assert sum(i != j for i, j, _ in entries) == 2  # the two V pairs
    loop = summary["closed_loop"]["paths"][path_id]
    assert calls[0][1] == 1 and calls[0][2] == [(i, j, v) for i, j, v in entries]  # starts from the ML values
    assert loop["converged"] and loop["scf_runs_ml"] == 2 and loop["hp_runs_ml"] == 1 and loop["hp_runs_reference"] == 2
    assert loop["hp_runs_saved"] == 1 and loop["cpu_time_ml_s"] == pytest.approx(20.0 + 300.0)
    cfg.data.generate.closed_loop.paths = ["not_a_held_out_path"]
    with pytest.raises(ConfigError, match="not_a_held_out_path"):
        generate(cfg, run_iteration=fake_run_iteration)


def test_generate_for_a_left_out_material_fits_its_models_without_that_material(tmp_path, monkeypatch):
    """data.generate.holdout = lomo_LiCoO: the U and V models are fitted here on the other materials
    only, the predicted paths and the closed loop's are LiCoO's."""
    records = _campaign_like(cobalt_records())
    write_tables(tmp_path, records)
    with open(tmp_path / "records.jsonl", "w") as f:
        f.writelines(json.dumps(r, default=lambda o: o.tolist()) + "\n" for r in records)
    cfg = eval_cfg(tmp_path)
    cfg.data.records = str(tmp_path / "records.jsonl")
    cfg.data.generate.update(holdout="lomo_LiCoO", max_paths=10)
    cfg.data.generate.closed_loop.update(enabled=True, root=str(tmp_path / "loop"), max_paths=1)
    trained_on, fit = [], G.blocked_ensemble

    def recording_fit(variant_cfg, points, run):
        trained_on.append(set(points.iloc[run.train + run.val][K.MATERIAL]))
        return fit(variant_cfg, points, run)

    def fake_run_iteration(campaign, path, iteration, hubbard_in, folder):
        reference = [r for r in records if r[K.PATH_ID] == path.path_id][-1]
        return {**reference, K.STATUS: "ok", K.CONVERGED: True, K.QE_CPU_TIME: 300.0}

    monkeypatch.setattr(G, "blocked_ensemble", recording_fit)
    paths = sorted({(r[K.MATERIAL], r[K.STRAIN]) for r in records})
    specs = [C.PathSpec(C.Material(name, {}, "fixed", (1, 1, 1), (1, 1, 1)), strain) for name, strain in paths]
    monkeypatch.setattr(C, "plan", lambda campaign: specs)  # the loop's campaign plans the synthetic paths
    summary = generate(cfg, run_iteration=fake_run_iteration, command_line=list(TINY))
    assert trained_on == [{"CoO", "Li0.5CoO"}] * 2  # U, then V: never LiCoO
    metrics = json.loads((tmp_path / "metrics" / "hubbard" / "generate.json").read_text())
    assert metrics["holdout"] == "lomo_LiCoO" and summary["n_paths"] == 3
    assert all(path.startswith("LiCoO_") for path in metrics["paths"])
    (looped,) = summary["closed_loop"]["paths"]
    assert looped.startswith("LiCoO_") and summary["closed_loop"]["paths"][looped]["converged"]
    cfg.data.generate.holdout = "lomo_MnO"
    with pytest.raises(ConfigError, match=r"data.generate.holdout='lomo_MnO' is not a holdout"):
        generate(cfg, command_line=list(TINY))


def test_closed_loop_reuses_an_iteration_only_for_the_same_hubbard_input(tmp_path):
    record = {K.HUBBARD_IN: [{K.ATOM_I: 1, K.ATOM_J: 1, K.VALUE: 8.5}, {K.ATOM_I: 1, K.ATOM_J: 17, K.VALUE: 0.8}]}
    (tmp_path / "record.json").write_text(json.dumps(record))
    assert finished_iteration(tmp_path, [(1, 1, 8.50001), (1, 17, 0.8)]) == record
    assert finished_iteration(tmp_path, [(1, 1, 8.6), (1, 17, 0.8)]) is None  # retrained model: new start, rerun
    assert finished_iteration(tmp_path, [(1, 1, 8.5)]) is None
    assert finished_iteration(tmp_path / "missing", [(1, 1, 8.5)]) is None


def test_generate_from_a_qe_pw_output(trained, qe_reference, tmp_path):
    cfg, _ = trained
    example = "example10"  # QE's LiCoO2 DFT+U+V reference run (Co 3d, O 2p)
    cfg.data.generate.pw_output = str(qe_reference(example, "LiCoO2.scf.out.gz"))
    cfg.data.generate.pw_input = str(qe_reference(example, "LiCoO2.scf.in"))
    cfg.data.generate.parameters_out = str(qe_reference(example, "parameters.out"))
    result = generate(cfg)
    text = open(result["next_input"]).read()
    entries = input_entries(text)
    assert len([e for e in entries if e[0] != e[1]]) == 6  # six Co-O pairs from parameters.out
    assert np.isfinite(result["u_eV"][0]["pred_eV"]) and result["u_eV"][0][K.SPECIES] == "Co"
    assert re.search(r"celldm\(1\)", text)  # the rest of QE's own input is kept


def test_estimated_saving_needs_a_better_start_than_the_usual_one():
    from matdisco.hubbard.prediction import estimated_saving

    reference = {
        "n_iterations": 4,
        "converged": True,
        "input_error_eV": [8.4, 0.7, 0.05, 0.004],
        "cpu_time_per_iteration_s": [400, 900, 900, 900],
    }
    assert estimated_saving(reference, 8.4 - 1e-8)["iterations_saved_estimate"] == 0  # same as starting from U = 0
    assert estimated_saving(reference, 0.3)["iterations_saved_estimate"] == 2  # inputs 8.4 and 0.7 eV off were worse
    out = estimated_saving(reference, 0.0)
    assert out["iterations_saved_estimate"] == 3 and out["cpu_time_saved_s_estimate"] == 2200


def test_missing_members_name_the_folder_once(tmp_path):
    from matdisco.core.errors import InputError
    from matdisco.hubbard.ensemble import Ensemble

    with pytest.raises(InputError) as err:
        Ensemble.load(tmp_path / "hubbard_u")
    assert str(err.value).count(str(tmp_path / "hubbard_u")) == 1


def _qe_files(qe_reference, tmp_path, example, output, pw_input):
    """Plain copies of one of QE's reference pw.x outputs (gzipped) and its input."""
    import gzip
    import shutil

    with gzip.open(qe_reference(example, output), "rb") as source, open(tmp_path / output[:-3], "wb") as target:
        shutil.copyfileobj(source, target)
    shutil.copy(qe_reference(example, pw_input), tmp_path / pw_input)
    return tmp_path / output[:-3], tmp_path / pw_input


def test_generate_for_a_material_of_unknown_species_fails_and_writes_nothing(trained, qe_reference, tmp_path):
    # issue 28 case 4: CrI3 (HP example03; the models know Co, Ni, O) gave an unchanged scf.in, notes [], rc 0
    cfg, _ = trained
    output, pw_input = _qe_files(qe_reference, tmp_path, "example03", "CrI3.scf1.out.gz", "CrI3.scf1.in")
    cfg.data.generate.pw_output, cfg.data.generate.pw_input = str(output), str(pw_input)
    with pytest.raises(InputError, match=r"no U or V prediction for any Hubbard site of .*CrI3\.scf1\.out.*Cr"):
        generate(cfg)
    assert not (tmp_path / "results" / "hubbard" / "generate").exists()


def test_every_site_without_a_prediction_gets_a_note():
    # issue 28 case 4: with Ni2MnGa (HP example06) Mn was left at its input without a note
    u = pd.DataFrame(
        {
            K.ATOM_INDEX: [1, 2, 3],
            K.SPECIES: ["Ni", "Mn", "Ga"],
            K.U_IN: [1e-8, 1e-8, 1e-8],
            "pred_eV": [6.1, np.nan, np.nan],
        }
    )
    v = pd.DataFrame({K.ATOM_I: [], K.ATOM_J: [], K.V_IN: [], "pred_eV": []})
    entries, notes = next_entries({}, u, v)
    assert entries[0] == (1, 1, 6.1)
    assert notes == [
        "atom 2 (Mn): unknown to the U model, U_in kept",
        "atom 3 (Ga): unknown to the U model, U_in kept",
    ]


def test_missing_qe_files_stop_generate_before_any_model_loads(tmp_path):
    # issue 28, the general rule: a missing pw.x input ended in a FileNotFoundError traceback
    from test_ml_training import tiny_cfg

    cfg = tiny_cfg(tmp_path)  # no model trained under tmp_path: the files are checked first
    cfg.data.generate.pw_output = str(tmp_path / "scf.out")
    (tmp_path / "scf.out").write_text("")
    with pytest.raises(ConfigError, match=r"data\.generate\.pw_output needs data\.generate\.pw_input"):
        generate(cfg)
    cfg.data.generate.pw_input = str(tmp_path / "missing.in")
    with pytest.raises(ConfigError, match=r"data\.generate\.pw_input=.*missing\.in is not a file"):
        generate(cfg)
