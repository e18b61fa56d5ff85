"""``motifs_evaluate``: reconstruction on held-out cells (Gram MSE, RMSD under O(3) and under
rotations only; label-free and per shell next to the baselines), samples from the configured latent
density and from N(0, 1) against held-out MD (Wasserstein-1, validity, novelty), noise robustness, latent plot.
With ``data.evaluate.cell_folds``, also the cell-level cross-validation of the reconstruction
comparison (:mod:`matdisco.motifs.folds`).
Artifacts: ``metrics/motifs/evaluate.json``, ``plots/motifs/{distances,angles,latent,reconstruction}.png``,
``results/motifs/cell_folds.md``.
"""

from __future__ import annotations

import time

import numpy as np
from ase.io import read
from omegaconf import DictConfig

from matdisco.core.config import artifact, require
from matdisco.core.io import atomic_write_json
from matdisco.core.plots import histogram_comparison
from matdisco.motifs import keys
from matdisco.motifs.data import cells_dir, load_environments, model_path, out_parts, split_rows
from matdisco.motifs.environments import GramNormaliser, gram_full, gram_upper
from matdisco.motifs.figures import latent_figure
from matdisco.motifs.folds import fold_rmsds, fold_summary, write_fold_table
from matdisco.motifs.geometry import coordinates_from_gram
from matdisco.motifs.models import MotifVAE, load_trained
from matdisco.motifs.sampling import LatentDensity, encode_mean, latent_density
from matdisco.motifs.scoring import (
    centre_angles,
    distribution_metrics,
    flat_metrics,
    neighbour_distances,
    noise_robustness,
    novelty,
    reconstruction_comparison,
    reconstruction_errors,
    sampled_grams,
    validity,
)


def evaluate(cfg: DictConfig) -> dict:
    """Reconstruction on held-out cells, sample distributions against MD, validity, latent plot."""
    ev = cfg.data.evaluate
    arrays = load_environments(cfg)
    model, normaliser = load_trained(model_path(cfg), int(cfg.data.n_neighbours))
    test = split_rows(arrays, "test")
    coords, gram = arrays[keys.COORDS][test], arrays[keys.GRAM][test]
    restore = bool(cfg.data.restore_norms)
    cutoff = float(ev.bond_cutoff_angstrom)
    reconstruction, rmsds = reconstruction_errors(model, normaliser, coords, gram, restore)
    histogram_comparison(
        artifact(cfg, "plots", *out_parts(cfg), "reconstruction.png"),
        rmsds,
        "reconstruction RMSD (Angstrom)",
        title="held-out environments",
    )
    train = split_rows(arrays, "train")
    train_coords = arrays[keys.COORDS][train]
    shells = tuple(int(k) for k in ev.shell_sizes)
    densities = {
        keys.SAMPLES: latent_density(model, normaliser, arrays[keys.GRAM][train], str(ev.latent_density)),
        keys.SAMPLES_STANDARD_NORMAL: LatentDensity.standard_normal(int(model.hparams.latent_dim)),
    }
    decoded, sampled = {}, {}
    for name, density in densities.items():
        grams = sampled_grams(model, normaliser, density, int(ev.n_samples), int(cfg.seed))
        decoded[name], discarded = coordinates_from_gram(grams, restore_norms=restore)
        sampled[name] = sample_metrics(
            density.kind,
            int(ev.n_samples),
            distribution_metrics(decoded[name], coords, cutoff),
            validity(decoded[name], grams, discarded, ev),
            novelty(decoded[name], train_coords, coords, shells),
        )
    noise = _test_cell_robustness(cfg, model, normaliser, arrays)
    comparison = reconstruction_comparison(model, normaliser, arrays[keys.GRAM][train], coords, gram, ev, restore)
    metrics = evaluate_metrics(
        decoding="restore_norms" if restore else "spectral",
        reconstruction=reconstruction,
        samples=sampled[keys.SAMPLES],
        samples_standard_normal=sampled[keys.SAMPLES_STANDARD_NORMAL],
        noise_robustness=noise,
        reconstruction_vs_baselines=comparison,
        cell_folds=_cell_folds(cfg, arrays, model) if bool(ev.cell_folds) else None,
        md_train_vs_test=distribution_metrics(train_coords, coords, cutoff),
        md_test_validity=validity(coords, gram_full(gram), np.zeros(len(coords)), ev),
    )
    _evaluation_plots(cfg, model, normaliser, decoded[keys.SAMPLES], coords)
    atomic_write_json(artifact(cfg, "metrics", *out_parts(cfg), "evaluate.json"), metrics)
    objective = comparison["model"]["rmsd_label_free_all_angstrom_median"]
    return {"objective": objective, **flat_metrics(metrics)}


