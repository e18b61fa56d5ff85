"""Conditional-mean inpainting: the best-fitting candidates, found label- and rotation-free, complete the known atoms."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from matdisco.core.errors import ConfigError
from matdisco.motifs.baselines import IDEAL_TETRAHEDRON, baseline_random
from matdisco.motifs.sampling import conditional_mean_infill, matched_rmsds

BOND_ANGSTROM = 2.35


def test_recovers_the_missing_atom_of_a_perfect_tetrahedron():
    rng = np.random.default_rng(0)
    truth = BOND_ANGSTROM * IDEAL_TETRAHEDRON @ Rotation.random(random_state=1).as_matrix()
    # candidates: the tetrahedron rotated, reflected and relabelled, among environments of random directions
    rotated = np.stack(
        [
            BOND_ANGSTROM * IDEAL_TETRAHEDRON[rng.permutation(4)] @ Rotation.random(random_state=s).as_matrix()
            for s in range(5)
        ]
    )
    rotated[0] = -rotated[0]
    noise = rng.standard_normal((200, 4, 3))
    candidates = np.concatenate([noise * BOND_ANGSTROM / np.linalg.norm(noise, axis=-1, keepdims=True), rotated])
    for missing_label in range(4):
        known = np.delete(truth, missing_label, axis=0)[None]
        filled = conditional_mean_infill(known, candidates, n_best=5)
        np.testing.assert_allclose(filled["infilled"][0, 0], truth[missing_label], atol=1e-6)
        assert filled["fit"][0] == pytest.approx(0.0, abs=1e-9)


def test_beats_random_on_distorted_tetrahedra():
    rng = np.random.default_rng(0)

    def distorted(n: int) -> np.ndarray:
        rotations = Rotation.random(n, random_state=rng.integers(1 << 31)).as_matrix()
        shaken = IDEAL_TETRAHEDRON + rng.normal(scale=0.08, size=(n, 4, 3))
        return BOND_ANGSTROM * shaken @ rotations

    held_out, candidates = distorted(50), distorted(2000)
    known, missing = held_out[:, :3], held_out[:, 3:]
    predicted = conditional_mean_infill(known, candidates, n_best=20)["infilled"]
    random = baseline_random(known, 1, BOND_ANGSTROM, rng)
    assert np.median(matched_rmsds(predicted, missing)) < 0.5 * np.median(matched_rmsds(random, missing))


def test_too_many_label_choices_is_a_config_error():
    with pytest.raises(ConfigError, match="inpaint.method=optimise"):
        conditional_mean_infill(np.zeros((1, 7, 3)), np.ones((3, 8, 3)), n_best=1)
