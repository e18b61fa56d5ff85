"""The hubbard_simulate step: run/resume the DFPT campaign, or re-run a few stored records (of the data
set or of its settings study, each at the cutoffs and meshes stored with it) and fail loudly when QE no
longer reproduces them (the default: minutes, not hours)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from matdisco.core import cluster
from matdisco.core.errors import ConfigError, MatdiscoError
from matdisco.core.io import atomic_write_json
from matdisco.hubbard import keys as K
from matdisco.hubbard.campaign import (
    Campaign,
    PathSpec,
    at_settings,
    campaign_from_config,
    record_settings,
    run_campaign,
    run_iteration,
)
from matdisco.hubbard.convergence import run_study, write_report
from matdisco.hubbard.records import read_records
from matdisco.hubbard.status import campaign_status, status_table
from matdisco.hubbard.structures import atoms_from_record


class SpotCheckError(MatdiscoError):
    """Re-running stored records gave results beyond the tolerance (or failed)."""


def campaign_of(cfg: DictConfig) -> Campaign:
    """The campaign described by ``cfg.simulate``."""
    sim = cfg.simulate
    return campaign_from_config(sim, sim.root, sim.records, sim.failures)


def choose_records(records: list[dict[str, Any]], record_ids: list[str], n_records: int) -> list[dict[str, Any]]:
    """``record_ids`` when given, else the ``n_records`` cheapest ok records of distinct materials."""
    ok = [r for r in records if r[K.STATUS] == "ok"]
    if record_ids:
        by_id = {r[K.RECORD_ID]: r for r in ok}
        missing = [i for i in record_ids if i not in by_id]
        if missing:
            raise ConfigError(f"spot-check record(s) not in the data set: {', '.join(missing)}")
        return [by_id[i] for i in record_ids]
    chosen: dict[str, dict[str, Any]] = {}
    for record in sorted(ok, key=lambda r: (r[K.CPU_TIME], r[K.RECORD_ID])):
        chosen.setdefault(record[K.MATERIAL], record)
    return list(chosen.values())[:n_records]


def compare(stored: dict[str, Any], fresh: dict[str, Any]) -> dict[str, float]:
    """Largest absolute differences (eV for U, V; electrons for occupations) between two records."""
    if fresh[K.STATUS] != "ok":
        return {"u_eV": float("inf"), "v_eV": float("inf"), "occupation": float("inf")}
    u_old = {s[K.ATOM_INDEX]: s for s in stored[K.SITES]}
    u_new = {s[K.ATOM_INDEX]: s for s in fresh[K.SITES]}
    v_old = {(p[K.ATOM_I], p[K.ATOM_J]): p[K.V_OUT] for p in stored[K.PAIRS]}
    v_new = {(p[K.ATOM_I], p[K.ATOM_J]): p[K.V_OUT] for p in fresh[K.PAIRS]}
    if u_old.keys() != u_new.keys() or v_old.keys() != v_new.keys():
        return {"u_eV": float("inf"), "v_eV": float("inf"), "occupation": float("inf")}
    occupation = max(
        abs(a - b)
        for atom in u_old
        for a, b in zip(_flat(u_old[atom][K.OCCUPATIONS]), _flat(u_new[atom][K.OCCUPATIONS]))
    )
    return {
        "u_eV": max(abs(u_old[a][K.U_OUT] - u_new[a][K.U_OUT]) for a in u_old),
        "v_eV": max((abs(v_old[k] - v_new[k]) for k in v_old), default=0.0),
        "occupation": occupation,
    }


def _flat(nested: Any) -> list[float]:
    return [x for item in nested for x in _flat(item)] if isinstance(nested, list) else [nested]


def spotcheck_records(sim: DictConfig) -> list[dict[str, Any]]:
    """The records a spot-check may re-run: the data set's (``simulate.records``) and its settings
    study's (``simulate.seed_records``: every point there is a real iteration 0)."""
    sources = [Path(sim.records), *(Path(p) for p in sim.get("seed_records") or [])]
    return [record for source in sources for record in read_records(source)]


def record_campaign(campaign: Campaign, stored: dict[str, Any]) -> tuple[Campaign, PathSpec]:
    """The campaign at the cutoffs and k/q meshes stored with ``stored`` (a settings-study point has its
    own) and the record's path; every other setting must still equal the configuration's (``check_settings``)."""
    settings = stored[K.SETTINGS]
    cutoffs = {key: settings[key] for key in ("ecutwfc_Ry", "ecutrho_Ry") if key in settings}
    try:
        rerun, material = at_settings(campaign, stored[K.MATERIAL], settings["kpts"], settings["qpts"], cutoffs)
    except ConfigError as error:
        raise ConfigError(f"record {stored[K.RECORD_ID]}: {error}") from error
    distortions = {d.name: d for d in campaign.distortions}
    return rerun, PathSpec(material, stored[K.STRAIN], distortions.get(stored.get(K.DISTORTION)))


