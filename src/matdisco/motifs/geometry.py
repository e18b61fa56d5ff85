"""Gram matrix -> coordinates, orthogonal alignment (Procrustes), permutation matching, RMSD.

Conventions: coordinates are row vectors, arrays (..., n, 3) in Angstrom; an orthogonal
transform Q (3, 3) acts as X @ Q. A Gram matrix G = X X^T is invariant under every Q in O(3),
so coordinates decoded from G are defined only up to a rotation *or a reflection*:

- ``proper=False`` (O(3), orthogonal Procrustes) is the measure that matters for anything decoded
  from a Gram matrix (reconstruction, inpainting, interpolation alignment): a mirror image of the
  right environment is the right environment as far as G can tell.
- ``proper=True`` (SO(3), Kabsch) is reported beside it; it is larger when the decoded environment
  is the mirror image of the truth (chirality is not represented by G).
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linear_sum_assignment


def coordinates_from_gram(gram: np.ndarray, dim: int = 3, restore_norms: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates X = V sqrt(Lambda) from the top ``dim`` eigenpairs of symmetric Gram matrices.

    gram (..., n, n) in Angstrom^2 -> X (..., n, dim) in Angstrom, and the discarded fraction
    (...,) of the spectrum, sum |lambda| beyond the top ``dim`` plus the negative parts clipped
    within it, over sum |lambda|: 0 for an exact 3-D Gram matrix, a validity measure otherwise.

    The rank-``dim`` truncation shortens every vector when spectrum is discarded. With
    ``restore_norms`` each row keeps its direction but gets the length sqrt(max(G_aa, 0)) that the
    Gram matrix states (the centre-neighbour distance); an exact Gram matrix is unchanged.
    """
    values, vectors = np.linalg.eigh(0.5 * (gram + np.swapaxes(gram, -1, -2)))
    top_values = values[..., -dim:][..., ::-1]
    top_vectors = vectors[..., -dim:][..., ::-1]
    clipped = np.clip(top_values, 0.0, None)
    total = np.abs(values).sum(-1)
    discarded = np.abs(values[..., :-dim]).sum(-1) + (clipped - top_values).sum(-1)
    fraction = np.divide(discarded, total, out=np.zeros_like(total), where=total > 0)
    coords = top_vectors * np.sqrt(clipped)[..., None, :]
    if restore_norms:
        lengths = np.sqrt(np.clip(np.diagonal(gram, axis1=-2, axis2=-1), 0.0, None))
        coords = coords * (lengths / np.maximum(np.linalg.norm(coords, axis=-1), 1e-12))[..., None]
    return coords, fraction


def negative_spectrum_fraction(gram: np.ndarray) -> np.ndarray:
    """Sum of |negative eigenvalues| over sum |eigenvalues| of symmetric Gram matrices (..., n, n), (...,)."""
    values = np.linalg.eigvalsh(0.5 * (gram + np.swapaxes(gram, -1, -2)))
    total = np.abs(values).sum(-1)
    return np.divide(np.clip(-values, 0.0, None).sum(-1), total, out=np.zeros_like(total), where=total > 0)


def procrustes(moving: np.ndarray, reference: np.ndarray, proper: bool) -> np.ndarray:
    """Orthogonal Q (..., 3, 3) minimising ||moving @ Q - reference||_F (both (..., n, 3)).

    ``proper=True`` restricts Q to rotations (Kabsch, det Q = +1); otherwise Q is in O(3).
    """
    u, _, vt = np.linalg.svd(np.swapaxes(moving, -1, -2) @ reference)
    if proper:
        sign = np.sign(np.linalg.det(u @ vt))
        sign = np.where(sign == 0, 1.0, sign)
        u = u.copy()
        u[..., :, -1] *= sign[..., None]
    return u @ vt


def align(moving: np.ndarray, reference: np.ndarray, proper: bool = False) -> np.ndarray:
    """``moving`` (..., n, 3) transformed by the best orthogonal Q onto ``reference`` (..., n, 3)."""
    return moving @ procrustes(moving, reference, proper)