def sample_metrics(latent_density: str, n_samples: int, distribution: dict, validity: dict, novelty: dict) -> dict:
    """One set of samples in metrics/motifs/evaluate.json: the latent density it was drawn from, how many, its
    distances to held-out MD (:func:`~matdisco.motifs.scoring.distribution_metrics`), validity and novelty."""
    return {
        keys.LATENT_DENSITY: latent_density,
        keys.N_SAMPLES: n_samples,
        **distribution,
        **validity,
        keys.NOVELTY: novelty,
    }


def evaluate_metrics(
    *,
    decoding: str,
    reconstruction: dict,
    samples: dict,
    samples_standard_normal: dict,
    noise_robustness: dict,
    reconstruction_vs_baselines: dict,
    cell_folds: dict | None,
    md_train_vs_test: dict,
    md_test_validity: dict,
) -> dict:
    """The layout of metrics/motifs/evaluate.json (the one place it is built; the results page,
    :mod:`matdisco.motifs.page`, reads it); the samples from :func:`sample_metrics`, ``cell_folds`` left out
    when not run (None)."""
    metrics = {
        keys.DECODING: decoding,
        keys.RECONSTRUCTION: reconstruction,
        keys.SAMPLES: samples,
        keys.SAMPLES_STANDARD_NORMAL: samples_standard_normal,
        keys.NOISE_ROBUSTNESS: noise_robustness,
        keys.RECONSTRUCTION_VS_BASELINES: reconstruction_vs_baselines,
    }
    if cell_folds is not None:
        metrics[keys.CELL_FOLDS] = cell_folds
    return {**metrics, keys.MD_TRAIN_VS_TEST: md_train_vs_test, keys.MD_TEST_VALIDITY: md_test_validity}


def _cell_folds(cfg: DictConfig, arrays: dict, model: MotifVAE) -> dict:
    """Cell-level cross-validation of the reconstruction comparison (:mod:`matdisco.motifs.folds`) with VAEs like
    ``model`` (batch size ``model.training.batch_size``, so the step runs with ``model=motifs_vae``), table, time."""
    require(cfg, "model.training.batch_size")
    start = time.perf_counter()
    rmsds, cells = fold_rmsds(cfg, arrays, model, int(cfg.model.training.batch_size))
    summary = fold_summary(rmsds, cells, int(cfg.data.evaluate.n_bootstrap), int(cfg.seed))
    table = write_fold_table(
        artifact(cfg, "results", *out_parts(cfg), "cell_folds.md"), summary, arrays[keys.CELL_NAMES]
    )
    return {**summary, "table": str(table), "time_s": time.perf_counter() - start}


def _test_cell_robustness(cfg: DictConfig, model: MotifVAE, normaliser: GramNormaliser, arrays: dict) -> dict:
    """:func:`~matdisco.motifs.scoring.noise_robustness` on the first held-out cell (``data.evaluate.noise_angstrom``)."""
    ev = cfg.data.evaluate
    first_test = int(arrays[keys.CELL][split_rows(arrays, "test")][0])
    atoms = read(cells_dir(cfg) / str(arrays[keys.CELL_NAMES][first_test]))
    rng = np.random.default_rng(int(cfg.seed))
    return noise_robustness(
        model,
        normaliser,
        atoms,
        float(cfg.data.r_cut_angstrom),
        float(ev.noise_angstrom),
        rng,
        tuple(int(k) for k in ev.shell_sizes),
        bool(cfg.data.restore_norms),
    )


def _evaluation_plots(
    cfg: DictConfig, model: MotifVAE, normaliser: GramNormaliser, samples: np.ndarray, coords: np.ndarray
) -> None:
    """Distance and angle histograms (samples vs held-out MD) and the latent-space scatter."""
    histogram_comparison(
        artifact(cfg, "plots", *out_parts(cfg), "distances.png"),
        {"held-out MD": neighbour_distances(coords), "VAE samples": neighbour_distances(samples)},
        "centre-neighbour distance (Angstrom)",
    )
    histogram_comparison(
        artifact(cfg, "plots", *out_parts(cfg), "angles.png"),
        {"held-out MD": centre_angles(coords), "VAE samples": centre_angles(samples)},
        "neighbour-centre-neighbour angle (degrees)",
    )
    z = encode_mean(model, normaliser, gram_upper(coords))
    centred = z - z.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    cn = np.sum(np.linalg.norm(coords, axis=-1) < float(cfg.data.evaluate.bond_cutoff_angstrom), axis=1)
    latent_figure(artifact(cfg, "plots", *out_parts(cfg), "latent.png"), centred @ vt[:2].T, cn, "centre coordination")
