"""``make bench`` for the motifs family: environments generated per second (decode + coordinates)
against MD seconds per environment, and the VAE's training time per epoch."""

from __future__ import annotations

import json
import time

import numpy as np
from omegaconf import DictConfig, OmegaConf

from matdisco.core.config import artifact, compose
from matdisco.core.training import build_trainer
from matdisco.motifs.data import FAMILY, GramDataModule
from matdisco.motifs.environments import GramNormaliser, augment, environments
from matdisco.motifs.md import melt_quench
from matdisco.motifs.models import MotifVAE, build_module
from matdisco.motifs.sampling import LatentDensity, sample
from matdisco.motifs.simulate import protocol


def bench(cfg: DictConfig) -> dict:
    """Environments generated per second (decode + coordinates) vs MD seconds per environment; training time.

    Runs one cell of ``md_full`` (the honest MD cost), trains the configured VAE for a few epochs
    on its environments, and times decoding of 10,000 samples; adds the pipeline's recorded MD
    and training times when their metrics files exist.
    """
    cfg = _bench_config(cfg)
    rng = np.random.default_rng(int(cfg.seed))
    atoms, md_info = melt_quench(protocol(cfg.simulate), int(rng.integers(1, 2**31 - 1)))
    md_s = md_info["wall_s"]
    coords, counts = environments(atoms, float(cfg.data.r_cut_angstrom), int(cfg.data.n_neighbours))
    grams, _, _ = augment(coords[counts >= int(cfg.data.n_neighbours)], int(cfg.data.n_permutations), rng)
    normaliser = GramNormaliser.fit(grams)
    module = build_module(cfg.model, grams.shape[1], normaliser)
    epoch_s = _time_epochs(cfg, module, normaliser.normalise(grams), n_epochs=5)
    per_second = _decode_rate(module.eval(), normaliser, rng, n_samples=10000)
    results = {
        "md_cell_wall_s": md_s,
        "md_cell_cpu_s": md_info["cpu_s"],
        "md_atoms": len(atoms),
        "md_s_per_environment": md_s / len(atoms),
        "md_cpu_s_per_environment": md_info["cpu_s"] / len(atoms),
        "generated_environments_per_s": per_second,
        "speedup_vs_md": per_second * md_s / len(atoms),
        "train_s_per_epoch": epoch_s,
        "train_rows": int(len(grams)),
    }
    results.update(_recorded_times(cfg))
    return results


def _bench_config(cfg: DictConfig) -> DictConfig:
    """``cfg`` with the motifs options (md_full, motifs, motifs_vae) composed in when it lacks them."""
    motifs = compose(["simulate=md_full", "data=motifs", "model=motifs_vae"])
    merged = cfg.copy()
    OmegaConf.set_struct(merged, False)
    for group in ("simulate", "data", "model"):
        if merged.get(group) is None or merged[group].get("family") != FAMILY:
            merged[group] = motifs[group]
    return merged


def _time_epochs(cfg: DictConfig, module: MotifVAE, rows: np.ndarray, n_epochs: int) -> float:
    """Seconds per training epoch over ``rows`` (N, P) with the configured batch size (no loggers)."""
    run_cfg = cfg.copy()
    OmegaConf.set_struct(run_cfg, False)
    run_cfg.trainer.update({"max_epochs": n_epochs, "early_stopping_patience": None, "enable_progress_bar": False})
    trainer = build_trainer(run_cfg.trainer, loggers=[])
    start = time.perf_counter()
    trainer.fit(module, datamodule=GramDataModule(rows, rows[:256], cfg.model.training.batch_size, int(cfg.seed)))
    return (time.perf_counter() - start) / n_epochs


def _decode_rate(model: MotifVAE, normaliser: GramNormaliser, rng: np.random.Generator, n_samples: int) -> float:
    """Environments per second for sampling z, decoding and Gram -> coordinates (best of 3)."""
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        sample(model, normaliser, LatentDensity.standard_normal(int(model.hparams.latent_dim)), n_samples, rng)
        best = min(best, time.perf_counter() - start)
    return n_samples / best


def _recorded_times(cfg: DictConfig) -> dict:
    """MD seconds per environment and training time recorded by the last pipeline run, if any."""
    recorded = {}
    structure = artifact(cfg, "metrics", FAMILY, "structure.json")
    if structure.is_file():
        timing = json.loads(structure.read_text())["timing"]
        recorded["pipeline_md_wall_s_per_environment"] = timing["wall_s"] / timing["n_atoms_total"]
    trained = artifact(cfg, "metrics", FAMILY, "train.json")
    if trained.is_file():
        recorded["pipeline_train_time_s"] = json.loads(trained.read_text())["train_time_s"]
    return recorded
