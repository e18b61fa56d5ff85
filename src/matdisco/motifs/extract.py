"""``motifs_extract``: environments and Gram entries of every cell, split by cell, with augmented
training copies. Artifacts: ``processed/motifs/environments.npz`` (fields in
:mod:`matdisco.motifs.keys`), ``metrics/motifs/extract.json``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from omegaconf import DictConfig
from tqdm import tqdm

from matdisco.core.config import artifact, require
from matdisco.core.errors import InputError
from matdisco.core.io import atomic_path, atomic_write_json
from matdisco.motifs import keys
from matdisco.motifs.data import cell_files, environments_path, out_parts
from matdisco.motifs.environments import augment, environments, gram_upper, split_cells
from matdisco.motifs.structure import read_cell


def extract(cfg: DictConfig) -> dict:
    """Environments and Gram entries of every cell, split by cell, with augmented training copies."""
    data = cfg.data
    require(
        cfg,
        "data.r_cut_angstrom",
        "data.n_neighbours",
        "data.n_permutations",
        "data.split.val_cells",
        "data.split.test_cells",
    )
    files = cell_files(cfg)
    n = int(data.n_neighbours)
    rng = np.random.default_rng(int(cfg.seed))
    splits = split_cells(len(files), int(data.split.val_cells), int(data.split.test_cells), rng)
    parts, deficient = [], {}
    for k, path in enumerate(tqdm(files, desc="environments")):
        coords, counts = environments(read_cell(path), float(data.r_cut_angstrom), n)
        deficient[path.name] = _check_deficient(
            path, counts, n, float(data.r_cut_angstrom), float(data.max_deficient_fraction)
        )
        good = counts >= n
        parts.append((coords[good], np.full(good.sum(), k), np.flatnonzero(good), np.full(good.sum(), splits[k])))
    coords, cell, atom, split = (np.concatenate(column) for column in zip(*parts))
    train = split == keys.SPLITS["train"]
    aug_gram, aug_perm, aug_source = augment(coords[train], int(data.n_permutations), rng)
    arrays = {
        keys.COORDS: coords,
        keys.GRAM: gram_upper(coords),
        keys.CELL: cell,
        keys.ATOM: atom,
        keys.SPLIT: split.astype(np.int8),
        keys.CELL_NAMES: np.array([p.name for p in files]),
        keys.TRAIN_AUG_GRAM: aug_gram,
        keys.TRAIN_AUG_PERM: aug_perm,
        keys.TRAIN_AUG_SOURCE: np.flatnonzero(train)[aug_source],
    }
    with atomic_path(environments_path(cfg)) as tmp:
        np.savez_compressed(tmp, **arrays)
    metrics = {
        "n_cells": len(files),
        "n_environments": int(len(coords)),
        "n_augmented_train_rows": int(len(aug_gram)),
        "n_deficient_environments": int(sum(deficient.values())),
        "deficient_per_cell": deficient,
        **{f"n_{name}_environments": int(np.sum(split == code)) for name, code in keys.SPLITS.items()},
        "cells_per_split": {
            name: [files[k].name for k in np.flatnonzero(splits == code)] for name, code in keys.SPLITS.items()
        },
    }
    atomic_write_json(artifact(cfg, "metrics", *out_parts(cfg), "extract.json"), metrics)
    return {"environments": str(environments_path(cfg)), **{k: v for k, v in metrics.items() if k.startswith("n_")}}


def _check_deficient(path: Path, counts: np.ndarray, n: int, r_cut: float, max_fraction: float) -> int:
    """Number of environments with fewer than n neighbours in r_cut; an error above ``max_fraction``."""
    short = int(np.sum(counts < n))
    if short > max_fraction * len(counts):
        raise InputError(
            f"{short} of {len(counts)} atoms have fewer than {n} neighbours within {r_cut} A "
            f"(fewest: {int(counts.min())})",
            str(path),
            f"at most a fraction {max_fraction} (data.max_deficient_fraction)",
        )
    return short
