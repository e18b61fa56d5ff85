"""``hubbard_generate``: use the U and V models. Predict from pw.x occupations, write the next pw.x input.

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
import re
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from matdisco.core.config import artifact
from matdisco.core.errors import ConfigError, InputError
from matdisco.core.io import atomic_write_json, atomic_write_text
from matdisco.hubbard import keys as K
from matdisco.hubbard.campaign import read_records
from matdisco.hubbard.ensemble import Ensemble
from matdisco.hubbard.extract import spin_channels, u_table, v_table
from matdisco.hubbard.qe.inputs import TINY_EV, fortran
from matdisco.hubbard.structures import TRANSITION_METALS
from matdisco.hubbard.training import BY_PATH, model_dir, variant_name

_HUBBARD_LINE = re.compile(r"^\s*Hubbard_[UV]\s*\([^)]*\)\s*=.*$", re.IGNORECASE)
_HUBBARD_V = re.compile(r"Hubbard_V\s*\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)\s*=\s*([-+0-9.eEdD]+)", re.IGNORECASE)
_HUBBARD_U = re.compile(r"Hubbard_U\s*\(\s*(\d+)\s*\)\s*=\s*([-+0-9.eEdD]+)", re.IGNORECASE)
_KIND = re.compile(r"lda_plus_u_kind\s*=\s*(\d+)", re.IGNORECASE)
Entries = list[tuple[int, int, float]]


# --- pw.x input text ---------------------------------------------------------------------------
def _float(text: str) -> float:
    return float(text.lower().replace("d", "e"))


def input_kind(text: str) -> int:
    match = _KIND.search(text)
    return int(match.group(1)) if match else 0


def input_labels(text: str, where: str) -> tuple[list[str], list[str]]:
    """(species labels in ATOMIC_SPECIES order, label of every atom in ATOMIC_POSITIONS order)."""
    lines = text.splitlines()
    nat = re.search(r"\bnat\s*=\s*(\d+)", text, re.IGNORECASE)
    ntyp = re.search(r"\bntyp\s*=\s*(\d+)", text, re.IGNORECASE)
    if not (nat and ntyp):
        raise InputError("no nat / ntyp in &SYSTEM", where=where, expected="a pw.x input")

    def block(name: str, n: int) -> list[str]:
        start = next((i for i, line in enumerate(lines) if line.strip().upper().startswith(name)), None)
        if start is None:
            raise InputError(f"no {name} card", where=where, expected="a pw.x input")
        rows = [line.split()[0] for line in lines[start + 1 :] if line.strip()][:n]
        if len(rows) != n:
            raise InputError(f"{name} has {len(rows)} rows", where=where, expected=str(n))
        return rows

    return block("ATOMIC_SPECIES", int(ntyp.group(1))), block("ATOMIC_POSITIONS", int(nat.group(1)))


def symbol_of(label: str) -> str:
    """Chemical symbol of a QE species label (``Ni1`` -> ``Ni``)."""
    match = re.match(r"[A-Z][a-z]?", label)
    if not match:
        raise InputError(f"species label {label!r}", expected="a label starting with a chemical symbol")
    return match.group(0)


def input_entries(text: str) -> Entries:
    """Hubbard entries ``(i, j, eV)`` of a pw.x input (kind 2: Hubbard_V; kind 0: Hubbard_U per atom)."""
    if input_kind(text) == 2:
        return [(int(i), int(j), _float(v)) for i, j, _, v in _HUBBARD_V.findall(text)]
    species, atoms = input_labels(text, "pw.x input")
    per_type = {int(t): _float(v) for t, v in _HUBBARD_U.findall(text)}
    return [(n, n, per_type[species.index(label) + 1]) for n, label in enumerate(atoms, 1) if species.index(label) + 1 in per_type]


def replace_hubbard(text: str, entries: Entries, where: str) -> str:
    """``text`` with every Hubbard_U/Hubbard_V assignment replaced by ``entries`` (end of &SYSTEM).

    lda_plus_u_kind 2: one ``Hubbard_V(i,j,1)`` per entry. Kind 0: ``Hubbard_U(type)`` (on-site
    entries only; atoms of one species label must share a value, the mean is written).
    """
    kind = input_kind(text)
    if kind == 2:
        new = [f"  Hubbard_V({i},{j},1) = {fortran(float(v))}" for i, j, v in entries]
    elif kind == 0:
        species, atoms = input_labels(text, where)
        per_type: dict[int, list[float]] = {}
        for i, j, v in entries:
            if i != j:
                raise ConfigError(f"{where}: inter-site entry ({i}, {j}) needs lda_plus_u_kind = 2")
            per_type.setdefault(species.index(atoms[i - 1]) + 1, []).append(float(v))
        new = [f"  Hubbard_U({t}) = {fortran(float(np.mean(vs)))}" for t, vs in sorted(per_type.items())]
    else:
        raise InputError(f"lda_plus_u_kind = {kind}", where=where, expected="0 or 2")
    out, in_system, done = [], False, False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.upper().startswith("&SYSTEM"):
            in_system = True
        elif in_system and stripped == "/" and not done:
            out.extend(new)
            in_system, done = False, True
        if _HUBBARD_LINE.match(line):
            continue
        out.append(line)
    if not done:
        raise InputError("no &SYSTEM namelist closed by '/'", where=where, expected="a pw.x input")
    return "\n".join(out) + "\n"


# --- a record-like dict from a pw.x output + input --------------------------------------------
def record_from_pw(pw_output: str | Path, pw_input: str | Path, parameters_out: str | Path | None = None) -> dict[str, Any]:
    """Sites (occupations, U_in) and pairs (V_in, distance) of a finished pw.x run, shaped like a data-set record.

    Pairs: the input's inter-site entries, plus those of an hp.x ``parameters.out`` (its pair list in
    QE's supercell numbering) when given, e.g. at the first iteration where the input has none.
    """
    from ase.io import read

    from matdisco.hubbard.qe.parse_pw import parse_pw_output

    text = Path(pw_input).read_text()
    pw = parse_pw_output(pw_output)
    _, labels = input_labels(text, str(pw_input))
    atoms = read(str(pw_output), format="espresso-out", index=-1)  # ASE reads no ibrav != 0 input; the output has the cell
    entries = {(i, j): v for i, j, v in input_entries(text)}
    if parameters_out:
        from matdisco.hubbard.qe.parse_hp import parse_parameters_out

        for i, j, _ in parse_parameters_out(parameters_out):
            entries.setdefault((i, j), 0.0)
    nat = len(labels)
    sites = []
    for atom, occupations in sorted(pw.occupations.items()):
        spin_channels(occupations.tolist())  # validates the shape
        sites.append({K.ATOM_INDEX: atom, K.SPECIES: symbol_of(labels[atom - 1]), K.LABEL: labels[atom - 1],
                      K.OCCUPATIONS: occupations.tolist(), K.MAGNETIC_MOMENT: pw.magnetic_moments.get(atom),
                      K.U_IN: _physical(entries.get((atom, atom), 0.0)), K.U_OUT: float("nan")})
    have = {site[K.ATOM_INDEX] for site in sites}
    pairs = []
    for (i, j), value in entries.items():
        cell_j = (j - 1) % nat + 1
        if i == j or i not in have or cell_j not in have:
            continue
        pairs.append({K.ATOM_I: i, K.ATOM_J: j, K.ATOM_J_CELL: cell_j, K.SPECIES_I: symbol_of(labels[i - 1]),
                      K.SPECIES_J: symbol_of(labels[cell_j - 1]), K.DISTANCE: float(atoms.get_distance(i - 1, cell_j - 1, mic=True)),
                      K.V_IN: _physical(value), K.V_OUT: float("nan")})
    name = Path(pw_output).name
    return {K.RECORD_ID: name, K.PATH_ID: name, K.MATERIAL: name, K.STRAIN: 0.0, K.ITERATION: 0, K.CONVERGED: False,
            K.SITES: sites, K.PAIRS: pairs, K.STRUCTURE: {K.SYMBOLS: [symbol_of(label) for label in labels]},
            K.PROVENANCE: {"inputs": {"scf1.in": text}}}


def _physical(value: float) -> float:
    return 0.0 if abs(value) <= TINY_EV else float(value)


# --- prediction ----------------------------------------------------------------------------------
def predict_record(record: dict[str, Any], u_model: Ensemble, v_model: Ensemble | None) -> tuple[pd.DataFrame, pd.DataFrame]:
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
            if species in TRANSITION_METALS:
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


def load_models(cfg) -> tuple[Ensemble, Ensemble | None]:
    """The by_path ensembles of ``generate.u_model`` and ``generate.v_model`` (V optional when untrained),
    in the variant of ``model.training.target``."""
    gen = cfg.model.generate
    target = cfg.model.training.target  # next: one protocol step; converged: the final values
    u_folder = model_dir(cfg, variant_name(gen.u_model, target)) / BY_PATH
    v_folder = model_dir(cfg, variant_name(gen.v_model, target)) / BY_PATH
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
    return {"n_iterations": len(records), "converged": bool(last[K.CONVERGED]), "cpu_time_s": float(sum(cpu)),
            "cpu_time_per_iteration_s": cpu, "final": final, "input_error_eV": errors}


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
    return {"iterations_saved_estimate": skipped, "cpu_time_saved_s_estimate": saved_cpu,
            "note": "estimate from the reference path (no QE run); valid when the path converged" if reference["converged"] else
            "reference path not converged yet: estimate is a lower bound"}


def selected_paths(cfg, records: list[dict[str, Any]]) -> list[str]:
    """Held-out (test) paths of the by_path split of the U table, else every path; at most ``generate.max_paths``."""
    table = artifact(cfg, "processed", "hubbard", "u.parquet")
    paths: list[str] = []
    if table.is_file():
        u = pd.read_parquet(table)
        if K.SPLIT_BY_PATH in u:
            paths = sorted(u[u[K.SPLIT_BY_PATH] == "test"][K.PATH_ID].unique())
    if not paths:
        print("[hubbard_generate] no held-out test path in the split: predicting for every path (in-sample)")
        paths = sorted({r[K.PATH_ID] for r in records})
    return paths[: int(cfg.model.generate.max_paths)]


def write_next_input(out: Path, record: dict[str, Any], u: pd.DataFrame, v: pd.DataFrame) -> tuple[Path, list[str]]:
    entries, notes = next_entries(record, u, v)
    text = record[K.PROVENANCE]["inputs"].get("scf1.in")
    if text is None:
        raise InputError("no scf1.in in the record's provenance", where=record[K.RECORD_ID])
    path = atomic_write_text(out / "scf.in", replace_hubbard(text, entries, record[K.RECORD_ID]))
    return path, notes


def generate(cfg, run_iteration: Callable | None = None) -> dict:
    """Predict U/V and write the next pw.x input(s); reference comparison and optional closed loop. See module docstring."""
    gen = cfg.model.generate
    u_model, v_model = load_models(cfg)
    root = artifact(cfg, "results", "hubbard", "generate")
    if gen.get("pw_output"):
        if not gen.get("pw_input"):
            raise ConfigError("generate.pw_output needs generate.pw_input (the pw.x input that produced it)")
        record = record_from_pw(gen.pw_output, gen.pw_input, gen.get("parameters_out"))
        start = time.perf_counter()
        u, v = predict_record(record, u_model, v_model)
        seconds = time.perf_counter() - start
        path, notes = write_next_input(root / Path(gen.pw_output).stem, record, u, v)
        result = {"pw_output": str(gen.pw_output), "next_input": str(path), "prediction_s": seconds, "notes": notes,
                  "u_eV": _values(u, (K.ATOM_INDEX,)), "v_eV": _values(v, (K.ATOM_I, K.ATOM_J))}
        atomic_write_json(path.parent / "prediction.json", result)
        return result
    records = read_records(Path(cfg.data.records))
    records = [r for r in records if r[K.STATUS] == "ok"]
    by_path: dict[str, list] = {}
    for record in records:
        by_path.setdefault(record[K.PATH_ID], []).append(record)
    paths_out = {}
    for path_id in selected_paths(cfg, records):
        path_records = sorted(by_path[path_id], key=lambda r: r[K.ITERATION])
        first = path_records[0]
        start = time.perf_counter()
        u, v = predict_record(first, u_model, v_model)
        seconds = time.perf_counter() - start
        reference = path_reference(path_records)
        entries, _ = next_entries(first, u, v)
        ml = {(i, j): value for i, j, value in entries}
        ml_error = max((abs(ml.get(key, 0.0) - value) for key, value in reference["final"].items()), default=float("nan"))
        first_out = {(e[K.ATOM_I], e[K.ATOM_J]): e[K.VALUE] for e in first[K.HUBBARD_OUT]}
        step_error = max((abs(ml[key] - value) for key, value in first_out.items() if key in ml), default=float("nan"))
        path, notes = write_next_input(root / path_id.replace("/", "_"), first, u, v)
        entry = {"next_input": str(path), "prediction_s": seconds, "target": u_model.target, "notes": notes,
                 "max_abs_error_vs_first_hp_eV": step_error, "max_abs_error_vs_final_eV": ml_error,
                 "reference": {k: v for k, v in reference.items() if k != "final"}, **estimated_saving(reference, ml_error, float(gen.get("saving_margin_eV", 0.01))),
                 "u_eV": _values(u, (K.ATOM_INDEX,)), "v_eV": _values(v, (K.ATOM_I, K.ATOM_J))}
        atomic_write_json(path.parent / "prediction.json", entry)
        paths_out[path_id] = entry
    loop = closed_loop(cfg, by_path, paths_out, u_model, v_model, run_iteration) if gen.closed_loop.enabled else {"enabled": False}
    summary = {
        "n_paths": len(paths_out),
        "iterations_saved_estimate_mean": float(np.mean([p["iterations_saved_estimate"] for p in paths_out.values()])) if paths_out else None,
        "max_abs_error_vs_final_eV_mean": float(np.nanmean([p["max_abs_error_vs_final_eV"] for p in paths_out.values()])) if paths_out else None,
        "prediction_s_mean": float(np.mean([p["prediction_s"] for p in paths_out.values()])) if paths_out else None,
        "closed_loop": loop,
    }
    atomic_write_json(artifact(cfg, "metrics", "hubbard", "generate.json"), {**summary, "paths": paths_out})
    return summary


def _values(frame: pd.DataFrame, key: tuple[str, ...]) -> list[dict]:
    if frame.empty:
        return []
    columns = [*key, K.SPECIES if K.SPECIES in frame else K.SPECIES_I, "pred_eV", "pred_std_eV"]
    out_column = K.U_OUT if K.U_OUT in frame else K.V_OUT
    rows = frame[columns + [out_column]].rename(columns={out_column: "hp_eV"})
    return [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()} for row in rows.to_dict("records")]


# --- closed loop (real QE) -------------------------------------------------------------------------
def closed_loop(cfg, by_path: dict, predictions: dict, u_model: Ensemble, v_model: Ensemble | None, run_iteration: Callable | None = None) -> dict:
    """Re-run the self-consistent protocol of held-out paths from the ML values (pw.x + hp.x).

    Iteration 0's SCF at the usual start is the data set's (its occupations fed the model; its
    CPU time counts, its hp.x run is the one the model replaces); the loop starts at iteration 1 with
    the ML values and follows the campaign's protocol (``next_hubbard``) until converged or
    ``max_iterations``. Costs are compared as hp.x and pw.x run counts and as the CPU seconds QE
    reports (:func:`cpu_seconds`). An iteration whose folder holds a
    record made from the same Hubbard input is reused, so an interrupted loop resumes.
    ``run_iteration`` (default: the campaign's) is injectable for tests.
    """
    from matdisco.core.config import compose
    from matdisco.hubbard import campaign as C

    loop_cfg = cfg.model.generate.closed_loop
    sim = compose([f"simulate={loop_cfg.simulate}"]).simulate
    campaign = C.campaign_from_config(sim, loop_cfg.root, Path(loop_cfg.root) / "records.jsonl", Path(loop_cfg.root) / "failures.jsonl")
    run = run_iteration or C.run_iteration
    specs = {spec.path_id: spec for spec in C.plan(campaign)}
    results = {}
    chosen = list(loop_cfg.get("paths") or []) or list(predictions)[: int(loop_cfg.max_paths)]
    unknown = sorted(set(chosen) - set(predictions))
    if unknown:
        raise ConfigError(f"closed_loop.paths {unknown} are not among the predicted (held-out) paths {sorted(predictions)}")
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
            record = finished_iteration(folder, hubbard_in) or run(campaign, specs[path_id], iteration, hubbard_in, folder)
            iterations += 1
            cpu += cpu_seconds(record)
            if record[K.STATUS] != "ok" or record[K.CONVERGED]:
                break
            hubbard_in = C.next_hubbard(record)
        reference = path_reference(path_records)
        final = {(e[K.ATOM_I], e[K.ATOM_J]): e[K.VALUE] for e in (record or {}).get(K.HUBBARD_OUT, [])}
        diff = max((abs(final.get(key, np.nan) - value) for key, value in reference["final"].items()), default=float("nan"))
        results[path_id] = {"status": record[K.STATUS] if record else "not run", "converged": bool(record and record.get(K.CONVERGED)),
                            "scf_runs_ml": iterations, "hp_runs_ml": iterations - 1, "hp_runs_reference": reference["n_iterations"],
                            "hp_runs_saved": reference["n_iterations"] - (iterations - 1), "cpu_time_ml_s": cpu,
                            "cpu_time_reference_s": reference["cpu_time_s"], "cpu_time_saved_s": reference["cpu_time_s"] - cpu,
                            "max_abs_final_difference_eV": float(diff), "reference_converged": reference["converged"]}
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
