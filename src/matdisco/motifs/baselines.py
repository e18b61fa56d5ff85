"""The no-model predictors every result is reported against. Inpainting and vacancies: missing atoms
placed at the mean neighbour distance, in random directions or opposite the known atoms.
Reconstruction (on Gram entries (N, P)): the mean environment, the nearest training environment,
and PCA with as many components as the model has latent dimensions. Missing bonded atoms: the
ideal-tetrahedron completion of the known bonds."""

from __future__ import annotations

import numpy as np


def baseline_random(known: np.ndarray, n_missing: int, radius_angstrom: float, rng: np.random.Generator) -> np.ndarray:
    """No-model baseline: missing atoms at uniformly random directions, at the mean neighbour distance; (B, m, 3)."""
    directions = rng.standard_normal((known.shape[0], n_missing, 3))
    return radius_angstrom * directions / np.linalg.norm(directions, axis=-1, keepdims=True)


def baseline_mean(known: np.ndarray, n_missing: int, radius_angstrom: float) -> np.ndarray:
    """No-model baseline: every missing atom opposite the known atoms' mean vector, at the mean distance; (B, m, 3)."""
    direction = -known.mean(axis=1)
    direction /= np.maximum(np.linalg.norm(direction, axis=-1, keepdims=True), 1e-12)
    return np.repeat(radius_angstrom * direction[:, None, :], n_missing, axis=1)


def mean_environment(train_upper: np.ndarray, n_test: int) -> np.ndarray:
    """Reconstruction baseline: every test environment predicted as the training mean Gram entries; (n_test, P)."""
    return np.repeat(train_upper.mean(axis=0, keepdims=True), n_test, axis=0)


def nearest_training_environment(train_upper: np.ndarray, test_upper: np.ndarray) -> np.ndarray:
    """Reconstruction baseline: each test environment predicted as the training one with the nearest Gram entries.

    train_upper (N, P), test_upper (M, P) in any common normalisation -> (M, P) rows of train_upper.
    """
    squared = np.sum(test_upper**2, 1)[:, None] - 2 * test_upper @ train_upper.T + np.sum(train_upper**2, 1)[None]
    return train_upper[np.argmin(squared, axis=1)]


def pca_reconstruction(train_upper: np.ndarray, test_upper: np.ndarray, n_components: int) -> np.ndarray:
    """Reconstruction baseline at latent size k: projection onto the training set's top-k principal components.

    train_upper (N, P), test_upper (M, P) -> (M, P); the same k as a model's latent_dim is the fair comparison.
    """
    mean = train_upper.mean(axis=0)
    _, _, vt = np.linalg.svd(train_upper - mean, full_matrices=False)
    basis = vt[:n_components]
    return (test_upper - mean) @ basis.T @ basis + mean


IDEAL_TETRAHEDRON = np.array([[1.0, 1.0, 1.0], [1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]]) / np.sqrt(3.0)


def tetrahedral_completion(known_bonds: np.ndarray, bond_length_angstrom: float) -> np.ndarray:
    """No-model baseline for missing bonded atoms: complete the bonds to an ideal tetrahedron.

    known_bonds (B, k, 3) with 1 <= k <= 3, the known bonded neighbours in Angstrom. An ideal unit
    tetrahedron is rotated (O(3) Procrustes) so that k of its vertices lie along the known bond
    directions; its other 4 - k vertices, at ``bond_length_angstrom``, are returned, (B, 4 - k, 3).
    All vertex choices are equivalent (the tetrahedron is symmetric), so the first k are used. With
    three known bonds the missing one is opposite their sum when those three are ideal.
    """
    k = known_bonds.shape[1]
    if not 1 <= k <= 3:
        raise ValueError(f"tetrahedral completion needs 1-3 known bonds, got {k}")
    units = known_bonds / np.maximum(np.linalg.norm(known_bonds, axis=-1, keepdims=True), 1e-12)
    u, _, vt = np.linalg.svd(np.swapaxes(np.broadcast_to(IDEAL_TETRAHEDRON[:k], units.shape), -1, -2) @ units)
    rotated = IDEAL_TETRAHEDRON[k:] @ (u @ vt)
    return bond_length_angstrom * rotated


def tetrahedral_baseline(
    known: np.ndarray, n_missing: int, bond_cutoff_angstrom: float, bond_length_angstrom: float, radius_angstrom: float
) -> np.ndarray:
    """No-model inpainting that knows chemistry: missing bonds completed to a tetrahedron, the rest by the mean baseline.

    known (B, k, 3): atoms nearer than ``bond_cutoff_angstrom`` are the known bonds; 4 minus their
    number (at most ``n_missing``) missing atoms go to :func:`tetrahedral_completion` at
    ``bond_length_angstrom``, any others opposite the known atoms (:func:`baseline_mean`). (B, n_missing, 3).
    """
    predicted = baseline_mean(known, n_missing, radius_angstrom)
    bonded = np.linalg.norm(known, axis=-1) < bond_cutoff_angstrom
    for row, (atoms, is_bond) in enumerate(zip(known, bonded)):
        n_bonds = int(is_bond.sum())
        n_fill = min(4 - n_bonds, n_missing)
        if 1 <= n_bonds <= 3 and n_fill > 0:
            predicted[row, :n_fill] = tetrahedral_completion(atoms[is_bond][None], bond_length_angstrom)[0, :n_fill]
    return predicted
