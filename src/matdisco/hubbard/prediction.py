"""Use the U and V models: predict from pw.x occupations, write the next pw.x input, compare with the protocol.

Two sources of occupations:
- a pw.x output file (``generate.pw_output``, ``verbosity='high'``) plus the pw.x input that
  produced it (``generate.pw_input``: structure, settings, the Hubbard entries it ran with). The
  V pairs are the input's inter-site ``Hubbard_V(i, j, 1)`` entries (QE supercell numbering; their
  distance is the minimum-image distance of i and the cell atom that j is an image of);
- default (the pipeline): the first iteration of held-out paths of the data set (records: the
  occupations of the pw.x run at the starting U, the input file it ran with, hp.x's pair list).

The next input is the given input with its Hubbard entries replaced: predicted U on the metal 3d
sites, predicted V on every pair the V model knows, O 2p kept at QE's tiny marker (as the
campaign does: hp.x's U on O is not fed back); everything else is kept verbatim. Outputs go to
``results/hubbard/generate/<name>/`` (``scf.in``, ``prediction.json``) and
``metrics/hubbard/generate.json``.

Iterations saved. For each path the reference is the data set's own protocol (iterations and
CPU time until converged). Without running QE, the saving is estimated: starting from the ML
values is worth skipping every reference iteration whose input U/V were farther (max |in - final|)
from the converged values than the ML prediction is. With ``generate.closed_loop.enabled`` the
protocol is actually re-run from the ML values (pw.x + hp.x through the campaign code, minutes per
iteration on two cores: off by default) and iterations, CPU time and final values are compared.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from matdisco.core.errors import ConfigError, InputError
from matdisco.core.io import atomic_write_text
from matdisco.hubbard import keys as K
from matdisco.hubbard.ensemble import Ensemble
from matdisco.hubbard.qe.edit import (
    Entries,
    input_entries,
    input_labels,
    replace_hubbard,
    require_same_structure,
    symbol_of,
)
from matdisco.hubbard.qe.inputs import TINY_EV
from matdisco.hubbard.structures import TRANSITION_METALS
from matdisco.hubbard.tables import spin_channels, u_table, v_table


# --- a record-like dict from a pw.x output + input --------------------------------------------
def record_from_pw(
    pw_output: str | Path, pw_input: str | Path, parameters_out: str | Path | None = None
) -> dict[str, Any]:
    """Sites (occupations, U_in) and pairs (V_in, distance) of a finished pw.x run, shaped like a data-set record.

    Pairs: the input's inter-site entries, plus those of an hp.x ``parameters.out`` (its pair list in
    QE's supercell numbering) when given, e.g. at the first iteration where the input has none.
    """
    from ase.io import read

    from matdisco.hubbard.qe.parse_pw import parse_pw_output

    text = Path(pw_input).read_text()
    pw = parse_pw_output(pw_output)
    _, labels = input_labels(text, str(pw_input))
    atoms = read(
        str(pw_output), format="espresso-out", index=-1
    )  # ASE reads no ibrav != 0 input; the output has the cell
    require_same_structure(
        text, str(pw_input), atoms.get_chemical_symbols(), atoms.positions, atoms.cell.array, str(pw_output)
    )
    entries = {(i, j): v for i, j, v in input_entries(text)}
    if parameters_out:
        from matdisco.hubbard.qe.parse_hp import parse_parameters_out

        for i, j, _ in parse_parameters_out(parameters_out):
            entries.setdefault((i, j), 0.0)
    nat = len(labels)
    sites = []
    for atom, occupations in sorted(pw.occupations.items()):
        spin_channels(occupations.tolist())  # validates the shape
        sites.append(
            {
                K.ATOM_INDEX: atom,
                K.SPECIES: symbol_of(labels[atom - 1]),
                K.LABEL: labels[atom - 1],
                K.OCCUPATIONS: occupations.tolist(),
                K.MAGNETIC_MOMENT: pw.magnetic_moments.get(atom),
                K.U_IN: _physical(entries.get((atom, atom), 0.0)),
                K.U_OUT: float("nan"),
            }
        )
    have = {site[K.ATOM_INDEX] for site in sites}
    pairs = []
    for (i, j), value in entries.items():
        cell_j = (j - 1) % nat + 1
        if i == j or i not in have or cell_j not in have:
            continue
        pairs.append(
            {
                K.ATOM_I: i,
                K.ATOM_J: j,
                K.ATOM_J_CELL: cell_j,
                K.SPECIES_I: symbol_of(labels[i - 1]),
                K.SPECIES_J: symbol_of(labels[cell_j - 1]),
                K.DISTANCE: float(atoms.get_distance(i - 1, cell_j - 1, mic=True)),
                K.V_IN: _physical(value),
                K.V_OUT: float("nan"),
            }
        )
    name = Path(pw_output).name
    return {
        K.RECORD_ID: name,
        K.PATH_ID: name,
        K.MATERIAL: name,
        K.STRAIN: 0.0,
        K.ITERATION: 0,
        K.CONVERGED: False,
        K.SITES: sites,
        K.PAIRS: pairs,
        K.STRUCTURE: {K.SYMBOLS: [symbol_of(label) for label in labels]},
        K.PROVENANCE: {"inputs": {"scf1.in": text}},
    }


def _physical(value: float) -> float:
    return 0.0 if abs(value) <= TINY_EV else float(value)


# --- prediction ----------------------------------------------------------------------------------
def predict_record(
    record: dict[str, Any], u_model: Ensemble, v_model: Ensemble | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """U rows (per site) and V rows (per pair) of ``record`` with ``pred_eV`` / ``pred_std_eV`` (NaN: species unknown to the model)."""
    u = u_table([record])
    u["pred_eV"], u["pred_std_eV"] = u_model.predict(u)
    v = v_table([record])
    if v_model is not None and len(v):
        v["pred_eV"], v["pred_std_eV"] = v_model.predict(v)
    elif len(v):
        v["pred_eV"], v["pred_std_eV"] = np.nan, np.nan
    return u, v


def next_entries(record: dict[str, Any], u: pd.DataFrame, v: pd.DataFrame) -> tuple[Entries, list[str]]:
    """Hubbard input for the next pw.x run: predicted metal U and V, tiny O marker; notes on what was kept."""
    notes = []
    entries: Entries = []
    for row in u.itertuples(index=False):
        atom, species, pred = getattr(row, K.ATOM_INDEX), getattr(row, K.SPECIES), row.pred_eV
        if species in TRANSITION_METALS and np.isfinite(pred):
            entries.append((atom, atom, round(float(pred), 4)))
        else:
            if not np.isfinite(pred):
                notes.append(f"atom {atom} ({species}): unknown to the U model, U_in kept")
            entries.append((atom, atom, getattr(row, K.U_IN) or TINY_EV))
    for row in v.itertuples(index=False):
        i, j, pred = getattr(row, K.ATOM_I), getattr(row, K.ATOM_J), row.pred_eV
        if np.isfinite(pred):
            entries.append((i, j, round(float(pred), 4)))
        else:
            notes.append(f"pair ({i}, {j}): no V prediction, V_in kept")
            entries.append((i, j, getattr(row, K.V_IN)))
    return entries, notes


def require_a_prediction(u: pd.DataFrame, v: pd.DataFrame, u_model: Ensemble, source: str) -> None:
    """:class:`InputError` when no metal site of ``u`` and no pair of ``v`` got a prediction (every
    species unknown to the models): the next input would only repeat the given one."""
    predicted_u = u[u[K.SPECIES].isin(TRANSITION_METALS)]["pred_eV"].notna().any() if len(u) else False
    predicted_v = v["pred_eV"].notna().any() if len(v) else False
    if predicted_u or predicted_v:
        return
    species = sorted(set(u[K.SPECIES])) if len(u) else []
    raise InputError(
        f"no U or V prediction for any Hubbard site of {source} (species {', '.join(species) or 'none'}; "
        f"the U model {u_model.folder} knows {', '.join(u_model.vocabulary)}); nothing written",
        expected="a pw.x output of a material with a transition metal the models were trained on",
    )


def load_models(u_folder: Path, v_folder: Path) -> tuple[Ensemble, Ensemble | None]:
    """The U ensemble of ``u_folder`` and the V ensemble of ``v_folder`` (None when V is untrained): the by_path
    members of the models ``data.generate`` names, in the variant of its ``target``."""
    u_model = Ensemble.load(u_folder)
    v_model = Ensemble.load(v_folder) if v_folder.is_dir() else None
    if v_model is None:
        print(f"[hubbard_generate] no V model in {v_folder}: V entries keep their input values")
    return u_model, v_model


def path_reference(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The data set's own protocol of one path: iterations, CPU time, final values, input error per iteration."""
    records = sorted(records, key=lambda r: r[K.ITERATION])
    last = records[-1]
    final = {(e[K.ATOM_I], e[K.ATOM_J]): e[K.VALUE] for e in last[K.HUBBARD_OUT]}
    errors = []
    for record in records:
        given = {(e[K.ATOM_I], e[K.ATOM_J]): _physical(e[K.VALUE]) for e in record[K.HUBBARD_IN]}
        errors.append(max(abs(given.get(key, 0.0) - value) for key, value in final.items()) if final else float("nan"))
    cpu = [cpu_seconds(r) for r in records]
    return {
        "n_iterations": len(records),
        "converged": bool(last[K.CONVERGED]),
        "cpu_time_s": float(sum(cpu)),
        "cpu_time_per_iteration_s": cpu,
        "final": final,
        "input_error_eV": errors,
    }


