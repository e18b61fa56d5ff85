"""Complete cells from motifs (``data.generate.what=cells``, the ``motifs_cells`` stage), judged against
the references on identical seeds.

Per seed (``data.cells.n_cells`` of them, per box size of ``data.cells.n_atoms``) every method builds one
cell: ``vae_growth`` (growth from the VAE's decoded environments, :mod:`matdisco.motifs.growth`),
``tetrahedral_growth`` (the same growth with ideal tetrahedra, no model) and ``random_start`` (random
insertion); each gets the same short relaxation, except that ``random_start`` anneals longer, by the
growth CPU time of ``vae_growth`` on that seed, so both cost equal CPU per cell. The grown cells before
relaxation are scored too. The committed slow-quench MD cells are the reference. Scores per cell:
the structure report, energy per atom with the relaxation potential, the share of all-staggered
(diamond-like) atoms, and how near its environments lie to the training environments. Means over
cells carry 95 % intervals from resampling cells; differences to ``random_start`` are paired by seed.

Artifacts: ``results/motifs/cells/<method>_<n>_<seed index>.extxyz``, ``results/motifs/cells.md``,
``metrics/motifs/cells.json``.
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import write
from omegaconf import DictConfig

from matdisco.core.config import artifact
from matdisco.core.io import atomic_dir, atomic_write_json, atomic_write_text
from matdisco.core.metrics import interval_text, mean_interval
from matdisco.motifs import keys
from matdisco.motifs.data import FAMILY, cells_dir, load_environments, model_path, split_rows
from matdisco.motifs.environments import GramNormaliser, environments, gram_upper
from matdisco.motifs.growth import (
    EnvironmentProposer,
    GrowthSettings,
    Relaxation,
    TetrahedralProposer,
    grow_cell,
    random_cell,
    relax_cell,
)
from matdisco.motifs.md import final_potential, potential_energy
from matdisco.motifs.models import MotifVAE, load_trained
from matdisco.motifs.sampling import latent_density, sample
from matdisco.motifs.scoring import novelty
from matdisco.motifs.structure import fraction_all_staggered, read_cell, structure_report

GROWN = ("vae_growth", "tetrahedral_growth")
RANDOM = "random_start"
MD = "slow_quench_md"
SCORES = {
    "fraction_defects": "defects",
    "bond_angle_std_deg": "angle sd (deg)",
    "energy_eV_per_atom": "E (eV/atom)",
    "fraction_all_staggered": "all-staggered",
    "nearest_training_angstrom_median": "environments to training (A, median)",
    "cpu_s": "CPU s / cell",
}
"""Per-cell scores in the table, with their column labels."""


def build_cells(cfg: DictConfig) -> dict:
    """Grow, relax and score every cell of ``data.cells``; write the cells, the table and ``cells.json``."""
    section = cfg.data.cells
    start = time.perf_counter()
    candidates, train_coords, held_out, candidate_cpu_s = _learned_environments(cfg)
    relaxation = Relaxation(
        potential=str(section.relaxation.potential),
        anneal_temperature_K=float(section.relaxation.anneal_temperature_K),
        anneal_time_ps=float(section.relaxation.anneal_time_ps),
    )
    bond_length = float(np.median(np.linalg.norm(train_coords[:, :4], axis=-1)))
    seeds = [int(s) for s in np.random.default_rng(int(cfg.seed)).integers(1, 2**31 - 1, size=int(section.n_cells))]
    cells, rows = {}, {}
    for n_atoms in section.n_atoms:
        settings = growth_settings(cfg, int(n_atoms))
        grown_jobs = [
            (method, settings, relaxation, seed, candidates, int(section.n_best), bond_length)
            for seed in seeds
            for method in GROWN
        ]
        grown = _run_jobs(grown_jobs, int(section.n_workers))
        budgets = {  # the random start anneals longer by what growth (and decoding) cost the VAE cell
            job[3]: (result[2]["growth_cpu_s"] + candidate_cpu_s, result[2]["anneal_cpu_s"] / relaxation.anneal_time_ps)
            for job, result in zip(grown_jobs, grown)
            if job[0] == "vae_growth"
        }
        random_jobs = [(RANDOM, settings, relaxation, seed, budgets[seed], None, 0.0) for seed in seeds]
        results = [*zip(grown_jobs, grown), *zip(random_jobs, _run_jobs(random_jobs, int(section.n_workers)))]
        for job, (unrelaxed, relaxed, info) in results:
            method, seed = job[0], job[3]
            key = f"{method}_{n_atoms}_{seeds.index(seed)}"
            cells[key] = relaxed
            info["cpu_s"] = info["total_cpu_s"] + (candidate_cpu_s if method == "vae_growth" else 0.0)
            rows.setdefault(f"{n_atoms}", {}).setdefault(method, []).append(
                _scores(cfg, relaxed, relaxation.potential, train_coords, held_out, info)
            )
            if unrelaxed is not None:
                rows[f"{n_atoms}"].setdefault(f"{method}_unrelaxed", []).append(
                    _scores(
                        cfg, unrelaxed, relaxation.potential, train_coords, held_out, {"cpu_s": info["growth_cpu_s"]}
                    )
                )
    rows["md"] = {MD: _md_scores(cfg, relaxation.potential, train_coords, held_out)}
    summary = {
        "held_out_md_to_training_angstrom_median": rows["md"][MD][0]["held_out_to_training_angstrom_median"]
        if rows["md"][MD]
        else None,
        "settings": {"n_cells": len(seeds), "seeds": seeds, "relaxation": dict(section.relaxation)},
        "candidate_cpu_s": candidate_cpu_s,
        "sizes": {size: _summarise(methods, int(section.n_bootstrap), int(cfg.seed)) for size, methods in rows.items()},
        "time_s": time.perf_counter() - start,
    }
    _write_cells(artifact(cfg, "results", FAMILY, "cells"), cells)
    write_cells_table(artifact(cfg, "results", FAMILY, "cells.md"), summary)
    atomic_write_json(artifact(cfg, "metrics", FAMILY, "cells.json"), {**summary, "per_cell": rows})
    return {"time_s": summary["time_s"]}


def _learned_environments(cfg: DictConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Decoded VAE environments for growth (:func:`decoded_environments`), training and held-out environments
    (Angstrom), and the CPU seconds the decoding took."""
    cpu_start = time.process_time()
    arrays = load_environments(cfg)
    model, normaliser = load_trained(model_path(cfg), int(cfg.data.n_neighbours))
    train_coords = arrays[keys.COORDS][split_rows(arrays, "train")]
    held_out = arrays[keys.COORDS][split_rows(arrays, "test")]
    candidates = decoded_environments(cfg, model, normaliser, train_coords, np.random.default_rng(int(cfg.seed)))
    return candidates, train_coords, held_out, time.process_time() - cpu_start