def rmsd(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Root-mean-square deviation over atoms, sqrt(mean_a |x_a - y_a|^2), (...,) in Angstrom."""
    return np.sqrt(np.mean(np.sum((x - y) ** 2, axis=-1), axis=-1))


def aligned_rmsd(moving: np.ndarray, reference: np.ndarray, proper: bool) -> np.ndarray:
    """RMSD (...,) after the best rotation (``proper=True``, Kabsch) or orthogonal transform (O(3))."""
    return rmsd(align(moving, reference, proper), reference)


def hungarian_match(candidates: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Assignment for atoms whose labels are not fixed, in a common frame.

    candidates (m, 3), targets (m, 3) -> order (m,) such that ``candidates[order]`` pairs with
    ``targets`` row by row with the least total squared distance.
    """
    cost = np.sum((targets[:, None, :] - candidates[None, :, :]) ** 2, axis=-1)
    rows, cols = linear_sum_assignment(cost)
    return cols[np.argsort(rows)]


def matched_rmsd(candidates: np.ndarray, targets: np.ndarray) -> float:
    """RMSD (Angstrom) between two unlabelled point sets (m, 3) in one frame, after Hungarian matching."""
    return float(rmsd(candidates[hungarian_match(candidates, targets)], targets))


def matched_aligned_rmsd(moving: np.ndarray, reference: np.ndarray, n_iterations: int = 10) -> float:
    """RMSD (Angstrom) of two environments (n, 3) when neither labels nor orientation are fixed.

    Alternates O(3) Procrustes and Hungarian relabelling from the given labels (a local optimum
    of the joint problem, never worse than the fixed-label O(3) RMSD).
    """
    order = np.arange(len(moving))
    best = np.inf
    for _ in range(n_iterations):
        aligned = align(moving[order], reference)
        value = float(rmsd(aligned, reference))
        if value >= best - 1e-12:
            break
        best = value
        order = order[hungarian_match(aligned, reference)]
    return best


CHUNK_ENVIRONMENTS = 256  # environments per vectorised batch of label_free_rmsd (576 x 8 x 3 floats each)


def shell_permutations(shell_sizes: tuple[int, ...]) -> np.ndarray:
    """Every relabelling that permutes atoms only within their shell, (prod k!, n) index arrays.

    Shells are consecutive label blocks of the given sizes (first shell = labels 0..k1-1, ...);
    (4, 4) gives 4! x 4! = 576 permutations of 8 labels, the identity first.
    """
    blocks, start = [], 0
    for size in shell_sizes:
        blocks.append([start + np.array(p) for p in itertools.permutations(range(size))])
        start += size
    return np.array([np.concatenate(choice) for choice in itertools.product(*blocks)], dtype=np.int64)


def label_free_rmsd(
    moving: np.ndarray, reference: np.ndarray, shell_sizes: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """RMSD when labels within a shell are arbitrary: min over within-shell relabellings of the O(3) RMSD.

    moving, reference (B, n, 3) in Angstrom, centred on the centre atom (no translation is fitted).
    Exhaustive over :func:`shell_permutations` (exact, not a local optimum). Returns the total
    RMSD (B,) and the per-shell RMSD (B, n_shells) of that best relabelling and alignment.
    """
    perms = shell_permutations(shell_sizes)
    starts = range(0, len(moving), CHUNK_ENVIRONMENTS)
    chosen = np.concatenate(
        [
            _best_relabelling_errors(moving[s : s + CHUNK_ENVIRONMENTS], reference[s : s + CHUNK_ENVIRONMENTS], perms)
            for s in starts
        ]
        or [np.zeros((0, moving.shape[1]))]
    )
    bounds = np.cumsum((0, *shell_sizes))
    per_shell = np.stack([np.sqrt(chosen[:, a:b].mean(-1)) for a, b in zip(bounds[:-1], bounds[1:])], axis=1)
    return np.sqrt(chosen.mean(-1)), per_shell


def _best_relabelling_errors(moving: np.ndarray, reference: np.ndarray, perms: np.ndarray) -> np.ndarray:
    """Squared per-atom errors (B, n) of the relabelling in ``perms`` (n_perm, n) with the least O(3)-aligned RMSD."""
    aligned = align(moving[:, perms], reference[:, None])  # (B, n_perm, n, 3)
    per_atom = np.sum((aligned - reference[:, None]) ** 2, axis=-1)
    return per_atom[np.arange(len(moving)), np.argmin(per_atom.mean(-1), axis=1)]


def fixed_label_shell_rmsd(
    moving: np.ndarray, reference: np.ndarray, shell_sizes: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """O(3)-aligned RMSD with the labels as given: total (B,) and per shell (B, n_shells), Angstrom."""
    aligned = align(moving, reference)
    per_atom = np.sum((aligned - reference) ** 2, axis=-1)
    bounds = np.cumsum((0, *shell_sizes))
    per_shell = np.stack([np.sqrt(per_atom[:, a:b].mean(-1)) for a, b in zip(bounds[:-1], bounds[1:])], axis=1)
    return np.sqrt(per_atom.mean(-1)), per_shell
