"""A tiny VAE trains on rattled-diamond environments and its inpainting beats the no-model baselines."""

import numpy as np
import pytest
import torch
from ase.build import bulk

from matdisco.core.errors import ConfigError
from matdisco.core.seeding import seed_everything
from matdisco.core.training import build_trainer
from matdisco.motifs.baselines import baseline_mean, baseline_random
from matdisco.motifs.data import GramDataModule
from matdisco.motifs.environments import GramNormaliser, augment, environments
from matdisco.motifs.models import build_module
from matdisco.motifs.sampling import InpaintSettings, LatentDensity, inpaint, matched_rmsds, sample, split_known


def rattled_environments(seed: int, n_cells: int) -> np.ndarray:
    """Environments (N, 8, 3) of diamond Si cells (64 atoms) with 0.1 A Gaussian displacements."""
    rng = np.random.default_rng(seed)
    parts = []
    for _ in range(n_cells):
        cell = bulk("Si", "diamond", a=5.431, cubic=True).repeat(2)
        cell.positions += rng.normal(scale=0.1, size=cell.positions.shape)
        parts.append(environments(cell, 4.0, 8)[0])
    return np.concatenate(parts)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(model, normaliser, held-out environments) of a VAE trained for a few seconds."""
    from matdisco.core.config import compose

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny MLP: one thread is fastest on busy cores
    seed_everything(0)
    cfg = compose(
        [
            "experiment=motifs_talk",
            "trainer.max_epochs=25",
            "trainer.enable_progress_bar=false",
            "model.beta_warmup_epochs=5",
            "model.lr=0.003",
            "paths.allow_outside_project=true",
            f"paths.logs={tmp_path_factory.mktemp('logs')}",
        ]
    )
    grams, _, _ = augment(rattled_environments(0, 12), 4, np.random.default_rng(0))
    normaliser = GramNormaliser.fit(grams)
    model = build_module(cfg.model, grams.shape[1], normaliser)
    rows = normaliser.normalise(grams)
    data = GramDataModule(rows, rows[:512], batch_size=128, seed=0)
    before = mean_reconstruction_mse(model, rows)
    build_trainer(cfg.trainer, loggers=[]).fit(model, datamodule=data)
    model.eval()
    yield model, normaliser, rattled_environments(1, 2), (before, mean_reconstruction_mse(model, rows))
    torch.set_num_threads(threads)


def mean_reconstruction_mse(model, rows: np.ndarray) -> float:
    """MSE of decode(posterior mean) against normalised rows (N, P)."""
    with torch.no_grad():
        x = torch.as_tensor(rows, dtype=torch.float32)
        return float(torch.mean((model.decode(model.encode(x)[0]) - x) ** 2))


def test_tiny_vae_trains(trained):
    model, normaliser, held_out, (before, after) = trained
    assert after < 0.8 * before
    coords, discarded = sample(model, normaliser, LatentDensity.standard_normal(8), 100, np.random.default_rng(0))
    assert coords.shape == (100, 8, 3) and np.all(np.isfinite(coords))
    assert model.hparams.normaliser == normaliser.to_dict()


def test_inpainting_beats_baselines(trained):
    model, normaliser, held_out, _ = trained
    rng = np.random.default_rng(0)
    known, missing, _ = split_known(held_out[:60], 7, rng)
    filled = inpaint(model, normaliser, known, InpaintSettings(steps=100, lr=0.05, n_restarts=1), rng)
    radius = float(np.linalg.norm(held_out, axis=-1).mean())
    model_rmsd = np.median(matched_rmsds(filled["infilled"], missing))
    assert model_rmsd < np.median(matched_rmsds(baseline_random(known, 1, radius, rng), missing))
    assert model_rmsd < np.median(matched_rmsds(baseline_mean(known, 1, radius), missing))


def perfect_diamond_environment() -> np.ndarray:
    """The 8 nearest neighbours (8, 3) of an atom of ideal diamond Si: 4 bonds (2.35 A), 4 second neighbours."""
    return environments(bulk("Si", "diamond", a=5.431, cubic=True).repeat(2), 4.0, 8)[0][:1]


def test_tetrahedral_start_is_the_missing_bond_of_a_perfect_tetrahedron():
    coords = perfect_diamond_environment()
    known, missing = np.delete(coords, 2, axis=1), coords[:, 2:3]
    settings = InpaintSettings(start="tetrahedral", bond_length_angstrom=5.431 * np.sqrt(3) / 4, radius_angstrom=3.0)
    np.testing.assert_allclose(settings.missing_start(known, 1), missing, atol=1e-9)
    assert InpaintSettings().missing_start(known, 1) is None


def test_tetrahedral_start_inpainting_beats_random(trained):
    model, normaliser, held_out, _ = trained
    rng = np.random.default_rng(0)
    settings = InpaintSettings(
        steps=20, n_restarts=1, start="tetrahedral", bond_length_angstrom=5.431 * np.sqrt(3) / 4, radius_angstrom=3.0
    )
    known, missing, _ = split_known(held_out[:60], 7, rng)
    model_rmsd = np.median(matched_rmsds(inpaint(model, normaliser, known, settings, rng)["infilled"], missing))
    assert model_rmsd < np.median(matched_rmsds(baseline_random(known, 1, 3.0, rng), missing))


def test_unknown_inpainting_start_is_a_config_error():
    with pytest.raises(ConfigError, match="data.generate.inpaint.start"):
        InpaintSettings(start="zeros")