def decoded_environments(
    cfg: DictConfig, model: MotifVAE, normaliser: GramNormaliser, train_coords: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """``data.cells.n_candidates`` draws of the configured latent density decoded to their four nearest atoms
    (S, 4, 3), Angstrom: what growth draws bonds from."""
    density = latent_density(model, normaliser, gram_upper(train_coords), str(cfg.data.evaluate.latent_density))
    n_candidates = int(cfg.data.cells.n_candidates)
    return sample(model, normaliser, density, n_candidates, rng, bool(cfg.data.restore_norms))[0][:, :4]


def growth_settings(cfg: DictConfig, n_atoms: int) -> GrowthSettings:
    """Growth settings of ``data.cells`` for a box of ``n_atoms``."""
    section = cfg.data.cells
    return GrowthSettings(
        n_atoms=n_atoms,
        density_g_cm3=float(section.density_g_cm3),
        bond_cutoff_angstrom=float(cfg.data.evaluate.bond_cutoff_angstrom),
        min_distance_angstrom=float(section.min_distance_angstrom),
        tries_per_atom=int(section.tries_per_atom),
        hole_points=int(section.hole_points),
    )


def _run_jobs(jobs: list[tuple], n_workers: int) -> list[tuple[Atoms | None, Atoms, dict]]:
    """:func:`_cell_job` for every job: with ``n_workers`` > 1 each in a fresh process, that many at a time;
    else one after the other in this process (CPU times are differences of ``time.process_time`` either way)."""
    if n_workers <= 1:
        return [_cell_job(job) for job in jobs]
    with multiprocessing.get_context("spawn").Pool(max(1, min(n_workers, len(jobs))), maxtasksperchild=1) as pool:
        return pool.map(_cell_job, jobs, chunksize=1)


def _cell_job(job: tuple) -> tuple[Atoms | None, Atoms, dict]:
    """One cell: (unrelaxed grown cell or None for the random start, relaxed cell, info with CPU seconds).

    job = (method, settings, relaxation, seed, payload, n_best, bond length (Angstrom)); payload: the candidate
    environments (S, 4, 3) for growth, or for the random start (extra CPU seconds to spend, CPU seconds per
    ps of anneal), so that it anneals ``extra / per_ps`` ps longer than the others."""
    method, settings, relaxation, seed, payload, n_best, bond_length = job
    rng = np.random.default_rng(seed)
    cpu_start = time.process_time()
    if method == RANDOM:
        growth_budget_s, cpu_per_ps = payload
        start_cell = random_cell(settings, rng)
        start_cpu = time.process_time() - cpu_start
        extra_ps = max(0.0, (growth_budget_s - start_cpu) / cpu_per_ps)
        relaxed, info = relax_cell(start_cell, relaxation, relaxation.anneal_time_ps + extra_ps, seed)
        info["growth_cpu_s"] = start_cpu
        info["total_cpu_s"] = start_cpu + info["relax_cpu_s"]
        return None, relaxed, info
    proposer = EnvironmentProposer(payload, n_best) if method == "vae_growth" else TetrahedralProposer(bond_length)
    grown, info = grow_cell(proposer, settings, rng)
    relaxed, relax_info = relax_cell(grown, relaxation, relaxation.anneal_time_ps, seed)
    info.update(relax_info)
    info["total_cpu_s"] = time.process_time() - cpu_start
    return grown, relaxed, info


def _scores(
    cfg: DictConfig, atoms: Atoms, potential: str, train_coords: np.ndarray, held_out: np.ndarray, info: dict
) -> dict:
    """Structure report, energy per atom (eV), all-staggered share, nearness of its environments to training
    (``novelty`` of :mod:`matdisco.motifs.scoring`), and ``info``'s CPU seconds and anneal time."""
    cutoff = float(cfg.data.evaluate.bond_cutoff_angstrom)
    report = structure_report(atoms, cutoff, 8.0, 160)
    coords, _ = environments(atoms, float(cfg.data.r_cut_angstrom), train_coords.shape[1])
    near = novelty(coords, train_coords, held_out, tuple(int(k) for k in cfg.data.evaluate.shell_sizes))
    return {
        **report,
        "energy_eV_per_atom": potential_energy(atoms, potential) / len(atoms),
        "fraction_all_staggered": fraction_all_staggered(atoms, cutoff),
        "nearest_training_angstrom_median": near["sample_to_train_angstrom_median"],
        "held_out_to_training_angstrom_median": near["held_out_to_train_angstrom_median"],
        "fraction_near_copies": near["fraction_near_copies"],
        **{k: float(info[k]) for k in ("cpu_s", "anneal_time_ps", "n_hole_atoms") if k in info},
    }


def _md_scores(cfg: DictConfig, potential: str, train_coords: np.ndarray, held_out: np.ndarray) -> list[dict]:
    """:func:`_scores` of every committed slow-quench cell (CPU: the melt-quench's, from its provenance)."""
    rows = []
    for path in sorted(cells_dir(cfg).glob("cell_*.extxyz")):
        atoms = read_cell(path)
        if final_potential(str(atoms.info.get(keys.INFO_POTENTIAL, potential))) != potential:
            continue
        rows.append(
            {
                "cell": path.name,
                **_scores(cfg, atoms, potential, train_coords, held_out, {"cpu_s": atoms.info["cpu_s"]}),
            }
        )
    return rows


def _summarise(methods: dict[str, list[dict]], n_resamples: int, seed: int) -> dict:
    """Per method and score: mean over cells with a cell-resampled interval (``core.metrics.mean_interval``);
    for the grown methods also the mean difference to ``random_start`` on the same seeds. One generator from
    ``seed`` draws every interval's resamples in turn."""
    rng = np.random.default_rng(seed)
    out = {}
    for method, cells in methods.items():
        entry = {"n_cells": len(cells)}
        for score in SCORES:
            values = np.array([cell[score] for cell in cells])
            entry[score] = mean_interval(values, n_resamples, rng)
            if method in GROWN and RANDOM in methods:
                paired = values - np.array([cell[score] for cell in methods[RANDOM]])
                entry[f"{score}_minus_random_start"] = mean_interval(paired, n_resamples, rng)
        out[method] = entry
    return out


def write_cells_table(path: Path, summary: dict) -> Path:
    """Markdown table of :func:`build_cells`' summary: one row per size and method, mean [95 % interval]."""
    header = ["cells", "method", "n", *SCORES.values()]
    held_out = summary["held_out_md_to_training_angstrom_median"]
    held_out_text = (
        f"{held_out:.3f} A" if held_out is not None else "nothing (no MD cell was last relaxed with this potential)"
    )
    lines = [
        "Complete a-Si cells at {:.2f} g/cm^3: mean over cells [95 % interval, cells resampled]. "
        "Relaxation: {}.".format(2.28, summary["settings"]["relaxation"]),
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for size, methods in summary["sizes"].items():
        for method, entry in methods.items():
            values = [_interval_text(entry[score], score) for score in SCORES]
            lines.append("| " + " | ".join([size, method, str(entry["n_cells"]), *values]) + " |")
    lines += [
        "",
        "Rows `*_unrelaxed`: the grown cell before relaxation (CPU: growth only). `random_start` anneals longer by "
        "the growth and decoding CPU of `vae_growth` on the same seed. All-staggered: 4-fold atoms whose four bonds "
        "are all staggered (diamond order). Environments to training: label-free nearest-training distance of the "
        "cell's environments (`scoring.novelty`); the held-out MD cell gives "
        f"{held_out_text} (the other MD cells are training cells). "
        "MD CPU: the melt-quench's, from the cells' provenance.",
    ]
    return atomic_write_text(path, "\n".join(lines) + "\n")


def _interval_text(entry: dict, score: str) -> str:
    digits = {"fraction_defects": 3, "fraction_all_staggered": 4, "energy_eV_per_atom": 3}.get(score, 2)
    return interval_text(entry, digits)


def _write_cells(folder: Path, cells: dict[str, Atoms]) -> None:
    """Every cell as one extxyz in ``folder``, replacing the folder only when all are written."""
    with atomic_dir(folder) as tmp:
        for name, atoms in cells.items():
            write(Path(tmp) / f"{name}.extxyz", atoms, format="extxyz")
