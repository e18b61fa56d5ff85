"""Local environments -> Gram matrices: neighbours, ordering rule, Gram entries, normalisation, permutations.

An environment of atom i is the ``n`` closest atoms within ``r_cut`` (periodic images included),
as positions relative to atom i, shape (n, 3) in Angstrom.

Ordering rule: neighbours are sorted by increasing distance from the centre; exact distance ties
are broken by the neighbour's atom index (then by the order vesin returns periodic images).
The Gram matrix G_ab = x^a . x^b (Angstrom^2) is stored as its upper triangle with diagonal,
row-major, P = n (n + 1) / 2 entries (36 for n = 8).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from ase import Atoms

from matdisco.core.errors import ConfigError
from matdisco.motifs import keys
from matdisco.motifs.structure import pairs


def environments(atoms: Atoms, r_cut_angstrom: float, n_neighbours: int) -> tuple[np.ndarray, np.ndarray]:
    """Closest ``n_neighbours`` within ``r_cut_angstrom`` of every atom, by the ordering rule.

    Returns coords (N, n, 3) in Angstrom and counts (N,) of neighbours found inside ``r_cut``.
    Rows of atoms with fewer than n neighbours are NaN beyond their count (never padded with data).
    """
    i, j, vectors = pairs(atoms, r_cut_angstrom)
    distances = np.linalg.norm(vectors, axis=1)
    order = np.lexsort((j, distances, i))
    i, vectors = i[order], vectors[order]
    starts = np.searchsorted(i, np.arange(len(atoms)))
    rank = np.arange(len(i)) - starts[i]
    keep = rank < n_neighbours
    coords = np.full((len(atoms), n_neighbours, 3), np.nan)
    coords[i[keep], rank[keep]] = vectors[keep]
    counts = np.bincount(i, minlength=len(atoms))
    return coords, counts


def upper_indices(n_neighbours: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices (P,) of the upper triangle with diagonal, row-major."""
    return np.triu_indices(n_neighbours)


def diagonal_mask(n_neighbours: int) -> np.ndarray:
    """Boolean (P,): True where an upper-triangle entry lies on the diagonal."""
    rows, cols = upper_indices(n_neighbours)
    return rows == cols


def n_neighbours_from_entries(n_entries: int) -> int:
    """n such that n (n + 1) / 2 == ``n_entries``."""
    n = int(round((np.sqrt(8 * n_entries + 1) - 1) / 2))
    if n * (n + 1) // 2 != n_entries:
        raise ValueError(f"{n_entries} is not a triangular number of Gram entries")
    return n


def gram_upper(coords: np.ndarray) -> np.ndarray:
    """Upper-triangle Gram entries (..., P) in Angstrom^2 of coords (..., n, 3)."""
    gram = np.einsum("...ad,...bd->...ab", coords, coords)
    rows, cols = upper_indices(coords.shape[-2])
    return gram[..., rows, cols]


def gram_full(upper: np.ndarray) -> np.ndarray:
    """Symmetric Gram matrices (..., n, n) from upper-triangle entries (..., P)."""
    n = n_neighbours_from_entries(upper.shape[-1])
    rows, cols = upper_indices(n)
    gram = np.zeros(upper.shape[:-1] + (n, n), dtype=upper.dtype)
    gram[..., rows, cols] = upper
    gram[..., cols, rows] = upper
    return gram


