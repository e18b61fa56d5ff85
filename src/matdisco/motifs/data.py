"""The motifs artifacts as inputs: where the cells, environments and model live, the extracted
arrays (fields in :mod:`matdisco.motifs.keys`), their splits, and the LightningDataModule of Gram entries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig
from torch.utils.data import DataLoader, TensorDataset

from matdisco.core.config import artifact
from matdisco.core.errors import InputError
from matdisco.motifs import keys

FAMILY = "motifs"


def out_parts(cfg: DictConfig) -> tuple[str, ...]:
    """Folder names of this data option's artifacts under each ``paths.*`` folder: ``("motifs",)``, or
    ``("motifs", <data.variant>)`` for a variant such as the talk's setting (the cells stay shared)."""
    variant = str(cfg.data.get("variant") or "")
    return (FAMILY, variant) if variant else (FAMILY,)


def cells_dir(cfg: DictConfig) -> Path:
    """Folder of the simulated (or imported) cells."""
    return artifact(cfg, "processed", FAMILY, "cells")


def environments_path(cfg: DictConfig) -> Path:
    """The extracted environments (npz)."""
    return artifact(cfg, "processed", *out_parts(cfg), "environments.npz")


def model_path(cfg: DictConfig) -> Path:
    """The trained VAE checkpoint."""
    return artifact(cfg, "models", *out_parts(cfg), "vae.ckpt")


def cell_files(cfg: DictConfig) -> list[Path]:
    """Sorted cell files written by :func:`simulate`; an error if there are none."""
    files = sorted(cells_dir(cfg).glob("*.extxyz"))
    if not files:
        raise InputError("no cells found", str(cells_dir(cfg)), "cell_*.extxyz written by the simulate step")
    return files


def load_environments(cfg: DictConfig) -> dict[str, np.ndarray]:
    """Arrays written by :func:`extract` (see :mod:`matdisco.motifs.keys`)."""
    path = environments_path(cfg)
    if not path.is_file():
        raise InputError("environments file does not exist", str(path), "the output of the extract step")
    with np.load(path) as npz:
        arrays = {name: npz[name] for name in npz.files}
    n_stored, n_config = int(arrays[keys.COORDS].shape[1]), int(cfg.data.n_neighbours)
    if n_stored != n_config:
        raise InputError(
            f"environments hold {n_stored} neighbours, but data.n_neighbours is {n_config}",
            str(path),
            "environments extracted with the same data settings (run the extract step with them first)",
        )
    return arrays


def split_rows(arrays: dict, name: str) -> np.ndarray:
    """Row indices of the environments in split ``name`` (train, val, test)."""
    return np.flatnonzero(arrays[keys.SPLIT] == keys.SPLITS[name])


class GramDataModule(pl.LightningDataModule):
    """Training and validation loaders over normalised Gram entries (float32 tensors (N, P))."""

    def __init__(self, train: np.ndarray, val: np.ndarray, batch_size: int, seed: int):
        super().__init__()
        self.train_set = TensorDataset(torch.as_tensor(train, dtype=torch.float32))
        self.val_set = TensorDataset(torch.as_tensor(val, dtype=torch.float32))
        self.batch_size = int(batch_size)
        self.seed = int(seed)

    def train_dataloader(self) -> DataLoader:
        """Shuffled (seeded) training batches."""
        generator = torch.Generator().manual_seed(self.seed)
        return DataLoader(self.train_set, batch_size=self.batch_size, shuffle=True, generator=generator)

    def val_dataloader(self) -> DataLoader:
        """Validation batches in order."""
        return DataLoader(self.val_set, batch_size=4 * self.batch_size)