def estimated_saving(reference: dict[str, Any], ml_error_eV: float, margin_eV: float = 0.01) -> dict[str, Any]:
    """Reference iterations whose input was farther (by more than ``margin_eV``) from the converged values
    than the ML start (see module docstring)."""
    skipped = 0
    for error in reference["input_error_eV"]:
        if error > ml_error_eV + margin_eV:
            skipped += 1
        else:
            break
    skipped = min(skipped, reference["n_iterations"] - 1)
    saved_cpu = float(sum(reference["cpu_time_per_iteration_s"][:skipped]))
    return {
        "iterations_saved_estimate": skipped,
        "cpu_time_saved_s_estimate": saved_cpu,
        "note": "estimate from the reference path (no QE run); valid when the path converged"
        if reference["converged"]
        else "reference path not converged yet: estimate is a lower bound",
    }


def selected_paths(table: Path, records: list[dict[str, Any]], max_paths: int) -> list[str]:
    """Held-out (test) paths of the by_path split of the U table ``table`` (processed/hubbard/u.parquet), else
    every path of ``records``; at most ``max_paths`` (``data.generate.max_paths``)."""
    paths: list[str] = []
    if table.is_file():
        u = pd.read_parquet(table)
        if K.SPLIT_BY_PATH in u:
            paths = sorted(u[u[K.SPLIT_BY_PATH] == "test"][K.PATH_ID].unique())
    if not paths:
        print("[hubbard_generate] no held-out test path in the split: predicting for every path (in-sample)")
        paths = sorted({r[K.PATH_ID] for r in records})
    return paths[:max_paths]