@dataclass(frozen=True)
class GramNormaliser:
    """Separate standardisation of diagonal and off-diagonal Gram entries (statistics in Angstrom^2).

    Permuting neighbour labels only reorders diagonal entries among themselves and off-diagonal
    entries among themselves, so the statistics do not change under augmentation.
    """

    mu_diag: float
    sigma_diag: float
    mu_off: float
    sigma_off: float
    n_neighbours: int

    @classmethod
    def fit(cls, upper: np.ndarray) -> GramNormaliser:
        """Statistics of training entries ``upper`` (N, P)."""
        diagonal = diagonal_mask(n_neighbours_from_entries(upper.shape[-1]))
        return cls(
            mu_diag=float(upper[:, diagonal].mean()),
            sigma_diag=float(upper[:, diagonal].std()),
            mu_off=float(upper[:, ~diagonal].mean()),
            sigma_off=float(upper[:, ~diagonal].std()),
            n_neighbours=int(n_neighbours_from_entries(upper.shape[-1])),
        )

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-entry mean and standard deviation, each (P,)."""
        diagonal = diagonal_mask(self.n_neighbours)
        mean = np.where(diagonal, self.mu_diag, self.mu_off)
        std = np.where(diagonal, self.sigma_diag, self.sigma_off)
        return mean, std

    def normalise(self, upper: np.ndarray) -> np.ndarray:
        """Dimensionless entries (..., P) from Gram entries in Angstrom^2."""
        mean, std = self.vectors()
        return (upper - mean) / std

    def denormalise(self, normalised: np.ndarray) -> np.ndarray:
        """Gram entries in Angstrom^2 (..., P) from dimensionless entries."""
        mean, std = self.vectors()
        return normalised * std + mean

    def to_dict(self) -> dict:
        """JSON-ready statistics (keys of :mod:`matdisco.motifs.keys`)."""
        values = asdict(self)
        return {
            keys.MU_DIAG: values["mu_diag"],
            keys.SIGMA_DIAG: values["sigma_diag"],
            keys.MU_OFF: values["mu_off"],
            keys.SIGMA_OFF: values["sigma_off"],
            "n_neighbours": values["n_neighbours"],
        }

    @classmethod
    def from_dict(cls, values: dict) -> GramNormaliser:
        """Inverse of :meth:`to_dict`."""
        return cls(
            values[keys.MU_DIAG],
            values[keys.SIGMA_DIAG],
            values[keys.MU_OFF],
            values[keys.SIGMA_OFF],
            int(values["n_neighbours"]),
        )


def random_permutations(
    n_environments: int, n_neighbours: int, n_permutations: int, rng: np.random.Generator
) -> np.ndarray:
    """``n_permutations`` random label permutations per environment, (n_environments, n_permutations, n)."""
    noise = rng.random((n_environments, n_permutations, n_neighbours))
    return np.argsort(noise, axis=-1)


def augment(
    coords: np.ndarray, n_permutations: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Permutation augmentation: originals followed by ``n_permutations`` relabelled copies of each.

    coords (N, n, 3) -> Gram entries (N (1 + n_perm), P), permutations (N (1 + n_perm), n) with the
    identity for originals, and source rows (N (1 + n_perm),); rows are grouped by copy (all N
    originals first, then the first permuted copy of every environment, ...). The copy of environment e under
    permutation p has neighbour a equal to the original's neighbour p[a], so its Gram matrix is
    G[p][:, p].
    """
    if n_permutations < 0:
        raise ConfigError(f"n_permutations must be >= 0, got {n_permutations}")
    n_env, n = coords.shape[:2]
    identity = np.broadcast_to(np.arange(n), (1, n_env, n))
    perms = np.concatenate([identity, np.swapaxes(random_permutations(n_env, n, n_permutations, rng), 0, 1)])
    permuted = np.take_along_axis(coords[None], perms[..., None], axis=2)
    source = np.tile(np.arange(n_env), 1 + n_permutations)
    return gram_upper(permuted).reshape(-1, n * (n + 1) // 2), perms.reshape(-1, n), source


def split_cells(n_cells: int, val_cells: int, test_cells: int, rng: np.random.Generator) -> np.ndarray:
    """Assign whole cells to splits at random: codes (n_cells,) with 0 train, 1 val, 2 test."""
    if val_cells < 0 or test_cells < 0 or val_cells + test_cells >= n_cells:
        raise ConfigError(f"need at least one training cell: {n_cells} cells, {val_cells} val, {test_cells} test")
    codes = np.zeros(n_cells, dtype=np.int8)
    order = rng.permutation(n_cells)
    codes[order[:val_cells]] = keys.SPLITS["val"]
    codes[order[val_cells : val_cells + test_cells]] = keys.SPLITS["test"]
    return codes


def entry_permutations(perms: np.ndarray) -> np.ndarray:
    """Upper-triangle entry indices (n_perm, P) of relabelled Gram matrices, from label permutations (n_perm, n).

    ``upper[..., entry_permutations(perms)[q]]`` equals the upper entries of G[p][:, p] for p = perms[q].
    """
    n = perms.shape[1]
    rows, cols = upper_indices(n)
    entry = np.zeros((n, n), dtype=np.int64)
    entry[rows, cols] = np.arange(len(rows))
    entry[cols, rows] = np.arange(len(rows))
    return entry[perms[:, rows], perms[:, cols]]
