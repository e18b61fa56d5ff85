"""``motifs_simulate``: make or read the a-Si cells (LAMMPS melt-quench, the committed data set, or
``simulate.input_glob``), check them, write them and their structure report against experiment.

Artifacts: ``processed/motifs/cells/cell_###.extxyz``, ``metrics/motifs/structure.json``,
``plots/motifs/structure.png``.
"""

from __future__ import annotations

import glob
import inspect
import time
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import write
from omegaconf import DictConfig
from tqdm import tqdm

from matdisco.core.config import artifact
from matdisco.core.errors import ConfigError, InputError
from matdisco.core.io import atomic_dir, atomic_write_json
from matdisco.motifs import keys
from matdisco.motifs.cells import cell_path, cell_seeds, run_cells, spotcheck
from matdisco.motifs.data import FAMILY, cells_dir
from matdisco.motifs.environments import environments
from matdisco.motifs.figures import structure_figure
from matdisco.motifs.md import MeltQuench, density_g_cm3, melt_quench_cells
from matdisco.motifs.structure import (
    REFERENCES,
    bond_angles,
    compare_with_references,
    coordination,
    rdf,
    rdf_limit_angstrom,
    read_cell,
    structure_report,
    summarise_reports,
)


def protocol(sim: DictConfig, section: DictConfig | None = None) -> MeltQuench:
    """The melt-quench protocol of a ``simulate`` config (or of one of its sub-sections, e.g. the spot-check)."""
    fields = inspect.signature(MeltQuench).parameters
    values = {name: sim[name] for name in fields if name in sim}
    values.update({name: section[name] for name in fields if section is not None and name in section})
    return MeltQuench(**values)


def simulate(cfg: DictConfig) -> dict:
    """Make or read the a-Si cells, check every one of them, then write them and their structure report.

    ``simulate.source``: ``lammps`` (melt-quench ``n_cells``; with ``simulate.dataset`` set, into that
    folder, resumably, a cell per file), ``dataset`` (the committed cells of ``simulate.dataset``, after
    re-running its spot-check cell) or ``extxyz`` (your own cells, ``simulate.input_glob``). Nothing is
    written before every cell passed :func:`validate_cells`, so a bad cell never replaces good ones.
    """
    sim = cfg.simulate
    start = time.perf_counter()
    extra: dict = {}
    if sim.source == "lammps":
        cells = _melt_quench_cells(sim, int(cfg.seed))
    elif sim.source == "dataset":
        cells, extra["spotcheck"] = _dataset_cells(sim)
    elif sim.source == "extxyz":
        cells = _imported_cells(sim)
    else:
        raise ConfigError(f"simulate.source must be lammps, dataset or extxyz, got {sim.source!r}")
    validate_cells(cells, sim.validation, cfg.get("data"))
    _write_cells(cells_dir(cfg), cells)
    wall_s = time.perf_counter() - start
    report = _structure_step(cfg, [atoms for _, atoms in cells])
    report["timing"] = {
        "wall_s": wall_s,
        "n_cells": len(cells),
        "n_atoms_total": sum(len(a) for _, a in cells),
        "cell_wall_s": [float(a.info.get("wall_s", 0.0)) for _, a in cells],
        "cell_cpu_s": [float(a.info.get("cpu_s", 0.0)) for _, a in cells],
    }
    report.update(extra)
    atomic_write_json(artifact(cfg, "metrics", FAMILY, "structure.json"), report)
    return {"cells": str(cells_dir(cfg)), "wall_s": wall_s, **report["summary"]}


def _melt_quench_cells(sim: DictConfig, seed: int) -> list[tuple[str, Atoms]]:
    """``n_cells`` seeded melt-quenches, each in a fresh process; into ``sim.dataset`` (resuming) when set."""
    proto = protocol(sim)
    if sim.get("dataset"):
        if sim.get("spotcheck"):
            run_cells(protocol(sim, sim.spotcheck), Path(sim.dataset) / "spotcheck", seed, 1, 1)
        run_cells(proto, Path(sim.dataset), seed, int(sim.n_cells), int(sim.n_workers))
        return [
            (cell_path(Path(sim.dataset), k).stem, read_cell(cell_path(Path(sim.dataset), k)))
            for k in range(int(sim.n_cells))
        ]
    seeds = cell_seeds(seed, int(sim.n_cells))
    results = melt_quench_cells(proto, seeds, int(sim.n_workers))
    cells = []
    for k, ((atoms, info), cell_seed) in enumerate(zip(results, seeds)):
        atoms.info.update(
            {keys.INFO_POTENTIAL: proto.potential, keys.INFO_SEED: int(cell_seed), keys.INFO_SOURCE: "lammps", **info}
        )
        cells.append((f"cell_{k:03d}", atoms))
    return cells


