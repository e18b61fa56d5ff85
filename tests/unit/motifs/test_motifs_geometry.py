"""Gram -> coordinates round trip, Procrustes under SO(3) and O(3), Hungarian matching (float64)."""

import numpy as np
import pytest

from matdisco.motifs.environments import gram_full, gram_upper
from matdisco.motifs.geometry import (
    aligned_rmsd,
    coordinates_from_gram,
    hungarian_match,
    matched_aligned_rmsd,
    matched_rmsd,
    procrustes,
)


def random_orthogonal(rng: np.random.Generator, n: int, reflect: bool) -> np.ndarray:
    """n random 3x3 orthogonal matrices with det -1 if ``reflect`` else +1."""
    q, r = np.linalg.qr(rng.standard_normal((n, 3, 3)))
    q = q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]
    q[np.linalg.det(q) < 0, :, 0] *= -1
    if reflect:
        q[:, :, 0] *= -1
    return q


@pytest.mark.parametrize("reflect", [False, True])
def test_gram_to_coordinates_round_trip(reflect):
    rng = np.random.default_rng(0)
    coords = 3.0 * rng.standard_normal((200, 8, 3))
    transformed = coords @ random_orthogonal(rng, 200, reflect)
    decoded, discarded = coordinates_from_gram(gram_full(gram_upper(transformed)))
    assert np.max(discarded) < 1e-12
    assert np.max(aligned_rmsd(decoded, coords, proper=False)) < 1e-6
    assert np.allclose(gram_upper(decoded), gram_upper(coords), atol=1e-9)


def test_kabsch_cannot_undo_a_reflection_but_o3_can():
    rng = np.random.default_rng(1)
    coords = 2.5 * rng.standard_normal((50, 8, 3))
    rotated = coords @ random_orthogonal(rng, 50, reflect=False)
    mirrored = coords @ random_orthogonal(rng, 50, reflect=True)
    assert np.max(aligned_rmsd(rotated, coords, proper=True)) < 1e-9
    assert np.max(aligned_rmsd(mirrored, coords, proper=False)) < 1e-9
    assert np.min(aligned_rmsd(mirrored, coords, proper=True)) > 0.1
    assert np.allclose(np.linalg.det(procrustes(mirrored, coords, proper=True)), 1.0)


def test_negative_spectrum_is_clipped_and_reported():
    rng = np.random.default_rng(2)
    noise = rng.standard_normal((8, 8))
    coords, discarded = coordinates_from_gram(-(noise @ noise.T))
    assert np.allclose(coords, 0.0)
    assert discarded == pytest.approx(1.0)


def test_hungarian_recovers_a_shuffle():
    rng = np.random.default_rng(3)
    targets = 3.0 * rng.standard_normal((6, 3))
    order = rng.permutation(6)
    shuffled = targets[order]
    assert np.allclose(shuffled[hungarian_match(shuffled, targets)], targets)
    assert matched_rmsd(shuffled, targets) < 1e-12


def test_relabelled_rmsd_undoes_a_swap_and_a_reflection():
    rng = np.random.default_rng(4)
    coords = 3.0 * rng.standard_normal((8, 3))
    swapped = (coords @ random_orthogonal(rng, 1, reflect=True)[0])[[1, 0, 2, 3, 4, 5, 6, 7]]
    assert aligned_rmsd(swapped, coords, proper=False) > 0.1
    assert matched_aligned_rmsd(swapped, coords) < 1e-9
