"""The no-model predictors every inpainting and vacancy result is reported against: missing atoms
placed at the mean neighbour distance, in random directions or opposite the known atoms."""

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