def write_next_input(out: Path, record: dict[str, Any], u: pd.DataFrame, v: pd.DataFrame) -> tuple[Path, list[str]]:
    entries, notes = next_entries(record, u, v)
    text = record[K.PROVENANCE]["inputs"].get("scf1.in")
    if text is None:
        raise InputError("no scf1.in in the record's provenance", where=record[K.RECORD_ID])
    path = atomic_write_text(out / "scf.in", replace_hubbard(text, entries, record[K.RECORD_ID]))
    return path, notes


# --- closed loop (real QE) -------------------------------------------------------------------------
def closed_loop(
    loop_cfg: DictConfig,
    by_path: dict,
    predictions: dict,
    u_model: Ensemble,
    v_model: Ensemble | None,
    run_iteration: Callable | None = None,
) -> dict:
    """Re-run the self-consistent protocol of held-out paths from the ML values (pw.x + hp.x).

    Iteration 0's SCF at the usual start is the data set's (its occupations fed the model; its
    CPU time counts, its hp.x run is the one the model replaces); the loop starts at iteration 1 with
    the ML values and follows the campaign's protocol (``next_hubbard``) until converged or
    ``max_iterations``. Costs are compared as hp.x and pw.x run counts and as the CPU seconds QE
    reports (:func:`cpu_seconds`). An iteration whose folder holds a
    record made from the same Hubbard input is reused, so an interrupted loop resumes.
    ``run_iteration`` (default: the campaign's) is injectable for tests. ``loop_cfg``: the section
    ``data.generate.closed_loop``.
    """
    from matdisco.core.config import compose
    from matdisco.hubbard import campaign as C

    sim = compose([f"simulate={loop_cfg.simulate}"]).simulate
    campaign = C.campaign_from_config(
        sim, loop_cfg.root, Path(loop_cfg.root) / "records.jsonl", Path(loop_cfg.root) / "failures.jsonl"
    )
    run = run_iteration or C.run_iteration
    specs = {spec.path_id: spec for spec in C.plan(campaign)}
    results = {}
    chosen = list(loop_cfg.get("paths") or []) or list(predictions)[: int(loop_cfg.max_paths)]
    unknown = sorted(set(chosen) - set(predictions))
    if unknown:
        raise ConfigError(
            f"closed_loop.paths {unknown} are not among the predicted (held-out) paths {sorted(predictions)}"
        )
    for path_id in chosen:
        if path_id not in specs:
            results[path_id] = {"skipped": "path not in the campaign plan"}
            continue
        path_records = sorted(by_path[path_id], key=lambda r: r[K.ITERATION])
        first = path_records[0]
        u, v = predict_record(first, u_model, v_model)
        hubbard_in, _ = next_entries(first, u, v)
        cpu = scf_cpu_seconds(first)
        record, iterations = None, 1
        for iteration in range(1, campaign.max_iterations + 1):
            folder = Path(loop_cfg.root) / path_id / f"iter_{iteration}"
            record = finished_iteration(folder, hubbard_in) or run(
                campaign, specs[path_id], iteration, hubbard_in, folder
            )
            iterations += 1
            cpu += cpu_seconds(record)
            if record[K.STATUS] != "ok" or record[K.CONVERGED]:
                break
            hubbard_in = C.next_hubbard(record)
        reference = path_reference(path_records)
        final = {(e[K.ATOM_I], e[K.ATOM_J]): e[K.VALUE] for e in (record or {}).get(K.HUBBARD_OUT, [])}
        diff = max(
            (abs(final.get(key, np.nan) - value) for key, value in reference["final"].items()), default=float("nan")
        )
        results[path_id] = {
            "status": record[K.STATUS] if record else "not run",
            "converged": bool(record and record.get(K.CONVERGED)),
            "scf_runs_ml": iterations,
            "hp_runs_ml": iterations - 1,
            "hp_runs_reference": reference["n_iterations"],
            "hp_runs_saved": reference["n_iterations"] - (iterations - 1),
            "cpu_time_ml_s": cpu,
            "cpu_time_reference_s": reference["cpu_time_s"],
            "cpu_time_saved_s": reference["cpu_time_s"] - cpu,
            "max_abs_final_difference_eV": float(diff),
            "reference_converged": reference["converged"],
        }
    return {"enabled": True, "paths": results}


def cpu_seconds(record: dict) -> float:
    """CPU seconds that pw.x and hp.x report for one iteration (``qe_cpu_time_s``)."""
    return float(record[K.QE_CPU_TIME])


def scf_cpu_seconds(record: dict) -> float:
    """CPU seconds that the pw.x runs (steps ``scf*``) of one iteration report."""
    return float(sum(t for step, t in record[K.QE_CPU_TIMINGS].items() if step.startswith("scf")))


def finished_iteration(folder: Path, hubbard_in: Entries, tolerance_eV: float = 1e-4) -> dict | None:
    """The record in ``folder`` when it was computed from ``hubbard_in`` (same entries within
    ``tolerance_eV``), else None (a stale or partial folder is then rerun by the campaign code)."""
    path = Path(folder) / "record.json"
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    stored = {(e[K.ATOM_I], e[K.ATOM_J]): e[K.VALUE] for e in record.get(K.HUBBARD_IN, [])}
    wanted = {(i, j): value for i, j, value in hubbard_in}
    same = stored.keys() == wanted.keys() and all(abs(stored[key] - wanted[key]) <= tolerance_eV for key in wanted)
    return record if same else None
