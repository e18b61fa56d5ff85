"""Cell-level cross-validation of the reconstruction comparison (``data.evaluate.cell_folds``).

Each cell in turn is the test cell, the next one (cyclically) the validation cell, the others
train a fresh VAE with the hyper-parameters of the evaluated one (and ``data.n_permutations``
augmentation, the configured trainer). The model and every reconstruction baseline are scored
on the same held-out environments (label-free RMSD, Angstrom); per-cell medians, and 95 % intervals
of the model-minus-baseline median from resampling whole cells (``core.metrics.group_bootstrap``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from matdisco.core.config import artifact
from matdisco.core.io import atomic_write_text
from matdisco.core.metrics import difference_interval, group_bootstrap, interval_text
from matdisco.core.training import fit
from matdisco.motifs import keys
from matdisco.motifs.data import FAMILY, GramDataModule, out_parts
from matdisco.motifs.environments import GramNormaliser, augment, gram_upper
from matdisco.motifs.models import MotifVAE
from matdisco.motifs.scoring import reconstruction_rmsds

MODEL = "model"


@dataclass(frozen=True)
class CellFold:
    """One fold: cell indices that train, the validation cell, the test cell."""

    train_cells: tuple[int, ...]
    val_cell: int
    test_cell: int


def cell_folds(cells: np.ndarray) -> list[CellFold]:
    """One fold per cell of ``cells`` (cell indices, any order, >= 3 distinct): it is the test cell, the
    next one (cyclically, in ascending order) the validation cell, all others train."""
    unique = np.unique(cells)
    if len(unique) < 3:
        raise ValueError(f"cell folds need at least 3 cells (train, val, test), got {len(unique)}")
    folds = []
    for k, test in enumerate(unique):
        val = unique[(k + 1) % len(unique)]
        train = tuple(int(c) for c in unique if c not in (test, val))
        folds.append(CellFold(train, int(val), int(test)))
    return folds


def fold_rows(cell: np.ndarray, fold: CellFold) -> dict[str, np.ndarray]:
    """Row indices (train, val, test) of environments whose cell index ``cell`` (N,) lies in each part of ``fold``."""
    return {
        "train": np.flatnonzero(np.isin(cell, fold.train_cells)),
        "val": np.flatnonzero(cell == fold.val_cell),
        "test": np.flatnonzero(cell == fold.test_cell),
    }


def _train_fold(
    cfg: DictConfig, template: MotifVAE, train_coords: np.ndarray, val_gram: np.ndarray, batch_size: int, name: str
) -> tuple[MotifVAE, GramNormaliser]:
    """A fresh VAE with ``template``'s hyper-parameters fitted on ``train_coords`` (N, n, 3) (augmented as in
    the train step), validated on ``val_gram`` (M, P) in Angstrom^2; the model and its normaliser."""
    train_gram = gram_upper(train_coords)
    normaliser = GramNormaliser.fit(train_gram)
    augmented, _, _ = augment(train_coords, int(cfg.data.n_permutations), np.random.default_rng(int(cfg.seed)))
    module = MotifVAE(**{**dict(template.hparams), "normaliser": normaliser.to_dict()})
    datamodule = GramDataModule(
        normaliser.normalise(augmented), normaliser.normalise(val_gram), batch_size, int(cfg.seed)
    )
    fit(
        cfg,
        module,
        datamodule,
        artifact(cfg, "logs", *out_parts(cfg), "cell_folds"),
        name,
        {"fold": name},
        group=FAMILY,
    )
    module.eval()
    return module, normaliser


def fold_rmsds(
    cfg: DictConfig, arrays: dict, template: MotifVAE, batch_size: int
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Label-free RMSD (M,) per method over every fold's held-out environments, and their cell indices (M,).

    Each fold trains a VAE like ``template`` (:func:`_train_fold`) with ``batch_size``."""
    cell, coords, gram = arrays[keys.CELL], arrays[keys.COORDS], arrays[keys.GRAM]
    shells = tuple(int(k) for k in cfg.data.evaluate.shell_sizes)
    per_method, cells = {}, []
    for fold in cell_folds(cell):
        rows = fold_rows(cell, fold)
        model, normaliser = _train_fold(
            cfg, template, coords[rows["train"]], gram[rows["val"]], batch_size, f"fold_{fold.test_cell}"
        )
        rmsds = reconstruction_rmsds(
            model,
            normaliser,
            gram[rows["train"]],
            coords[rows["test"]],
            gram[rows["test"]],
            bool(cfg.data.restore_norms),
            shells,
        )
        for name, values in rmsds.items():
            per_method.setdefault(name, []).append(values)
        cells.append(cell[rows["test"]])
    return {name: np.concatenate(values) for name, values in per_method.items()}, np.concatenate(cells)


def fold_summary(rmsds: dict[str, np.ndarray], cells: np.ndarray, n_resamples: int, seed: int) -> dict:
    """Per-cell and pooled median RMSD per method, and the model-minus-baseline median with a 95 % interval
    from resampling whole cells (``core.metrics.difference_interval``: ``p_model_better`` is the fraction of
    resamples where the model's is lower)."""
    unique = np.unique(cells)
    summary = {"n_cells": int(len(unique)), "n_environments": int(len(cells)), "methods": {}}
    for name, values in rmsds.items():
        row = {
            "median_angstrom": float(np.median(values)),
            "per_cell_median_angstrom": {int(c): float(np.median(values[cells == c])) for c in unique},
        }
        if name != MODEL:
            row["model_minus_this_median_angstrom"] = difference_interval(
                *group_bootstrap(_median_difference(rmsds[MODEL], values), cells, n_resamples, seed)
            )
        summary["methods"][name] = row
    return summary


def _median_difference(model: np.ndarray, other: np.ndarray) -> Callable[[np.ndarray], float]:
    """Statistic of the rows [k] picked from [n] RMSDs (Angstrom): the model's median minus the other's."""
    model, other = np.asarray(model, dtype=float), np.asarray(other, dtype=float)
    return lambda rows: float(np.median(model[rows]) - np.median(other[rows]))


def write_fold_table(path: Path, summary: dict, cell_names: np.ndarray) -> Path:
    """Markdown table of :func:`fold_summary`: one row per method, per-cell medians, pooled median, model difference."""
    cells = list(next(iter(summary["methods"].values()))["per_cell_median_angstrom"])
    header = ["method", *(str(cell_names[c]).removesuffix(".extxyz") for c in cells), "pooled median"]
    header.append("model - this (95 % CI, cells resampled)")
    lines = [
        f"Label-free reconstruction RMSD (A), cell folds: {summary['n_cells']} cells, "
        f"{summary['n_environments']} held-out environments.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for name, row in summary["methods"].items():
        diff = row.get("model_minus_this_median_angstrom")
        interval = interval_text(diff, sign="+") if diff else ""
        values = [f"{row['per_cell_median_angstrom'][c]:.3f}" for c in cells]
        lines.append("| " + " | ".join([name, *values, f"{row['median_angstrom']:.3f}", interval]) + " |")
    return atomic_write_text(path, "\n".join(lines) + "\n")
