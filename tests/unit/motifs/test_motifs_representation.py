"""The label-blind encoder, the first-shell environment under thermal noise, the tetrahedral
inpainting baseline, per-shell inpainting scores, the latent density and the novelty measure."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk

from matdisco.core.errors import ConfigError
from matdisco.motifs.baselines import IDEAL_TETRAHEDRON, tetrahedral_baseline, tetrahedral_completion
from matdisco.motifs.environments import GramNormaliser, environments, gram_upper
from matdisco.motifs.models import MotifVAE
from matdisco.motifs.sampling import latent_density
from matdisco.motifs.scoring import inpainting_scores, noise_robustness, novelty

BOND_ANGSTROM = 2.35


def _rotation(seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((3, 3)))
    return q


def _tetrahedron(seed: int) -> np.ndarray:
    """A perfect tetrahedron of bonds (4, 3) at 2.35 A in a random orientation (possibly mirrored)."""
    return BOND_ANGSTROM * IDEAL_TETRAHEDRON @ _rotation(seed)


def _rattled_diamond(seed: int) -> Atoms:
    """Diamond Si, 2x2x2 conventional cells (64 atoms), every atom moved by 0.1 A rms (breaks the distance ties)."""
    atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat((2, 2, 2))
    atoms.positions += np.random.default_rng(seed).standard_normal(atoms.positions.shape) * 0.1 / np.sqrt(3)
    return atoms


def test_invariant_encoder_ignores_within_shell_labels():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    coords = rng.standard_normal((3, 8, 3)) * 2.0
    relabelled = coords[:, [3, 1, 0, 2, 6, 7, 5, 4]]
    normaliser = GramNormaliser.fit(gram_upper(coords))
    x, y = (torch.as_tensor(normaliser.normalise(gram_upper(c)), dtype=torch.float32) for c in (coords, relabelled))
    blind = MotifVAE(36, (16,), 4, shell_sizes=(4, 4), invariant_encoder=True)
    torch.testing.assert_close(blind.encode(x)[0], blind.encode(y)[0], atol=1e-5, rtol=0)
    torch.manual_seed(0)
    sighted = MotifVAE(36, (16,), 4, shell_sizes=(4, 4))
    with torch.no_grad():
        assert float((sighted.encode(x)[0] - sighted.encode(y)[0]).abs().max()) > 1e-3
    with pytest.raises(ConfigError, match="shell_sizes"):
        MotifVAE(36, (16,), 4, invariant_encoder=True)


def test_first_shell_survives_thermal_noise_and_the_nearest_eight_do_not():
    atoms = _rattled_diamond(1)
    torch.manual_seed(0)
    results = {}
    for n, shells in ((4, (4,)), (8, (4, 4))):
        coords, _ = environments(atoms, 4.0, n)
        model = MotifVAE(n * (n + 1) // 2, (8,), 3, shell_sizes=shells, invariant_encoder=True)
        results[n] = noise_robustness(
            model, GramNormaliser.fit(gram_upper(coords)), atoms, 4.0, 0.02, np.random.default_rng(2), shells, True
        )
    first = results[4]
    assert first["input_rmsd_label_free_angstrom_p90"] < 0.04  # 0.02 A of noise, no change of membership
    assert first["output_rmsd_label_free_angstrom_p90"] < 0.04  # and the label-blind model passes it on, no more
    assert (
        results[8]["input_rmsd_label_free_angstrom_p90"] > 10 * first["input_rmsd_label_free_angstrom_p90"]
    )  # 4 of 12 second neighbours


@pytest.mark.parametrize("n_known", [1, 2, 3])
def test_tetrahedral_completion_restores_a_perfect_tetrahedron(n_known):
    bonds = _tetrahedron(3)
    completed = tetrahedral_completion(bonds[None, :n_known], BOND_ANGSTROM)[0]
    assert completed.shape == (4 - n_known, 3)
    np.testing.assert_allclose(np.linalg.norm(completed, axis=1), BOND_ANGSTROM)
    cosines = (np.vstack([bonds[:n_known], completed]) / BOND_ANGSTROM) @ (
        np.vstack([bonds[:n_known], completed]) / BOND_ANGSTROM
    ).T
    np.testing.assert_allclose(cosines[~np.eye(4, dtype=bool)], -1.0 / 3.0, atol=1e-12)  # ideal 109.47 deg everywhere
    if n_known == 3:
        np.testing.assert_allclose(completed[0], bonds[3], atol=1e-12)


def test_tetrahedral_baseline_fills_the_bond_and_places_the_rest_by_the_mean_rule():
    bonds = _tetrahedron(4)
    second = 3.8 * np.random.default_rng(5).standard_normal((2, 3))
    second /= np.linalg.norm(second, axis=1, keepdims=True) / 3.8
    known = np.vstack([bonds[:3], second])[None]  # 3 bonds + 2 second-shell atoms known
    predicted = tetrahedral_baseline(known, 2, 2.85, BOND_ANGSTROM, 3.0)
    np.testing.assert_allclose(predicted[0, 0], bonds[3], atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(predicted[0, 1]), 3.0)


def test_inpainting_scores_split_by_shell():
    truth = np.array([[[2.35, 0, 0], [0, 3.8, 0]]])
    predicted = np.array([[[0, 3.8 + 0.3, 0], [2.35 + 0.1, 0, 0]]])  # right atoms, listed in the other order
    scores = inpainting_scores(predicted, truth, np.array([[True, False]]))
    assert scores["bonded_rmsd_angstrom_median"] == pytest.approx(0.1)
    assert scores["second_shell_rmsd_angstrom_median"] == pytest.approx(0.3)
    assert scores["rmsd_angstrom_median"] == pytest.approx(np.sqrt((0.01 + 0.09) / 2))
    assert scores["bonded_n_atoms"] == 1 and scores["second_shell_n_atoms"] == 1


def test_aggregate_gaussian_density_matches_the_training_posteriors():
    torch.manual_seed(0)
    coords = np.random.default_rng(6).standard_normal((200, 4, 3)) * 2.0
    upper = gram_upper(coords)
    normaliser = GramNormaliser.fit(upper)
    model = MotifVAE(10, (8,), 2)
    density = latent_density(model, normaliser, upper, "aggregate_gaussian")
    with torch.no_grad():
        mu, logvar = model.encode(torch.as_tensor(normaliser.normalise(upper), dtype=torch.float32))
    np.testing.assert_allclose(density.mean, mu.double().numpy().mean(0), atol=1e-6)
    expected = np.cov(mu.double().numpy(), rowvar=False) + np.diag(logvar.exp().double().numpy().mean(0))
    np.testing.assert_allclose(density.covariance, expected, atol=1e-6)
    draws = density.draw(20000, np.random.default_rng(7))
    np.testing.assert_allclose(np.cov(draws, rowvar=False), expected, atol=0.1 * np.abs(expected).max())
    standard = latent_density(model, normaliser, upper, "standard_normal")
    assert (
        standard.kind == "standard_normal"
        and np.array_equal(standard.covariance, np.eye(2))
        and not standard.mean.any()
    )
    with pytest.raises(ConfigError, match="latent_density"):
        latent_density(model, normaliser, upper, "flow")


def test_novelty_tells_copies_from_new_environments():
    rng = np.random.default_rng(8)
    train = rng.standard_normal((300, 4, 3)) * 2.0
    held_out = rng.standard_normal((100, 4, 3)) * 2.0
    copies = train[rng.choice(300, 100)][:, [2, 0, 3, 1]] @ _rotation(
        9
    )  # relabelled, rotated copies of training environments
    memorised = novelty(copies, train, held_out, (4,))
    assert memorised["sample_to_train_angstrom_median"] < 1e-6 and memorised["fraction_near_copies"] == 1.0
    fresh = novelty(rng.standard_normal((100, 4, 3)) * 2.0, train, held_out, (4,))
    assert 0.7 < fresh["ratio_of_medians"] < 1.4 and fresh["fraction_near_copies"] < 0.3


class _ConstantDecoder(torch.nn.Module):
    """Decodes every latent point to the same normalised Gram entries (a decoder that chose its own labels)."""

    def __init__(self, entries: np.ndarray):
        super().__init__()
        self.entries = torch.as_tensor(entries, dtype=torch.float32)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.entries.expand(len(z), -1) + 0.0 * z.sum(dim=1, keepdim=True)


def test_inpainting_follows_the_labels_a_shell_loss_decoder_chose():
    from matdisco.motifs.sampling import InpaintSettings, inpaint

    truth = _tetrahedron(10) + 0.4 * np.random.default_rng(10).standard_normal(
        (4, 3)
    )  # no symmetry: every labelling differs
    normaliser = GramNormaliser(30.0, 5.0, -1.0, 2.0, 4)
    model = MotifVAE(10, (8,), 2, shell_sizes=(4,), invariant_encoder=True)
    model.decoder = _ConstantDecoder(normaliser.normalise(gram_upper(truth[[2, 3, 0, 1]])))  # the truth, relabelled
    filled = inpaint(
        model,
        normaliser,
        truth[None, [0, 1, 3]],
        InpaintSettings(steps=2, n_restarts=1, prior_weight=0.0),
        np.random.default_rng(11),
    )
    assert filled["known_rmsd"][0] < 1e-4
    np.testing.assert_allclose(filled["infilled"][0, 0], truth[2], atol=1e-4)