def _dataset_cells(sim: DictConfig) -> tuple[list[tuple[str, Atoms]], dict]:
    """The committed cells of ``sim.dataset`` and the spot-check: its short cell re-run from its seed
    must land within ``spotcheck.tolerance_angstrom`` of the stored one (else :class:`InputError`)."""
    folder = Path(sim.dataset)
    files = sorted(folder.glob("cell_*.extxyz"))
    if not files:
        raise InputError("no cells in the data set", str(folder), "cell_###.extxyz written by simulate=md_slow")
    check = spotcheck(folder / "spotcheck" / "cell_000.extxyz", protocol(sim, sim.spotcheck))
    if not check["max_displacement_angstrom"] <= float(sim.spotcheck.tolerance_angstrom):
        raise InputError(
            f"the spot-check cell re-ran {check['max_displacement_angstrom']:.3g} A away from the stored one",
            str(folder / "spotcheck"),
            f"within {sim.spotcheck.tolerance_angstrom} A (same LAMMPS, same protocol)",
        )
    return [(path.stem, read_cell(path)) for path in files], check


def _imported_cells(sim: DictConfig) -> list[tuple[str, Atoms]]:
    """Cells read from ``sim.input_glob``; [(name, Atoms)]."""
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


def validate_cells(cells: list[tuple[str, Atoms]], rules: DictConfig, data: DictConfig | None) -> None:
    """Raise :class:`InputError` naming the cell (source file) when a cell is too small, outside the
    density window, outside the mean-coordination window, or has an atom with fewer than
    ``data.n_neighbours`` neighbours within ``data.r_cut_angstrom`` (when a data config is given)."""
    for name, atoms in cells:
        where = f"{name} ({atoms.info.get(keys.INFO_SOURCE, 'melt-quench')})"
        if len(atoms) < int(rules.min_atoms):
            raise InputError(
                f"cell has {len(atoms)} atoms", where, f"at least {rules.min_atoms} (simulate.validation.min_atoms)"
            )
        density = density_g_cm3(atoms)
        low, high = rules.density_g_cm3
        if not low <= density <= high:
            raise InputError(
                f"density {density:.3f} g/cm3",
                where,
                f"a-Si within [{low}, {high}] g/cm3 (simulate.validation.density_g_cm3)",
            )
        mean_cn = float(coordination(atoms, float(rules.bond_cutoff_angstrom)).mean())
        low, high = rules.mean_coordination
        if not low <= mean_cn <= high:
            raise InputError(
                f"mean coordination {mean_cn:.2f} at {rules.bond_cutoff_angstrom} A",
                where,
                f"within [{low}, {high}] (simulate.validation.mean_coordination)",
            )
        if data is not None and data.get("n_neighbours"):
            _, counts = environments(atoms, float(data.r_cut_angstrom), int(data.n_neighbours))
            short = int(np.sum(counts < int(data.n_neighbours)))
            if short:
                raise InputError(
                    f"{short} atoms have fewer than {data.n_neighbours} neighbours within {data.r_cut_angstrom} A",
                    where,
                    "every atom with data.n_neighbours neighbours inside data.r_cut_angstrom",
                )


def _write_cells(folder: Path, cells: list[tuple[str, Atoms]]) -> None:
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
        rdfs[name] = rdf(
            atoms, min(float(analysis.rdf_r_max_angstrom), rdf_limit_angstrom(atoms)), int(analysis.rdf_bins)
        )
        angles[name] = bond_angles(atoms, cutoff)
        cns[name] = coordination(atoms, cutoff)
    structure_figure(
        artifact(cfg, "plots", FAMILY, "structure.png"),
        rdfs,
        angles,
        cns,
        REFERENCES["experiment_laaziri_1999"]["rdf_first_peak_angstrom"],
    )
    summary = summarise_reports(reports)
    return {
        "summary": summary,
        "comparison": compare_with_references(summary),
        "cells": reports,
        "references": REFERENCES,
    }
