"""The self-consistent DFT+U+V campaign: SCF -> hp.x -> new U/V -> repeat, one record per iteration.

Layout under the campaign root (one folder per calculation)::

    <root>/<path_id>/iter_<k>/{scf*.in, scf*.out, hp.in, hp.out, *.Hubbard_parameters.dat,
                                parameters.out, record.json}

A path is one structure: a material at an isotropic strain, or a material under a named
symmetry-lowering distortion (config ``distortions``). Iteration k runs pw.x with the Hubbard input of
iteration k - 1's hp.x result (iteration 0: the material's starting U). ``record.json`` is
written atomically when an iteration finishes (ok or failed); a folder with it is never run
again, one without it is wiped and rerun, so killing and restarting the campaign is safe. A
failed iteration ends its path and its record goes to the failures file, never to the data set.
A stop signal (SIGTERM: scancel, preemption; SIGUSR2: the job's time limit is near) is not a
failure: the running QE calculation is stopped, its folder gets ``interrupted.json`` instead of a
record, and the next run redoes that iteration (:mod:`matdisco.core.cluster`; SIGUSR2 requeues the
SLURM job). Finished records are merged into the data set (JSON lines keyed by record id) under a
file lock. Any number of campaign processes (SLURM array tasks, Hydra launcher jobs) can share one
campaign folder: each pulls the next path whose lock is free, so cheap and expensive paths balance.
"""

from __future__ import annotations

import fcntl
import fnmatch
import json
import logging
import platform
import re
import shutil
import signal
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from omegaconf import DictConfig, OmegaConf

from matdisco.core import cluster
from matdisco.core.errors import ConfigError
from matdisco.core.io import atomic_write_json, atomic_write_text, file_md5
from matdisco.hubbard import keys as K
from matdisco.hubbard.qe.hp_split import pieces_cpu_s, run_split_hp
from matdisco.hubbard.qe.inputs import (
    TINY_EV,
    HubbardEntries,
    hp_entries,
    hubbard_card,
    hubbard_entries_to_system,
    hubbard_style,
    namelist,
    pw_input,
    starting_magnetization,
)
from matdisco.hubbard.qe.outputs import QEOutputError, cpu_time, read_lines
from matdisco.hubbard.qe.parse_hp import (
    HubbardParameters,
    parse_hp_output,
    parse_hubbard_parameters,
    parse_parameters_out,
)
from matdisco.hubbard.qe.parse_pw import PwResult, parse_pw_output, require_hubbard_applied
from matdisco.hubbard.qe.run import Launcher, QEInterrupted, QERunError, linked_library, program_version, run_qe
from matdisco.hubbard.records import load_record, merge_records, read_records
from matdisco.hubbard.structures import TRANSITION_METALS, build, distorted, species_labels, strained, structure_record

LOG = logging.getLogger(__name__)
PREFIX = "calc"
OCCUPATION_MODES = ("fixed", "smearing", "two_step")


@dataclass(frozen=True)
class Material:
    """One material of the campaign: structure builder arguments, electronic treatment, meshes.

    ``occupations``: ``fixed`` (non-magnetic insulator), ``smearing`` (metal or magnetic metal),
    ``two_step`` (magnetic insulator: smearing SCF, then fixed occupations at its rounded total
    magnetization, QE examples/HP/example02). ``u_start_eV``: on-site U of the metals at iteration 0.
    ``kpts``: the k mesh; in the config ``study`` takes the settings study's choice (``chosen_kpts``).
    """

    name: str
    structure: dict[str, Any]
    occupations: str
    kpts: tuple[int, int, int] | None  # None: ``kpts: study`` before the settings study chose a mesh
    qpts: tuple[int, int, int]
    u_start_eV: float = 0.0
    magnetic: bool = False


@dataclass(frozen=True)
class Distortion:
    """A named symmetry-lowering distortion (see :func:`matdisco.hubbard.structures.distorted`) and
    the materials it applies to. ``displacements_angstrom``: (1-based atom, Cartesian shift (3,)) pairs."""

    name: str
    materials: tuple[str, ...]
    strain_voigt: tuple[float, ...] = (0.0,) * 6
    displacements_angstrom: tuple[tuple[int, tuple[float, float, float]], ...] = ()


@dataclass(frozen=True)
class PathSpec:
    """One self-consistent path: a material at one isotropic strain, optionally distorted."""

    material: Material
    strain: float
    distortion: Distortion | None = None

    @property
    def path_id(self) -> str:
        suffix = f"_{self.distortion.name}" if self.distortion else ""
        return f"{self.material.name}_strain{self.strain * 100:+.1f}pct{suffix}"


