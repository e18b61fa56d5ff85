"""``motifs_simulate``: make the a-Si cells (LAMMPS melt-quench, or read ``simulate.input_glob``),
write them and their structure report against experiment.

Artifacts: ``processed/motifs/cells/cell_###.extxyz``, ``metrics/motifs/structure.json``,
``plots/motifs/structure.png``.
"""

from __future__ import annotations

import glob
import inspect
import multiprocessing
import time
from pathlib import Path

import numpy as np
from ase.io import write
from omegaconf import DictConfig
from tqdm import tqdm

from matdisco.core.config import artifact
from matdisco.core.errors import ConfigError, InputError
from matdisco.core.io import atomic_dir, atomic_write_json
from matdisco.motifs import keys
from matdisco.motifs.data import FAMILY, cells_dir
from matdisco.motifs.figures import structure_figure
from matdisco.motifs.md import MeltQuench, melt_quench
from matdisco.motifs.structure import (
    REFERENCES, bond_angles, compare_with_references, coordination, rdf, rdf_limit_angstrom, read_cell, structure_report, summarise_reports,
)


def protocol(sim: DictConfig) -> MeltQuench:
    """The melt-quench protocol from a ``simulate`` config."""
    fields = inspect.signature(MeltQuench).parameters
    return MeltQuench(**{name: sim[name] for name in fields if name in sim})

def _run_cell(args: tuple[MeltQuench, int]) -> tuple:
    """Worker: one melt-quench (module level so a process pool can call it)."""
    proto, seed = args
    return melt_quench(proto, seed)

def simulate(cfg: DictConfig) -> dict:
    """Make the a-Si cells (LAMMPS melt-quench, or read ``input_glob``), write them and their structure report."""
    sim = cfg.simulate
    start = time.perf_counter()
    if sim.source == "lammps":
        cells = _melt_quench_cells(sim, int(cfg.seed))
    elif sim.source == "extxyz":
        cells = _imported_cells(sim)
    else:
        raise ConfigError(f"simulate.source must be lammps or extxyz, got {sim.source!r}")
    _write_cells(cells_dir(cfg), cells)
    wall_s = time.perf_counter() - start
    report = _structure_step(cfg, [atoms for _, atoms in cells])
    report["timing"] = {"wall_s": wall_s, "n_cells": len(cells), "n_atoms_total": sum(len(a) for _, a in cells),
                        "cell_wall_s": [float(a.info.get("wall_s", 0.0)) for _, a in cells],
                        "cell_cpu_s": [float(a.info.get("cpu_s", 0.0)) for _, a in cells]}
    atomic_write_json(artifact(cfg, "metrics", FAMILY, "structure.json"), report)
    return {"cells": str(cells_dir(cfg)), "wall_s": wall_s, **report["summary"]}

def _melt_quench_cells(sim: DictConfig, seed: int) -> list[tuple[str, object]]:
    """Run ``n_cells`` seeded melt-quenches (in ``n_workers`` processes); [(name, Atoms)]."""
    proto = protocol(sim)
    seeds = np.random.default_rng(seed).integers(1, 2**31 - 1, size=int(sim.n_cells))
    jobs = [(proto, int(s)) for s in seeds]
    workers = max(1, min(int(sim.n_workers), len(jobs)))
    if workers == 1:
        results = [_run_cell(job) for job in tqdm(jobs, desc="melt-quench")]
    else:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            results = list(tqdm(pool.imap(_run_cell, jobs), total=len(jobs), desc="melt-quench"))
    cells = []
    for k, ((atoms, info), cell_seed) in enumerate(zip(results, seeds)):
        atoms.info.update({keys.INFO_POTENTIAL: proto.potential, keys.INFO_SEED: int(cell_seed), keys.INFO_SOURCE: "lammps", **info})
        cells.append((f"cell_{k:03d}", atoms))
    return cells

def _imported_cells(sim: DictConfig) -> list[tuple[str, object]]:
    """Cells read (and checked) from ``sim.input_glob``; [(name, Atoms)]."""
    if not sim.get("input_glob"):
        raise ConfigError("simulate.source=extxyz needs simulate.input_glob")
    files = sorted(Path(name) for name in glob.glob(str(sim.input_glob)))
    if not files:
        raise InputError(f"no files match {sim.input_glob}", "simulate.input_glob", "extxyz files of periodic Si cells")
    cells = []
    for k, path in enumerate(files):
        atoms = read_cell(path)
        atoms.info.update({keys.INFO_SOURCE: str(path), keys.INFO_POTENTIAL: sim.potential})
        cells.append((f"cell_{k:03d}", atoms))
    return cells

def _write_cells(folder: Path, cells: list[tuple[str, object]]) -> None:
    """Replace ``folder`` with one extxyz per cell, all at once (a failed write leaves the old folder)."""
    with atomic_dir(folder) as staging:
        for name, atoms in cells:
            write(staging / f"{name}.extxyz", atoms, format="extxyz")

def _structure_step(cfg: DictConfig, cells: list) -> dict:
    """Structure report of every cell, its summary next to the references, and the structure plot."""
    analysis = cfg.simulate.analysis
    cutoff = float(analysis.bond_cutoff_angstrom)
    reports, rdfs, angles, cns = {}, {}, {}, {}
    for k, atoms in enumerate(tqdm(cells, desc="structure report")):
        name = f"cell_{k:03d}"
        reports[name] = structure_report(atoms, cutoff, float(analysis.rdf_r_max_angstrom), int(analysis.rdf_bins))
        rdfs[name] = rdf(atoms, min(float(analysis.rdf_r_max_angstrom), rdf_limit_angstrom(atoms)), int(analysis.rdf_bins))
        angles[name] = bond_angles(atoms, cutoff)
        cns[name] = coordination(atoms, cutoff)
    structure_figure(artifact(cfg, "plots", FAMILY, "structure.png"), rdfs, angles, cns,
                     REFERENCES["experiment_laaziri_1999"]["rdf_first_peak_angstrom"])
    summary = summarise_reports(reports)
    return {"summary": summary, "comparison": compare_with_references(summary), "cells": reports, "references": REFERENCES}
