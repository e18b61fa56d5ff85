"""The no-model predictors every result is reported against. Inpainting and vacancies: missing atoms
placed at the mean neighbour distance, in random directions or opposite the known atoms.
Reconstruction (on Gram entries (N, P)): the mean environment, the nearest training environment,
and PCA with as many components as the model has latent dimensions."""

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
    squared = (np.sum(test_upper**2, 1)[:, None] - 2 * test_upper @ train_upper.T + np.sum(train_upper**2, 1)[None])
    return train_upper[np.argmin(squared, axis=1)]


def pca_reconstruction(train_upper: np.ndarray, test_upper: np.ndarray, n_components: int) -> np.ndarray:
    """Reconstruction baseline at latent size k: projection onto the training set's top-k principal components.

    train_upper (N, P), test_upper (M, P) -> (M, P); the same k as a model's latent_dim is the fair comparison.
    """
    mean = train_upper.mean(axis=0)
    _, _, vt = np.linalg.svd(train_upper - mean, full_matrices=False)
    basis = vt[:n_components]
    return (test_upper - mean) @ basis.T @ basis + mean