@dataclass
class Campaign:
    """Everything a campaign needs; built from the ``simulate`` config by :func:`campaign_from_config`."""

    materials: list[Material]
    strains: list[float]
    settings: dict[str, Any]
    launcher: Launcher
    root: Path
    records_path: Path
    failures_path: Path
    max_iterations: int = 5
    passes: tuple[int, ...] = (5,)  # iterations per path after each pass over all paths
    tolerances_eV: tuple[float, float] = (0.01, 0.01)  # converged: every |U_out - U_in| and |V_out - V_in| below (U, V)
    parallel_paths: int = 1
    max_requeues: int = 3  # SLURM requeues after time-limit stops (SIGUSR2) before a job gives up
    hp_parallel_pieces: int = 0  # > 0: hp.x split into (atom, q) pieces, this many at once (each on launcher.ranks)
    piece_store: Path | None = None  # with split hp.x: finished pieces kept here, so a run resumes on another machine
    only_materials: list[str] = field(default_factory=list)
    distortions: list[Distortion] = field(default_factory=list)
    only_paths: list[str] = field(default_factory=list)  # shell patterns of path ids (fnmatch); empty: all
    seed_records: list[Path] = field(default_factory=list)  # settings-study records that may be iteration 0


def planned_paths(campaign: Campaign) -> list[PathSpec]:
    """Paths in round-robin order: every material at the first strain, then every material at the
    next strain, ... (strains in config order), then every distortion of each of its materials
    (unstrained); restricted to ``only_materials`` and ``only_paths``. A material whose k mesh the
    settings study has not chosen yet is listed too (``kpts`` None)."""
    materials = [m for m in campaign.materials if not campaign.only_materials or m.name in campaign.only_materials]
    paths = [PathSpec(material, strain) for strain in campaign.strains for material in materials]
    paths += [PathSpec(m, 0.0, d) for d in campaign.distortions for m in materials if m.name in d.materials]
    if campaign.only_paths:
        paths = [p for p in paths if any(fnmatch.fnmatchcase(p.path_id, pattern) for pattern in campaign.only_paths)]
    return paths


def plan(campaign: Campaign) -> list[PathSpec]:
    """The paths to run (:func:`planned_paths`); a ConfigError while the settings study has not chosen
    the k mesh of one of them. Every campaign process walks the whole list and runs the paths whose
    lock it gets (:func:`run_path`)."""
    paths = planned_paths(campaign)
    unresolved = sorted({p.material.name for p in paths if p.material.kpts is None})
    if unresolved:
        raise ConfigError(
            f"simulate.materials.{{{','.join(unresolved)}}}.kpts is 'study', but the settings study "
            "(simulate.settings_study) has not chosen a k mesh for them yet: run the settings study first"
        )
    return paths


def run_campaign(campaign: Campaign) -> dict[str, Any]:
    """Run (or resume) every path, pass by pass (:func:`run_passes`); return counts of ok and failed
    iterations. A file ``<root>/STOP`` ends the campaign gracefully (no new iteration starts); a stop
    signal ends it at once with :class:`matdisco.core.cluster.JobStopped` (after requeueing the SLURM
    job when the signal was the time-limit warning), leaving the running iterations interrupted for
    the next run."""
    paths = plan(campaign)
    merge_records(campaign.failures_path, [])  # the failures file exists even when nothing failed
    with cluster.stop_on_signals():
        results = run_passes(campaign, paths)
        stopped_by = cluster.stop_signal()
    if stopped_by is not None:
        raise cluster.JobStopped(
            f"campaign {campaign.root}: {cluster.requeue_after_stop(stopped_by, campaign.max_requeues)}"
        )
    records = [record for path_records in results.values() for record in path_records]
    return {
        "paths": len(paths),
        "ok_iterations": sum(r[K.STATUS] == "ok" for r in records),
        "failed_iterations": sum(r[K.STATUS] == "failed" for r in records),
        "converged_paths": sum(any(r.get(K.CONVERGED) for r in recs) for recs in results.values()),
    }


def run_passes(campaign: Campaign, paths: list[PathSpec]) -> dict[str, list[dict[str, Any]]]:
    """Every path's passes as one queue of tasks (path, iterations to reach), in coverage order: every
    path's first pass (``campaign.passes[0]`` iterations), then every path's second, ... Up to
    ``campaign.parallel_paths`` tasks run at once in threads (each waits on its QE runs); a task starts
    as soon as a worker is free and no other task of its path runs here, so no worker waits for the
    slowest path at the end of a pass. After a stop signal no task starts. Returns each path's records
    as far as its last task walked ([] for a path another campaign process holds)."""
    pending = [(path, min(limit, campaign.max_iterations)) for limit in campaign.passes for path in paths]
    slots = max(1, campaign.parallel_paths)
    results: dict[str, list[dict[str, Any]]] = {}
    running: dict[Future, PathSpec] = {}
    with ThreadPoolExecutor(slots) as pool:
        while True:
            if cluster.stop_signal() is None:
                _start_tasks(pool, campaign, pending, running, slots)
            if not running:
                return results
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                path = running.pop(future)
                walked = future.result()
                if walked or path.path_id not in results:  # a later task skipped by another process's lock: keep
                    results[path.path_id] = walked


