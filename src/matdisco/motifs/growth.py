"""Complete periodic a-Si cells grown from local environments (the talk's last section), and the
short relaxation that finishes them.

Growth fills an empty cubic box of ``n_atoms`` at the requested density one atom at a time.
Breadth first from a random first atom, each atom with fewer than four bonds (distance below the
bond cutoff) asks a :class:`Proposer` for its missing neighbours, given its known bond vectors
(k, 3) in Angstrom: :class:`EnvironmentProposer` draws them from learned environments (the
VAE's decoded samples that fit the known bonds, the conditional density by selection), and
:class:`TetrahedralProposer` completes an ideal tetrahedron (the model-free version of the same
generator). A proposed atom is kept when it is at least ``min_distance_angstrom`` from every atom
and no atom it would bond to has four bonds already. When no atom is left to grow from, the next
atom goes into the largest hole found among random points, and growth goes on from it.

Positions are Angstrom, times ps, energies eV, CPU times s (``time.process_time``, LAMMPS included).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from ase import Atoms
from ase.geometry import find_mic
from scipy.optimize import linear_sum_assignment
from scipy.spatial.transform import Rotation

from matdisco.core.errors import ConfigError, InputError
from matdisco.motifs.baselines import IDEAL_TETRAHEDRON, tetrahedral_completion
from matdisco.motifs.md import AMU_G, SI_MASS_AMU, LammpsCell
from matdisco.motifs.sampling import candidate_blocks, conditional_sample_infill


def box_length_angstrom(n_atoms: int, density_g_cm3: float) -> float:
    """Edge of the cubic box holding ``n_atoms`` silicon atoms at ``density_g_cm3``, Angstrom."""
    return float((n_atoms * SI_MASS_AMU * AMU_G / density_g_cm3) ** (1.0 / 3.0) * 1e8)


def random_axis_rotation(axis: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotation matrix (3, 3) by a uniform random angle about ``axis`` (3,), for row vectors (x @ R)."""
    unit = axis / np.linalg.norm(axis)
    return Rotation.from_rotvec(unit * rng.uniform(0.0, 2.0 * np.pi)).as_matrix().T