def check_settings(stored: dict[str, Any], campaign: Campaign, path: PathSpec) -> None:
    """Raise :class:`ConfigError` when the configured settings differ from those of the stored record
    (a re-run would then not be comparable)."""
    current = record_settings(campaign, path.material)
    changed = sorted(k for k in set(current) | set(stored[K.SETTINGS]) if current.get(k) != stored[K.SETTINGS].get(k))
    if changed:
        raise ConfigError(
            f"record {stored[K.RECORD_ID]} was computed with other settings ({', '.join(changed)}); "
            "the spot-check needs the data set's settings"
        )


def spotcheck(cfg: DictConfig) -> dict[str, Any]:
    """Re-run the chosen stored iterations with their stored Hubbard input; raise
    :class:`SpotCheckError` when any U/V differs by more than ``tolerance_eV`` from the record."""
    sim = cfg.simulate
    campaign = campaign_of(cfg)
    records = spotcheck_records(sim)
    if not records:
        raise ConfigError(
            f"no records in {sim.records} or the settings study ({list(sim.get('seed_records') or [])}): "
            "run the campaign first"
        )
    chosen = choose_records(records, list(sim.spotcheck.record_ids), int(sim.spotcheck.n_records))
    results = {}
    for stored in chosen:
        rerun, path = record_campaign(campaign, stored)
        check_settings(stored, rerun, path)
        folder = Path(sim.spotcheck.root) / stored[K.RECORD_ID]
        shutil.rmtree(folder, ignore_errors=True)
        hubbard_in = [(e[K.ATOM_I], e[K.ATOM_J], e[K.VALUE]) for e in stored[K.HUBBARD_IN]]
        atoms = atoms_from_record(stored[K.STRUCTURE])
        fresh = run_iteration(rerun, path, stored[K.ITERATION], hubbard_in, folder, atoms)
        if fresh[K.STATUS] != "ok":
            raise SpotCheckError(
                f"the QE re-run of {stored[K.RECORD_ID]} failed ({fresh.get(K.REASON)}); this says nothing about "
                f"the stored record, and {sim.spotcheck.report} is left as it was"
            )
        results[stored[K.RECORD_ID]] = {**compare(stored, fresh), "cpu_time_s": fresh[K.CPU_TIME]}
    tolerance = float(sim.spotcheck.tolerance_eV)
    report = {
        "tolerance_eV": tolerance,
        "records": results,
        "max_u_diff_eV": max(r["u_eV"] for r in results.values()),
        "max_v_diff_eV": max(r["v_eV"] for r in results.values()),
    }
    atomic_write_json(sim.spotcheck.report, report)
    bad = {rid: r for rid, r in results.items() if r["u_eV"] > tolerance or r["v_eV"] > tolerance}
    if bad:
        raise SpotCheckError(
            f"QE re-runs disagree with the stored records beyond {tolerance} eV: {bad} (see {sim.spotcheck.report})"
        )
    return report


def simulate(cfg: DictConfig) -> dict[str, Any]:
    """``simulate.mode``: ``spotcheck`` (default stage), ``campaign`` (run/resume the whole campaign),
    ``convergence`` (the settings study of :mod:`matdisco.hubbard.convergence`) or ``status`` (where the
    campaign stands, :mod:`matdisco.hubbard.status`: prints a table, runs nothing)."""
    mode = cfg.simulate.mode
    if mode == "campaign":
        return {"worker": int(cfg.simulate.worker), **run_campaign(campaign_of(cfg))}
    if mode == "spotcheck":
        return spotcheck(cfg)
    if mode == "convergence":
        return convergence_study(cfg)
    if mode == "status":
        status = campaign_status(campaign_of(cfg))
        print(status_table(status))
        return {key: value for key, value in status.items() if key != "paths"}
    raise ConfigError(f"simulate.mode {mode!r} is not campaign, spotcheck, convergence or status")


def convergence_study(cfg: DictConfig) -> dict[str, Any]:
    """Run (or resume) the convergence scans and write their table and chosen settings. Like the
    campaign, a stop signal (SIGTERM, SIGUSR2) stops the running QE groups (the study's worker threads
    see it) and leaves their points interrupted, never failed."""
    if int(cfg.simulate.get("worker", 0)) != 0:
        raise ConfigError(
            f"simulate.worker = {cfg.simulate.worker}: the settings study runs as one process (its points "
            "have no locks, so a second worker would compute them again into the same folders); run it as "
            "one job with its materials in parallel (simulate.parallel_paths), not as an array of workers"
        )
    conv = OmegaConf.to_container(cfg.simulate.convergence, resolve=True)
    with cluster.stop_on_signals():
        result = run_study(
            campaign_of(cfg), conv, lambda partial: write_report(partial, Path(conv["report_dir"]), conv)
        )
    return result["chosen"]