def _start_tasks(
    pool: ThreadPoolExecutor,
    campaign: Campaign,
    pending: list[tuple[PathSpec, int]],
    running: dict[Future, PathSpec],
    slots: int,
) -> None:
    """Start ``pending`` tasks in queue order while fewer than ``slots`` run, skipping those whose path
    runs already (its next pass waits for its current one)."""
    busy = {path.path_id for path in running.values()}
    for task in list(pending):
        path, limit = task
        if len(running) == slots:
            return
        if path.path_id not in busy:
            pending.remove(task)
            busy.add(path.path_id)
            running[pool.submit(run_path, campaign, path, limit)] = path


def run_path(campaign: Campaign, path: PathSpec, n_iterations: int | None = None) -> list[dict[str, Any]]:
    """Run or resume the first ``n_iterations`` (default ``max_iterations``) iterations of one path;
    stop early when converged, failed, interrupted by a stop signal, or when ``<root>/STOP`` exists.
    A path another process is working on (its lock is held) is skipped and returns []. The lock is
    ``fcntl.flock``: across nodes it needs a file system whose flock is cluster-wide (NFSv4, GPFS,
    Lustre mounted with ``-o flock``)."""
    if cluster.stop_signal() is not None:  # stopping: touch no other path (its interrupted folder stays)
        return []
    lock_file = campaign.root / path.path_id / ".lock"
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return []
        return _run_locked_path(campaign, path, n_iterations or campaign.max_iterations)


def _run_locked_path(campaign: Campaign, path: PathSpec, n_iterations: int) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    hubbard_in = initial_hubbard(path)
    for iteration in range(n_iterations):
        folder = campaign.root / path.path_id / f"iter_{iteration}"
        record = load_record(folder, f"{path.path_id}/iter_{iteration}", campaign)
        if record is None and iteration == 0:
            record = seeded_record(campaign, path, hubbard_in)
            if record is not None:
                merge_records(campaign.records_path, [record])
        if record is None:
            if (campaign.root / "STOP").exists() or cluster.stop_signal() is not None:
                break
            try:
                record = run_iteration(campaign, path, iteration, hubbard_in, folder)
            except QEInterrupted as stop:
                LOG.warning(
                    "iteration %s of %s interrupted, resumes on the next run: %s", iteration, path.path_id, stop
                )
                break
            except Exception:
                LOG.exception("iteration %s of %s stopped without a record", iteration, path.path_id)
                raise
            merge_records(campaign.failures_path if record[K.STATUS] == "failed" else campaign.records_path, [record])
        records.append(record)
        if record[K.STATUS] != "ok" or record[K.CONVERGED]:
            break
        hubbard_in = next_hubbard(record)
    return records


def at_settings(
    campaign: Campaign, material_name: str, kpts: Sequence[int], qpts: Sequence[int], cutoffs_Ry: dict[str, float]
) -> tuple[Campaign, Material]:
    """The campaign with some of its cutoffs replaced (``cutoffs_Ry``: ``ecutwfc_Ry`` / ``ecutrho_Ry``
    entries, in Ry) and its material ``material_name`` at the k and q meshes ``kpts``, ``qpts`` (3 ints each):
    a settings-study point, or a stored record re-run at the settings it was computed with."""
    materials = {m.name: m for m in campaign.materials}
    if material_name not in materials:
        raise ConfigError(f"material {material_name} is not in this simulate config's materials {sorted(materials)}")
    material = replace(materials[material_name], kpts=tuple(kpts), qpts=tuple(qpts))
    return replace(campaign, settings={**campaign.settings, **cutoffs_Ry}), material


def record_settings(campaign: Campaign, material: Material) -> dict[str, Any]:
    """The settings stored with every record of ``material``: the campaign's numerical settings plus the
    material's meshes and electronic treatment (a re-run is comparable only at equal settings)."""
    return {
        **campaign.settings,
        "kpts": list(material.kpts),
        "qpts": list(material.qpts),
        "occupations": material.occupations,
        "magnetic": material.magnetic,
    }


def seeded_record(campaign: Campaign, path: PathSpec, hubbard_in: HubbardEntries) -> dict[str, Any] | None:
    """Iteration 0 of ``path`` taken from the settings study (``campaign.seed_records``): an ok record
    of the same structure, Hubbard input and settings, renamed to this path (its study id kept under
    ``seeded_from``); None when the study has none. The study's points are real iterations 0, so the
    campaign does not compute them twice."""
    wanted = {
        K.SETTINGS: record_settings(campaign, path.material),
        K.STRUCTURE: structure_record(path_structure(path)),
        K.HUBBARD_IN: [{K.ATOM_I: i, K.ATOM_J: j, K.VALUE: v} for i, j, v in hubbard_in],
    }
    for source in campaign.seed_records:
        for record in read_records(source):
            if record[K.STATUS] == "ok" and all(_same(record.get(key), value) for key, value in wanted.items()):
                return {
                    **record,
                    K.RECORD_ID: f"{path.path_id}/iter_0",
                    K.PATH_ID: path.path_id,
                    K.STRAIN: path.strain,
                    K.DISTORTION: path.distortion.name if path.distortion else None,
                    K.ITERATION: 0,
                    K.SEEDED_FROM: record[K.RECORD_ID],
                }
    return None


