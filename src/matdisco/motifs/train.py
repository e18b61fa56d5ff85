"""``motifs_train``: fit the VAE (``conf/model/motifs_vae.yaml``) on augmented training Gram entries,
normalised with training statistics. Artifacts: ``models/motifs/vae.ckpt`` (weights +
hyper-parameters + normaliser), ``models/motifs/normaliser.json``, ``metrics/motifs/train.json``.
"""

from __future__ import annotations

import time

from omegaconf import DictConfig

from matdisco.core.config import artifact
from matdisco.core.io import atomic_write_json
from matdisco.core.provenance import run_metadata
from matdisco.core.training import fit, save_module
from matdisco.motifs import keys
from matdisco.motifs.data import (
    FAMILY,
    GramDataModule,
    environments_path,
    load_environments,
    model_path,
    out_parts,
    split_rows,
)
from matdisco.motifs.environments import GramNormaliser
from matdisco.motifs.models import build_module


def train(cfg: DictConfig) -> dict:
    """Fit the VAE on augmented training Gram entries (normalised with training statistics), save it."""
    arrays = load_environments(cfg)
    train_gram = arrays[keys.TRAIN_AUG_GRAM]
    normaliser = GramNormaliser.fit(arrays[keys.GRAM][split_rows(arrays, "train")])
    val_gram = arrays[keys.GRAM][split_rows(arrays, "val")]
    module = build_module(cfg.model, train_gram.shape[1], normaliser)
    datamodule = GramDataModule(
        normaliser.normalise(train_gram), normaliser.normalise(val_gram), cfg.model.training.batch_size, int(cfg.seed)
    )
    start = time.perf_counter()
    final = fit(
        cfg,
        module,
        datamodule,
        artifact(cfg, "logs", *out_parts(cfg)),
        "motifs_vae",
        run_metadata(cfg, [environments_path(cfg)]),
        group=FAMILY,
    )
    train_time_s = time.perf_counter() - start
    save_module(model_path(cfg), module)
    atomic_write_json(artifact(cfg, "models", *out_parts(cfg), "normaliser.json"), normaliser.to_dict())
    metrics = {
        "train_time_s": train_time_s,
        "epochs": int(module.current_epoch),
        "n_train_rows": int(len(train_gram)),
        "n_parameters": int(sum(p.numel() for p in module.parameters())),
        **final,
    }
    atomic_write_json(artifact(cfg, "metrics", *out_parts(cfg), "train.json"), metrics)
    return {"model": str(model_path(cfg)), "objective": final.get("val/loss"), **metrics}
