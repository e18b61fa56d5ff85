"""Label-free RMSD, the within-shell permutation-invariant loss, noise robustness and reconstruction baselines."""

from __future__ import annotations

import numpy as np
import torch
from ase import Atoms
from ase.build import bulk

from matdisco.motifs.baselines import mean_environment, nearest_training_environment, pca_reconstruction
from matdisco.motifs.environments import GramNormaliser, entry_permutations, environments, gram_upper
from matdisco.motifs.geometry import fixed_label_shell_rmsd, label_free_rmsd, shell_permutations
from matdisco.motifs.models import MotifVAE, reconstruction_mse
from matdisco.motifs.scoring import noise_robustness

SHELLS = (4, 4)


def _environment(rng: np.random.Generator) -> np.ndarray:
    """One environment (8, 3): 4 atoms near 2.35 A, 4 near 3.8 A, in random directions."""
    directions = rng.standard_normal((8, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    return directions * np.r_[np.full(4, 2.35), np.full(4, 3.8)][:, None]


def _rotation(rng: np.random.Generator) -> np.ndarray:
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    return q


def test_shell_permutations_count_and_identity_first():
    perms = shell_permutations(SHELLS)
    assert perms.shape == (576, 8)
    np.testing.assert_array_equal(perms[0], np.arange(8))
    assert set(map(tuple, np.sort(perms[:, :4], axis=1))) == {(0, 1, 2, 3)}


def test_label_free_rmsd_invariant_under_relabelling_and_rotation():
    rng = np.random.default_rng(0)
    truth = _environment(rng)[None]
    other = _environment(rng)[None]
    perm = np.r_[rng.permutation(4), 4 + rng.permutation(4)]
    moved = other[:, perm] @ _rotation(rng)
    base, base_shell = label_free_rmsd(other, truth, SHELLS)
    value, value_shell = label_free_rmsd(moved, truth, SHELLS)
    np.testing.assert_allclose(value, base, atol=1e-12)
    np.testing.assert_allclose(value_shell, base_shell, atol=1e-12)
    exact, _ = label_free_rmsd(truth[:, perm] @ _rotation(rng), truth, SHELLS)
    assert exact[0] < 1e-12
    fixed, _ = fixed_label_shell_rmsd(truth[:, perm], truth, SHELLS)
    assert fixed[0] > 0.5


def test_permutation_invariant_loss_zero_on_relabelled_and_positive_otherwise():
    rng = np.random.default_rng(1)
    truth = _environment(rng)
    perm = np.array([2, 0, 3, 1, 7, 5, 4, 6])
    entries = torch.as_tensor(entry_permutations(shell_permutations(SHELLS)))
    target = torch.as_tensor(gram_upper(truth)[None])
    relabelled = torch.as_tensor(gram_upper(truth[perm])[None])
    assert float(reconstruction_mse(relabelled, target, entries)[0]) < 1e-20
    assert float(reconstruction_mse(relabelled, target, None)[0]) > 1.0
    cross_shell = torch.as_tensor(gram_upper(truth[[4, 1, 2, 3, 0, 5, 6, 7]])[None])
    assert float(reconstruction_mse(cross_shell, target, entries)[0]) > 1.0
    distorted = torch.as_tensor(gram_upper(truth[perm] * 1.05)[None])
    assert float(reconstruction_mse(distorted, target, entries)[0]) > 0.0


def test_entry_permutations_match_relabelled_gram():
    rng = np.random.default_rng(2)
    coords = _environment(rng)
    perms = shell_permutations(SHELLS)[[5, 300, 575]]
    for perm, entries in zip(perms, entry_permutations(perms)):
        np.testing.assert_allclose(gram_upper(coords)[entries], gram_upper(coords[perm]))


def _diamond() -> Atoms:
    """Conventional diamond-Si cell repeated 2x2x2 (64 atoms), lattice 5.431 A."""
    return bulk("Si", "diamond", a=5.431, cubic=True).repeat((2, 2, 2))


def test_noise_robustness_zero_without_noise_and_small_with_it():
    torch.manual_seed(0)
    atoms = _diamond()
    rng = np.random.default_rng(3)
    atoms.positions += rng.standard_normal(atoms.positions.shape) * 0.1  # break the exact distance ties
    coords, _ = environments(atoms, 4.0, 8)
    normaliser = GramNormaliser.fit(gram_upper(coords))
    model = MotifVAE(input_dim=36, hidden_dims=(8,), latent_dim=4, shell_sizes=SHELLS)
    quiet = noise_robustness(model, normaliser, atoms, 4.0, 0.0, np.random.default_rng(4), SHELLS, restore_norms=True)
    assert quiet["input_gram_mse_normalised_mean"] == 0.0 and quiet["output_rmsd_label_free_angstrom_median"] < 1e-6
    assert quiet["fraction_relabelled"] == 0.0 and quiet["input_rmsd_label_free_angstrom_median"] < 1e-12
    noisy = noise_robustness(model, normaliser, atoms, 4.0, 0.02, np.random.default_rng(4), SHELLS, restore_norms=True)
    assert 0.0 < noisy["input_gram_mse_normalised_median"]
    assert 0.005 < noisy["input_rmsd_label_free_angstrom_median"] < 0.05  # the noise itself, relabellings removed
    assert 0.0 <= noisy["fraction_relabelled"] <= 1.0


def test_reconstruction_baselines_known_answers():
    train = np.array([[0.0, 0.0], [2.0, 0.0], [4.0, 0.0]])
    test = np.array([[1.9, 0.3], [-1.0, 0.0]])
    np.testing.assert_allclose(mean_environment(train, 2), [[2.0, 0.0], [2.0, 0.0]])
    np.testing.assert_allclose(nearest_training_environment(train, test), [[2.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(pca_reconstruction(train, test, 1), [[1.9, 0.0], [-1.0, 0.0]])
    np.testing.assert_allclose(pca_reconstruction(train, test, 2), test)