def _same(stored: Any, wanted: Any) -> bool:
    """Equality of a stored (JSON) value and a freshly built one (tuples become lists in JSON)."""
    return json.loads(json.dumps(stored)) == json.loads(json.dumps(wanted))


def initial_hubbard(path: PathSpec) -> HubbardEntries:
    """Iteration-0 Hubbard input: U = ``u_start_eV`` (or QE's tiny marker) on metal 3d, tiny on O 2p."""
    atoms = path_structure(path)
    u_metal = path.material.u_start_eV or TINY_EV
    return [
        (n, n, u_metal if s in TRANSITION_METALS else TINY_EV)
        for n, s in enumerate(atoms.get_chemical_symbols(), 1)
        if s != "Li"
    ]


def next_hubbard(record: dict[str, Any]) -> HubbardEntries:
    """Hubbard input of the next iteration: hp.x's ``parameters.out`` (metal U and metal-O V) plus the
    tiny O 2p marker, as stored in ``record``."""
    entries = record_entries(record, K.HUBBARD_OUT)
    onsite = {i for i, j, _ in entries if i == j}
    symbols = record[K.STRUCTURE][K.SYMBOLS]
    entries += [(n, n, TINY_EV) for n, s in enumerate(symbols, 1) if s == "O" and n not in onsite]
    return entries


def record_entries(record: dict[str, Any], key: str) -> HubbardEntries:
    """A record's Hubbard input or output (``key``: hubbard_in / hubbard_out) as (atom_i, atom_j, eV)."""
    return [(row[K.ATOM_I], row[K.ATOM_J], row[K.VALUE]) for row in record[key]]


def path_structure(path: PathSpec) -> Atoms:
    """The strained (and distorted) structure of a path."""
    atoms = strained(build(path.material.structure), path.strain)
    if path.distortion is None:
        return atoms
    return distorted(atoms, path.distortion.strain_voigt, dict(path.distortion.displacements_angstrom))