def orient(bonds: np.ndarray, known: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bond vectors (m, 3) turned about what the known bonds (k, 3) leave free: any rotation for k = 0,
    a rotation about the bond for k = 1 (the torsion is not set by one bond); unchanged for k >= 2."""
    if len(known) == 0:
        return bonds @ Rotation.random(random_state=rng).as_matrix().T
    if len(known) == 1:
        return bonds @ random_axis_rotation(known[0], rng)
    return bonds


class Proposer:
    """Where the missing neighbours of an atom go: ``propose(known (k, 3), n_missing, rng) -> (n_missing, 3)``
    bond vectors in Angstrom relative to the atom; ``name`` labels the method."""

    name = "proposer"

    def propose(self, known: np.ndarray, n_missing: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError


@dataclass
class TetrahedralProposer(Proposer):
    """Missing bonds completed to an ideal tetrahedron at ``bond_length_angstrom`` (random torsion for one
    known bond, random orientation for none)."""

    bond_length_angstrom: float
    name: str = "tetrahedral_growth"

    def propose(self, known: np.ndarray, n_missing: int, rng: np.random.Generator) -> np.ndarray:
        if len(known) == 0:
            bonds = self.bond_length_angstrom * IDEAL_TETRAHEDRON
        else:
            bonds = tetrahedral_completion(known[None], self.bond_length_angstrom)[0]
        return orient(bonds, known, rng)[:n_missing]


@dataclass
class EnvironmentProposer(Proposer):
    """Missing bonds taken from one of the ``n_best`` candidate environments (S, 4, 3) whose Gram block fits
    the known bonds best (:func:`~matdisco.motifs.sampling.conditional_sample_infill`), chosen at random; with
    no known bond, a random candidate in a random orientation. Candidates are the VAE's decoded samples."""

    candidates: np.ndarray
    n_best: int
    name: str = "vae_growth"
    _blocks: dict = field(default_factory=dict, repr=False)

    def propose(self, known: np.ndarray, n_missing: int, rng: np.random.Generator) -> np.ndarray:
        if len(known) == 0:
            bonds = self.candidates[rng.integers(len(self.candidates))]
        else:
            if len(known) not in self._blocks:  # the candidates' Gram blocks, once per number of known bonds
                self._blocks[len(known)] = candidate_blocks(self.candidates, len(known))
            blocks = self._blocks[len(known)]
            bonds = conditional_sample_infill(known[None], self.candidates, self.n_best, rng, blocks)[0]
        return orient(bonds, known, rng)[:n_missing]


class HoleProposer(Proposer):
    """Proposes nothing, so every atom goes into the largest hole: the model-free, chemistry-free baseline."""

    name = "largest_hole"

    def propose(self, known: np.ndarray, n_missing: int, rng: np.random.Generator) -> np.ndarray:
        return np.zeros((0, 3))


@dataclass(frozen=True)
class GrowthSettings:
    """Box (atoms, g/cm^3), bonding and acceptance distances (Angstrom), proposals per atom, hole search points."""

    n_atoms: int = 512
    density_g_cm3: float = 2.28
    bond_cutoff_angstrom: float = 2.85
    min_distance_angstrom: float = 2.1
    tries_per_atom: int = 3
    hole_points: int = 2000


class Box:
    """Atoms of a growing cubic periodic cell (edge ``length`` Angstrom) with their bond counts."""

    def __init__(self, length: float, capacity: int, bond_cutoff_angstrom: float):
        self.length = float(length)
        self.positions = np.zeros((capacity, 3))
        self.n = 0
        self.cutoff = float(bond_cutoff_angstrom)

    def vectors(self, point: np.ndarray) -> np.ndarray:
        """Minimum-image vectors (n, 3) from ``point`` to every atom."""
        delta = self.positions[: self.n] - point
        return delta - self.length * np.round(delta / self.length)

    def bonds(self, index: int) -> np.ndarray:
        """Bond vectors (k, 3) of atom ``index``, nearest first."""
        vectors = self.vectors(self.positions[index])
        distances = np.linalg.norm(vectors, axis=1)
        bonded = np.flatnonzero((distances < self.cutoff) & (np.arange(self.n) != index))
        return vectors[bonded[np.argsort(distances[bonded])]]

    def coordination(self, indices: np.ndarray) -> np.ndarray:
        """Bond counts of atoms ``indices``."""
        return np.array([len(self.bonds(int(i))) for i in indices], dtype=int)

    def accepts(self, point: np.ndarray, min_distance_angstrom: float) -> bool:
        """True when ``point`` is at least ``min_distance_angstrom`` from every atom, bonds at most four atoms,
        and none of them has four bonds yet."""
        if self.n == 0:
            return True
        distances = np.linalg.norm(self.vectors(point), axis=1)
        if distances.min() < min_distance_angstrom:
            return False
        partners = np.flatnonzero(distances < self.cutoff)
        return len(partners) <= 4 and bool(np.all(self.coordination(partners) < 4))

    def add(self, point: np.ndarray) -> int:
        """Append an atom (wrapped into the box); its index."""
        self.positions[self.n] = np.mod(point, self.length)
        self.n += 1
        return self.n - 1

    def largest_hole(self, n_points: int, rng: np.random.Generator) -> np.ndarray:
        """Of ``n_points`` uniform random points, the one farthest from every atom (3,)."""
        points = rng.uniform(0.0, self.length, size=(n_points, 3))
        if self.n == 0:
            return points[0]
        delta = points[:, None] - self.positions[None, : self.n]
        delta -= self.length * np.round(delta / self.length)
        return points[np.argmax(np.linalg.norm(delta, axis=-1).min(axis=1))]

    def atoms(self) -> Atoms:
        """The cell as ASE ``Atoms``."""
        return Atoms("Si" * self.n, positions=self.positions[: self.n], cell=[self.length] * 3, pbc=True)


def grow_cell(proposer: Proposer, settings: GrowthSettings, rng: np.random.Generator) -> tuple[Atoms, dict]:
    """Grow one cell of ``settings.n_atoms`` (see the module docstring); the cell and a dict of counts
    (atoms placed by growth and into holes) and the CPU seconds it took."""
    cpu_start = time.process_time()
    box = Box(
        box_length_angstrom(settings.n_atoms, settings.density_g_cm3), settings.n_atoms, settings.bond_cutoff_angstrom
    )
    n_holes = grow(box, proposer, deque(), settings, rng)
    return box.atoms(), {
        "method": proposer.name,
        "n_grown": settings.n_atoms - n_holes,
        "n_hole_atoms": n_holes,
        "growth_cpu_s": time.process_time() - cpu_start,
    }


def grow(box: Box, proposer: Proposer, queue: deque, settings: GrowthSettings, rng: np.random.Generator) -> int:
    """Add atoms to ``box`` until it holds ``settings.n_atoms``: breadth first from the atoms in ``queue``
    (indices), each asking ``proposer`` for its missing bonds; when the queue runs dry, into the largest hole.
    Returns how many atoms went into holes."""
    n_holes = 0
    while box.n < settings.n_atoms:
        if not queue:
            queue.append(box.add(box.largest_hole(settings.hole_points, rng)))
            n_holes += 1
            continue
        index = queue.popleft()
        for _ in range(settings.tries_per_atom):
            known = box.bonds(index)
            if len(known) >= 4 or box.n >= settings.n_atoms:
                break
            for bond in proposer.propose(known, 4 - len(known), rng):
                point = box.positions[index] + bond
                if box.n < settings.n_atoms and box.accepts(point, settings.min_distance_angstrom):
                    queue.append(box.add(point))
    return n_holes


def refill(
    atoms: Atoms, removed: np.ndarray, proposer: Proposer, settings: GrowthSettings, rng: np.random.Generator
) -> Atoms:
    """``atoms`` without the atoms ``removed`` (indices), refilled with as many atoms by growth from the
    under-coordinated atoms next to the hole (those that lost a bond, nearest to the hole first), with
    ``proposer`` (a proposer that places nothing leaves the refill to the largest-hole rule). The refilled
    atoms come last."""
    lengths = atoms.cell.lengths()
    if not (np.allclose(atoms.cell.array, np.diag(lengths)) and np.allclose(lengths, lengths[0])):
        raise InputError("cell is not cubic", "hole refill", "a cubic periodic cell (as the slow-quench cells are)")
    kept = np.setdiff1d(np.arange(len(atoms)), removed)
    length = float(lengths[0])
    box = Box(length, len(atoms), settings.bond_cutoff_angstrom)
    for position in atoms.positions[kept]:
        box.add(position)
    centre = atoms.positions[removed[0]]
    distances = np.linalg.norm(box.vectors(centre), axis=1)
    near = np.flatnonzero(distances < 2.0 * settings.bond_cutoff_angstrom)
    open_atoms = near[box.coordination(near) < 4]
    queue = deque(int(i) for i in open_atoms[np.argsort(distances[open_atoms])])
    grow(box, proposer, queue, GrowthSettings(**{**settings.__dict__, "n_atoms": len(atoms)}), rng)
    return box.atoms()


def nearest_atoms(atoms: Atoms, site: int, n_atoms: int) -> np.ndarray:
    """Indices of atom ``site`` and its ``n_atoms - 1`` nearest atoms (minimum image), ``site`` first."""
    _, distances = find_mic(atoms.positions - atoms.positions[site], atoms.cell, pbc=True)
    return np.argsort(distances, kind="stable")[:n_atoms]


def mic_matched_rmsd(placed: np.ndarray, truth: np.ndarray, atoms: Atoms) -> float:
    """RMSD (Angstrom) between positions ``placed`` and ``truth`` (m, 3) in the cell of ``atoms`` after matching
    them one to one (Hungarian) on minimum-image distances."""
    vectors, _ = find_mic((placed[:, None] - truth[None]).reshape(-1, 3), atoms.cell, pbc=True)
    squared = np.sum(vectors.reshape(len(placed), len(truth), 3) ** 2, axis=-1)
    rows, cols = linear_sum_assignment(squared)
    return float(np.sqrt(squared[rows, cols].mean()))


def random_cell(settings: GrowthSettings, rng: np.random.Generator, max_tries: int = 1_000_000) -> Atoms:
    """Random start: atoms at uniform random points, each at least ``settings.min_distance_angstrom`` from the
    others (random sequential insertion)."""
    box = Box(
        box_length_angstrom(settings.n_atoms, settings.density_g_cm3), settings.n_atoms, settings.bond_cutoff_angstrom
    )
    for _ in range(max_tries):
        point = rng.uniform(0.0, box.length, size=3)
        if box.n == 0 or np.linalg.norm(box.vectors(point), axis=1).min() >= settings.min_distance_angstrom:
            box.add(point)
            if box.n == settings.n_atoms:
                return box.atoms()
    raise RuntimeError(f"random insertion placed {box.n} of {settings.n_atoms} atoms in {max_tries} tries")


@dataclass(frozen=True)
class Relaxation:
    """The short relaxation every generated cell gets: minimise, hold ``anneal_time_ps`` at
    ``anneal_temperature_K`` (NVT, fresh velocities from ``seed``), minimise again; with ``potential``."""

    potential: str = "sw_vink"
    anneal_temperature_K: float = 1000.0
    anneal_time_ps: float = 30.0
    timestep_fs: float = 1.0
    thermostat_damping_ps: float = 0.1

    def __post_init__(self):
        if self.anneal_time_ps <= 0:
            raise ConfigError(
                f"data.cells.relaxation.anneal_time_ps must be positive (it sets the CPU rate), got {self.anneal_time_ps}"
            )


def relax_cell(atoms: Atoms, relaxation: Relaxation, anneal_time_ps: float, seed: int) -> tuple[Atoms, dict]:
    """Run ``relaxation`` for ``anneal_time_ps`` on ``atoms``; the relaxed cell and its energy (eV), the anneal
    time (ps) and the CPU seconds of the anneal and of the whole relaxation."""
    cpu_start = time.process_time()
    md = LammpsCell(atoms, relaxation.potential)
    steps = int(round(anneal_time_ps * 1000.0 / relaxation.timestep_fs))
    try:
        md.minimise()
        anneal_start = time.process_time()
        if steps > 0:
            temperature = relaxation.anneal_temperature_K
            md.commands(
                f"timestep {relaxation.timestep_fs / 1000.0}",
                f"velocity all create {temperature} {int(seed) % (2**31 - 2) + 1} mom yes rot yes dist gaussian",
                f"fix md all nvt temp {temperature} {temperature} {relaxation.thermostat_damping_ps}",
                f"run {steps}",
                "unfix md",
            )
        anneal_cpu_s = time.process_time() - anneal_start
        energy = md.minimise()
        relaxed = md.atoms()
    finally:
        md.close()
    return relaxed, {
        "energy_eV": energy,
        "anneal_time_ps": anneal_time_ps,
        "anneal_cpu_s": anneal_cpu_s,
        "relax_cpu_s": time.process_time() - cpu_start,
    }