def run_iteration(
    campaign: Campaign,
    path: PathSpec,
    iteration: int,
    hubbard_in: HubbardEntries,
    folder: Path,
    atoms: Atoms | None = None,
) -> dict[str, Any]:
    """SCF (one or two pw.x runs) then hp.x in ``folder`` for ``atoms`` (default: the path's structure);
    returns the record (also saved as record.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    atoms = path_structure(path) if atoms is None else atoms
    base = {
        K.RECORD_ID: f"{path.path_id}/iter_{iteration}",
        K.PATH_ID: path.path_id,
        K.MATERIAL: path.material.name,
        K.STRAIN: path.strain,
        K.DISTORTION: path.distortion.name if path.distortion else None,
        K.ITERATION: iteration,
        K.STRUCTURE: structure_record(atoms),
        K.HUBBARD_IN: [{K.ATOM_I: i, K.ATOM_J: j, K.VALUE: v} for i, j, v in hubbard_in],
        K.SETTINGS: record_settings(campaign, path.material),
    }
    timings: dict[str, float] = {}
    try:
        pw = run_scf(campaign, path.material, atoms, hubbard_in, folder, timings)
        require_gap(pw)
        timings["hp"] = run_hp(campaign, path.material, folder, piece_store(campaign, folder))
        hp = parse_hp_output(folder / "hp.out")
        params = parse_hubbard_parameters(folder / f"{PREFIX}.Hubbard_parameters.dat")
        feedback = hubbard_feedback(folder, params, int(campaign.settings["lda_plus_u_kind"]))
        record = {**base, **assemble(atoms, pw, params, feedback, hubbard_in, campaign.tolerances_eV), K.STATUS: "ok"}
        record[K.PROVENANCE] = provenance(campaign, folder, pw.version, hp.version)
    except (QEOutputError, QERunError, QEInterrupted) as error:
        if isinstance(error, QEInterrupted) or cluster.stop_signal() is not None:
            mark_interrupted(folder, error)
            raise QEInterrupted(str(error)) from error
        record = {**base, K.STATUS: "failed", K.REASON: str(error), K.CONVERGED: False}
    record[K.TIMINGS] = timings
    record[K.CPU_TIME] = sum(timings.values()) * campaign.launcher.ranks
    record[K.QE_CPU_TIMINGS] = {step: t * campaign.launcher.ranks for step, t in qe_cpu_seconds(folder).items()}
    record[K.QE_CPU_TIME] = sum(record[K.QE_CPU_TIMINGS].values())
    shutil.rmtree(folder / "tmp", ignore_errors=True)
    for piece_tmp in folder.glob("hp_pieces/*/tmp"):
        shutil.rmtree(piece_tmp, ignore_errors=True)
    atomic_write_json(folder / "record.json", record)
    store = piece_store(campaign, folder)
    if store is not None:
        shutil.rmtree(store, ignore_errors=True)  # the record holds the result: its pieces are spent
    return record


def piece_store(campaign: Campaign, folder: Path) -> Path | None:
    """The piece store of the calculation in ``folder`` (same relative path under ``campaign.piece_store``);
    None without a store or an unsplit hp.x."""
    if campaign.piece_store is None or campaign.hp_parallel_pieces <= 0:
        return None
    return campaign.piece_store / folder.relative_to(campaign.root)


def run_hp(campaign: Campaign, material: Material, folder: Path, store: Path | None = None) -> float:
    """hp.x on the SCF in ``folder``: one run, or with ``campaign.hp_parallel_pieces`` > 0 split into
    (perturbed atom, q point) pieces run that many at once and collected (:mod:`.qe.hp_split`; pieces
    kept in and taken from ``store``); either way ``folder/hp.out`` is the run that computed U and V.
    Returns wall seconds."""
    entries = hp_entries(prefix=PREFIX, qpts=material.qpts, conv_thr_chi=campaign.settings["conv_thr_chi"])
    if campaign.hp_parallel_pieces > 0:
        return run_split_hp(campaign.launcher, folder, entries, PREFIX, campaign.hp_parallel_pieces, store)
    atomic_write_text(folder / "hp.in", namelist("INPUTHP", entries))
    return run_explained(campaign.launcher, "hp.x", folder, "hp", parse_hp_output)


def mark_interrupted(folder: Path, error: Exception) -> None:
    """Leave ``interrupted.json`` (why, which signal) in a stopped iteration's folder: no record is
    written, so the next run wipes the folder and redoes the iteration."""
    signum = cluster.stop_signal()
    atomic_write_json(
        folder / "interrupted.json",
        {
            "reason": str(error),
            "signal": None if signum is None else signal.Signals(signum).name,
            "job": cluster.slurm_job_id(),
        },
    )
    shutil.rmtree(folder / "tmp", ignore_errors=True)


def qe_cpu_seconds(folder: Path) -> dict[str, float]:
    """CPU seconds (rank 0) that each pw.x (``scf*.out``) and hp.x (``hp.out``) output in ``folder``
    reports, by step name (``scf1``, ``scf2``, ``hp``), plus ``hp_pieces`` for a split hp.x (its pieces,
    probe and sums); runs without a timing line are left out."""
    runs = [(p, "PWSCF") for p in sorted(folder.glob("scf*.out"))] + [(p, "HP") for p in sorted(folder.glob("hp.out"))]
    times = {path.stem: cpu_time(read_lines(path), program) for path, program in runs if path.stat().st_size}
    times["hp_pieces"] = pieces_cpu_s(folder)
    return {step: float(t) for step, t in times.items() if t is not None}


def hubbard_feedback(folder: Path, params: HubbardParameters, kind: int) -> list[tuple[int, int, float]]:
    """hp.x's new Hubbard input ``(i, j, eV)``: ``parameters.out`` for DFT+U+V (kind 2); for DFT+U
    (kind 0, no such file) the on-site U of every site of the U table."""
    if kind == 2:
        return parse_parameters_out(folder / "parameters.out")
    return [(u.site, u.site, u.u_eV) for u in params.u]


def run_scf(
    campaign: Campaign,
    material: Material,
    atoms: Atoms,
    hubbard_in: HubbardEntries,
    folder: Path,
    timings: dict[str, float],
) -> PwResult:
    """The SCF protocol of ``material.occupations``; returns the parsed final pw.x output."""
    if material.occupations not in OCCUPATION_MODES:
        raise ConfigError(f"material {material.name}: occupations {material.occupations!r} not in {OCCUPATION_MODES}")
    first_mode = "smearing" if material.occupations == "two_step" else material.occupations
    pw = _pw_step(campaign, material, atoms, hubbard_in, folder, "scf1", first_mode, {}, timings)
    if material.occupations != "two_step":
        return pw
    if pw.total_magnetization is None or pw.n_bands is None:
        raise QEOutputError(
            "no total magnetization or number of bands for the fixed-occupation step", folder / "scf1.out"
        )
    extra = {"nbnd": pw.n_bands, "tot_magnetization": float(round(pw.total_magnetization))}
    return _pw_step(campaign, material, atoms, hubbard_in, folder, "scf2", "fixed", extra, timings)


def fixed_occupation_bands(atoms: Atoms, settings: dict[str, Any], empty_bands: int) -> int:
    """Kohn-Sham states for a non-spin-polarised fixed-occupation run: the doubly occupied ones
    (valence electrons of the pseudopotentials / 2) plus ``empty_bands``."""
    pseudo_dir = Path(settings["pseudo_dir"])
    valence = {symbol: pseudo_valence(pseudo_dir / name) for symbol, name in settings["pseudopotentials"].items()}
    electrons = sum(valence[symbol] for symbol in atoms.get_chemical_symbols())
    return int(np.ceil(electrons / 2)) + empty_bands


def pseudo_valence(upf: Path) -> float:
    """``z_valence`` of a UPF pseudopotential (v1 or v2 header)."""
    match = re.search(r"z_valence\s*=\s*\"\s*([-+0-9.EeDd]+)\s*\"", Path(upf).read_text(errors="replace"))
    if match is None:
        match = re.search(r"^\s*([-+0-9.EeDd]+)\s+Z valence", Path(upf).read_text(errors="replace"), re.MULTILINE)
    if match is None:
        raise QEOutputError("no z_valence in the pseudopotential header", upf)
    return float(match.group(1).replace("D", "E").replace("d", "e"))


def require_gap(pw: PwResult) -> None:
    """Fixed occupations need an insulator: raise when the highest occupied level is not below the
    lowest unoccupied one (a metallic state; hp.x's response would not be meaningful)."""
    if pw.homo_lumo_eV is not None and pw.homo_lumo_eV[0] >= pw.homo_lumo_eV[1]:
        homo, lumo = pw.homo_lumo_eV
        raise QEOutputError(
            f"fixed occupations without a gap (HOMO {homo} eV >= LUMO {lumo} eV): metallic state", pw.path
        )


def _pw_step(
    campaign: Campaign,
    material: Material,
    atoms: Atoms,
    hubbard_in: HubbardEntries,
    folder: Path,
    name: str,
    mode: str,
    extra: dict[str, Any],
    timings: dict[str, float],
) -> PwResult:
    """Write, run and parse one pw.x SCF of the protocol."""
    s = campaign.settings
    system: dict[str, Any] = {"ecutwfc": float(s["ecutwfc_Ry"]), "ecutrho": float(s["ecutrho_Ry"])}
    conv_thr = (
        s["conv_thr_Ry"]
        if name != "scf1" or material.occupations != "two_step"
        else s.get("conv_thr_first_Ry", s["conv_thr_Ry"])
    )
    electrons: dict[str, Any] = {
        "conv_thr": float(conv_thr),
        "mixing_beta": float(s["mixing_beta"]),
        "electron_maxstep": int(s["electron_maxstep"]),
    }
    if mode == "smearing":
        system.update(occupations="smearing", smearing=s["smearing"], degauss=float(s["degauss_Ry"]))
    else:
        system["occupations"] = "fixed"
        if "nbnd" not in extra:  # empty bands above the occupied ones, so pw.x prints the gap (require_gap)
            system["nbnd"] = fixed_occupation_bands(atoms, s, int(s.get("empty_bands", 4)))
    if material.magnetic:
        system["nspin"] = 2
        if extra:
            system.update(extra)
            electrons.update(startingpot="file", startingwfc="file")
        else:
            system.update(starting_magnetization(atoms, float(s["starting_magnetization"])))
    kind = int(s["lda_plus_u_kind"])
    card = ""
    if hubbard_style(program_version(campaign.launcher)) == "card":
        card = hubbard_card(atoms, hubbard_in, kind, s["u_projection_type"])
    else:
        system.update(hubbard_entries_to_system(atoms, hubbard_in, kind))
        system["U_projection_type"] = s["u_projection_type"]
    text = pw_input(
        atoms,
        prefix=PREFIX,
        pseudo_dir=str(Path(s["pseudo_dir"]).resolve()),  # pw.x runs in the calculation folder
        pseudopotentials=s["pseudopotentials"],
        system=system,
        electrons=electrons,
        kpts=material.kpts,
        hubbard=card,
    )
    atomic_write_text(folder / f"{name}.in", text)
    timings[name] = run_explained(campaign.launcher, "pw.x", folder, name, parse_pw_output)
    require_hubbard_applied(folder / f"{name}.out")
    return parse_pw_output(folder / f"{name}.out")


def run_explained(launcher: Launcher, program: str, folder: Path, name: str, parser: Any) -> float:
    """``run_qe`` on ``<name>.in``; when QE exits non-zero, the problem its output shows (file and
    line, e.g. an unconverged SCF) is raised together with the exit status."""
    try:
        return run_qe(launcher, program, folder, f"{name}.in", f"{name}.out")
    except QERunError as error:
        try:
            parser(folder / f"{name}.out")
        except QEOutputError as explained:
            raise QEOutputError(f"{explained.reason} ({error})", explained.path, explained.line) from error
        raise


def assemble(
    atoms: Atoms,
    pw: PwResult,
    params: HubbardParameters,
    feedback: list[tuple[int, int, float]],
    hubbard_in: HubbardEntries,
    tolerances_eV: tuple[float, float],
) -> dict[str, Any]:
    """Sites (occupations, moments, U_in/U_out), pairs (V_in/V_out, distance) and convergence of one
    iteration: converged when every |U_out - U_in| is below ``tolerances_eV[0]`` and every
    |V_out - V_in| below ``tolerances_eV[1]`` (eV)."""
    symbols, labels = atoms.get_chemical_symbols(), species_labels(atoms)
    inputs = {(i, j): v for i, j, v in hubbard_in}
    u_out = {row.site: row for row in params.u}
    sites = []
    for atom, occupations in sorted(pw.occupations.items()):
        if atom not in u_out:
            raise QEOutputError(f"atom {atom} has occupations but no U from hp.x", params.path)
        if u_out[atom].label != labels[atom - 1]:
            raise QEOutputError(
                f"site {atom} is {u_out[atom].label} in hp.x but {labels[atom - 1]} in the input", params.path
            )
        sites.append(
            {
                K.ATOM_INDEX: atom,
                K.SPECIES: symbols[atom - 1],
                K.LABEL: labels[atom - 1],
                K.OCCUPATIONS: occupations.tolist(),
                K.MAGNETIC_MOMENT: pw.magnetic_moments.get(atom),
                K.U_IN: _physical(inputs.get((atom, atom), 0.0)),
                K.U_OUT: u_out[atom].u_eV,
            }
        )
    distances = {(v.atom_i, v.atom_j): v.distance_angstrom for v in params.v}
    pairs = []
    for i, j, value in feedback:
        if i == j:
            continue
        if (i, j) not in distances:
            raise QEOutputError(f"pair ({i}, {j}) of parameters.out is not in the V table", params.path)
        cell_j = (j - 1) % len(atoms) + 1
        pairs.append(
            {
                K.ATOM_I: i,
                K.ATOM_J: j,
                K.ATOM_J_CELL: cell_j,
                K.SPECIES_I: symbols[i - 1],
                K.SPECIES_J: symbols[cell_j - 1],
                K.DISTANCE: round(distances[(i, j)], 6),
                K.V_IN: _physical(inputs.get((i, j), 0.0)),
                K.V_OUT: value,
            }
        )
    max_delta = max((delta for _, delta in hubbard_steps(hubbard_in, feedback)), default=float("inf"))
    return {
        K.SITES: sites,
        K.PAIRS: pairs,
        K.HUBBARD_OUT: [{K.ATOM_I: i, K.ATOM_J: j, K.VALUE: v} for i, j, v in feedback],
        K.MAX_DELTA_EV: max_delta,
        K.CONVERGED: is_converged(hubbard_in, feedback, tolerances_eV),
        K.GAP_EV: None if pw.homo_lumo_eV is None else round(pw.homo_lumo_eV[1] - pw.homo_lumo_eV[0], 4),
        K.ENERGY_RY: pw.total_energy_Ry,
        K.TOTAL_MAGNETIZATION: pw.total_magnetization,
        K.SCF_ITERATIONS: pw.scf_iterations,
    }


def hubbard_steps(hubbard_in: HubbardEntries, hubbard_out: HubbardEntries) -> list[tuple[bool, float]]:
    """(on-site, |out - in| in eV) for every entry (atom_i, atom_j, eV) of hp.x's output ``hubbard_out``
    (U: atom_i == atom_j; V otherwise); an entry missing from ``hubbard_in`` had input 0."""
    inputs = {(i, j): v for i, j, v in hubbard_in}
    return [(i == j, abs(v - _physical(inputs.get((i, j), 0.0)))) for i, j, v in hubbard_out]


def is_converged(hubbard_in: HubbardEntries, hubbard_out: HubbardEntries, tolerances_eV: tuple[float, float]) -> bool:
    """Every U step below ``tolerances_eV[0]`` and every V step below ``tolerances_eV[1]`` (eV)."""
    steps = hubbard_steps(hubbard_in, hubbard_out)
    return bool(steps) and all(step < tolerances_eV[0 if onsite else 1] for onsite, step in steps)


def _physical(value: float) -> float:
    """QE's tiny marker value (1e-8 eV) means no U/V: report it as 0."""
    return 0.0 if abs(value) <= TINY_EV else float(value)


def provenance(campaign: Campaign, folder: Path, pw_version: str | None, hp_version: str | None) -> dict[str, Any]:
    """QE versions, pseudopotential MD5s, the input files, MPI ranks, the BLAS pw.x loads, machine and
    SLURM job (None outside SLURM) of one iteration."""
    pseudo_dir = Path(campaign.settings["pseudo_dir"])
    return {
        "qe_version_pw": pw_version,
        "qe_version_hp": hp_version,
        "pseudopotential_md5": {
            name: file_md5(pseudo_dir / name) for name in sorted(campaign.settings["pseudopotentials"].values())
        },
        "inputs": {p.name: p.read_text() for p in sorted(folder.glob("*.in"))},
        "mpi_ranks": campaign.launcher.ranks,
        "blas_library": linked_library(str(Path(campaign.launcher.bin_dir) / "pw.x")),
        "host": platform.node(),
        "slurm_job": cluster.slurm_job_id(),
        "cpu_model": cpu_model(),
    }


def cpu_model() -> str | None:
    """The processor's model name from /proc/cpuinfo (None where there is none): timings depend on it."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return None
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), None)


def campaign_from_config(sim: Any, root: str | Path, records_path: str | Path, failures_path: str | Path) -> Campaign:
    """Build a :class:`Campaign` from the ``simulate`` config section (see conf/simulate/dfpt_campaign.yaml)."""
    sim = OmegaConf.to_container(sim, resolve=True) if isinstance(sim, DictConfig) else sim
    study_kpts = chosen_kpts(sim)
    materials = [
        Material(
            name=name,
            structure=dict(m["structure"]),
            occupations=m["occupations"],
            kpts=material_kpts(name, m["kpts"], study_kpts),
            qpts=tuple(m["qpts"]),
            u_start_eV=float(m.get("u_start_eV", 0.0)),
            magnetic=bool(m.get("magnetic", False)),
        )
        for name, m in sim["materials"].items()
    ]
    launcher = Launcher(
        mpi=tuple(sim["mpi_command"]),
        ranks=int(sim["mpi_ranks"]),
        bin_dir=sim["qe_bin_dir"],
        timeout_s=float(sim["timeout_s"]),
    )
    return Campaign(
        materials=materials,
        strains=[float(s) for s in sim["strains"]],
        settings=dict(sim["settings"]),
        launcher=launcher,
        root=Path(root),
        records_path=Path(records_path),
        failures_path=Path(failures_path),
        max_iterations=int(sim["max_iterations"]),
        passes=tuple(int(n) for n in sim.get("passes") or [sim["max_iterations"]]),
        tolerances_eV=convergence_tolerances(sim["tolerance_eV"]),
        parallel_paths=int(sim.get("parallel_paths", 1)),
        max_requeues=int(sim.get("max_requeues", 3)),
        hp_parallel_pieces=int(sim.get("hp_parallel_pieces", 0)),
        piece_store=Path(sim["piece_store"]) if sim.get("piece_store") else None,
        only_materials=list(sim.get("only_materials") or []),
        only_paths=list(sim.get("only_paths") or []),
        seed_records=[Path(p) for p in sim.get("seed_records") or []],
        distortions=[
            distortion_from_config(name, d, {m.name for m in materials})
            for name, d in (sim.get("distortions") or {}).items()
        ],
    )


def convergence_tolerances(entry: Any) -> tuple[float, float]:
    """(U, V) tolerances in eV from the config's ``tolerance_eV: {u: ..., v: ...}``."""
    if not isinstance(entry, dict) or set(entry) != {"u", "v"}:
        raise ConfigError(f"simulate.tolerance_eV must be {{u: <eV>, v: <eV>}} (U and V separately), got {entry!r}")
    return float(entry["u"]), float(entry["v"])


def chosen_kpts(sim: dict[str, Any]) -> dict[str, list[int]]:
    """The k mesh per material that the settings study chose (``chosen.kpts`` of the study's
    ``convergence.json`` at ``simulate.settings_study``); {} when no study is configured or written yet."""
    report = sim.get("settings_study")
    if not report or not Path(report).is_file():
        return {}
    return dict(json.loads(Path(report).read_text()).get("chosen", {}).get("kpts") or {})


def material_kpts(name: str, kpts: Any, study_kpts: dict[str, list[int]]) -> tuple[int, int, int] | None:
    """A material's k mesh: the configured one, or for ``kpts: study`` the settings study's choice
    (None while the study has not chosen one; :func:`plan` refuses to run such a material)."""
    if kpts != "study":
        return tuple(int(n) for n in kpts)  # type: ignore[return-value]
    return tuple(int(n) for n in study_kpts[name]) if name in study_kpts else None  # type: ignore[return-value]


def distortion_from_config(name: str, entry: dict[str, Any], known_materials: set[str]) -> Distortion:
    """A :class:`Distortion` from one ``simulate.distortions`` entry; unknown materials are a ConfigError."""
    unknown = sorted(set(entry.get("materials") or []) - known_materials)
    if unknown or not entry.get("materials"):
        raise ConfigError(
            f"distortion {name}: materials {unknown or '[]'} are not campaign materials {sorted(known_materials)}"
        )
    shifts = tuple(
        (int(atom), tuple(float(x) for x in shift))
        for atom, shift in (entry.get("displacements_angstrom") or {}).items()
    )
    return Distortion(
        name=name,
        materials=tuple(entry["materials"]),
        strain_voigt=tuple(float(e) for e in entry.get("strain_voigt") or (0.0,) * 6),
        displacements_angstrom=shifts,
    )
