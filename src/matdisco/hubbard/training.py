"""``hubbard_train``: fit the U or V model on the extract tables, per split, as small seed ensembles.

Splits (``cfg.model.training.splits``):
- ``by_path``: the extract's ``split_by_path`` labels (every iteration of one self-consistent path
  in one set); trains on ``train``, early-stops on ``val``.
- ``lomo``: leave-one-material-out, one fold per material: train on every other material (its
  ``val``-labelled paths for early stopping), test on the held-out material (transferability).

With very little data some splits cannot be trained (no training rows) or have no validation
rows: the first are skipped and listed in ``train_summary.json`` with the reason; the second
monitor the training loss instead (also recorded). Nothing crashes on a tiny data set.

Outputs: ``models/hubbard/<model>/<split>/member_<i>.pt`` (weights, hyperparameters, vocabulary,
target mode, training row ids) and ``models/hubbard/<model>/train_summary.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytorch_lightning as pl
import torch
from torch_geometric.loader import DataLoader

from matdisco.core.config import artifact
from matdisco.core.errors import ConfigError, InputError
from matdisco.core.io import atomic_dir, atomic_write_json
from matdisco.core.provenance import run_metadata
from matdisco.core.seeding import member_seed, seed_everything
from matdisco.core.training import fit, instantiate_model, save_module
from matdisco.hubbard import keys as K
from matdisco.hubbard.features import NEXT, TARGET, select_points, u_points, v_points

KINDS = ("u", "v")
BY_PATH, LOMO = "by_path", "lomo"


@dataclass
class TableSpec:
    """Column names of one parameter type's table."""

    kind: str
    value_in: str
    value_out: str
    key: tuple[str, ...]  # identifies a site / pair across iterations of a path
    species: str  # species column that the output offset is per


TABLES = {
    "u": TableSpec("u", K.U_IN, K.U_OUT, (K.ATOM_INDEX,), K.SPECIES),
    "v": TableSpec("v", K.V_IN, K.V_OUT, (K.ATOM_I, K.ATOM_J), K.SPECIES_I),
}


@dataclass
class SplitRun:
    """Rows (indices into the selected points) of one split."""

    name: str
    train: list[int]
    val: list[int]
    test: list[int]
    notes: list[str] = field(default_factory=list)


def table_spec(cfg) -> TableSpec:
    kind = cfg.model.training.kind
    if kind not in TABLES:
        raise ConfigError(f"model.training.kind must be one of {KINDS}, got {kind!r}")
    return TABLES[kind]


def processed_table(cfg, kind: str) -> Path:
    return artifact(cfg, "processed", "hubbard", f"{kind}.parquet")


def load_points(cfg) -> pd.DataFrame:
    """The selected rows of the model's table (``training.target``, ``training.species``), with ``target_eV``."""
    spec = table_spec(cfg)
    path = processed_table(cfg, spec.kind)
    if not path.is_file():
        raise InputError(f"{path} does not exist", where=str(path), expected="the hubbard_extract output (python pipelines/extract.py data=hubbard)")
    table = pd.read_parquet(path)
    species = cfg.model.training.get("species")
    if species and not table.empty:
        table = table[table[spec.species].isin(list(species))]
    return select_points(table, spec.value_in, spec.value_out, cfg.model.training.target, spec.key)


def split_runs(points: pd.DataFrame, names: list[str]) -> list[SplitRun]:
    """The training runs of ``names`` (``by_path``, ``lomo``); see module docstring."""
    runs = []
    for name in names:
        if name == BY_PATH:
            label = points[K.SPLIT_BY_PATH] if len(points) else pd.Series([], dtype=str)
            runs.append(SplitRun(BY_PATH, *(list(np.flatnonzero(label == s)) for s in ("train", "val", "test"))))
        elif name == LOMO:
            for material in sorted(points[K.MATERIAL].unique()):
                held = points[K.MATERIAL] == material
                rest = ~held
                val = rest & (points[K.SPLIT_BY_PATH] == "val")
                train = rest & ~val
                if not train.any():  # too few paths: keep every other material for training
                    train, val = rest, val & False
                runs.append(SplitRun(f"{LOMO}_{material}", list(np.flatnonzero(train)), list(np.flatnonzero(val)), list(np.flatnonzero(held))))
        else:
            raise ConfigError(f"unknown split {name!r}; splits are {BY_PATH!r} and {LOMO!r}")
    for run in runs:
        check_grouped(points, run)
    return runs


def check_grouped(points: pd.DataFrame, run: SplitRun) -> None:
    """Raise if one self-consistent path has rows in two of the run's sets."""
    sets = {name: set(points.iloc[rows][K.PATH_ID]) for name, rows in (("train", run.train), ("val", run.val), ("test", run.test))}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        shared = sets[a] & sets[b]
        if shared:
            raise InputError(f"split {run.name}: path(s) {sorted(shared)} in both {a} and {b}", expected="every path in one set")


def vocabulary_of(points: pd.DataFrame, kind: str) -> list[str]:
    """Sorted species of ``points`` (for V both atoms)."""
    if kind == "u":
        return sorted(points[K.SPECIES].unique())
    return sorted(set(points[K.SPECIES_I]) | set(points[K.SPECIES_J]))


def output_scaling(points: pd.DataFrame, spec: TableSpec, vocabulary: list[str], min_scale_eV: float) -> tuple[list[float], float]:
    """Per-species mean target (eV; overall mean for species without rows) and the residual spread."""
    target = points[TARGET].astype(float)
    overall = float(target.mean())
    means = target.groupby(points[spec.species]).mean()
    offsets = [float(means.get(s, overall)) for s in vocabulary]
    residual = target - points[spec.species].map(dict(zip(vocabulary, offsets)))
    scale = float(residual.std(ddof=0)) if len(residual) > 1 else 0.0
    return offsets, max(scale, float(min_scale_eV))


class HubbardDataModule(pl.LightningDataModule):
    """Train/val loaders of PyG points; val falls back to train when empty (noted by the caller)."""

    def __init__(self, train_points: list, val_points: list, batch_size: int, seed: int):
        super().__init__()
        self.train_points, self.val_points = train_points, val_points or train_points
        self.batch_size, self.seed = batch_size, seed

    def train_dataloader(self):
        return DataLoader(self.train_points, batch_size=self.batch_size, shuffle=True, generator=torch.Generator().manual_seed(self.seed))

    def val_dataloader(self):
        return DataLoader(self.val_points, batch_size=max(len(self.val_points), 1), shuffle=False)


def make_points(points: pd.DataFrame, kind: str, vocabulary: list[str], model_cfg) -> list:
    """PyG points of ``points`` for a model of ``model_cfg`` (shells, use_hubbard_in)."""
    build = u_points if kind == "u" else v_points
    return build(points, vocabulary, list(model_cfg.shells), bool(model_cfg.use_hubbard_in))


def variant_name(model_name: str, target: str) -> str:
    """``hubbard_u`` for target ``next``; ``hubbard_u_converged`` for the skip-the-protocol variant."""
    return model_name if target == NEXT else f"{model_name}_{target}"


def run_name(cfg) -> str:
    """Name of this model variant's artifacts (models, metrics, plots): :func:`variant_name` of the config."""
    return variant_name(cfg.model.name, cfg.model.training.target)


def model_dir(cfg, model_name: str | None = None) -> Path:
    """models/hubbard/<model variant name>."""
    return artifact(cfg, "models", "hubbard", model_name or run_name(cfg))


def train(cfg) -> dict:
    """Train ``cfg.model`` on every split of ``model.training.splits``; see module docstring."""
    spec = table_spec(cfg)
    points = load_points(cfg)
    training = cfg.model.training
    metadata = run_metadata(cfg, [processed_table(cfg, spec.kind)])
    name = run_name(cfg)
    group = cfg.logger.get("group") or f"hubbard-{name}"
    summary: dict = {"model": name, "kind": spec.kind, "target": training.target, "n_points": len(points),
                     "n_paths": int(points[K.PATH_ID].nunique()) if len(points) else 0, "splits": {}, "skipped": {}}
    val_mae = []
    with atomic_dir(model_dir(cfg)) as out:
        for run in split_runs(points, list(training.splits)) if len(points) else []:
            if not run.train:
                summary["skipped"][run.name] = "no training rows"
                print(f"[hubbard_train] {name}: split {run.name} skipped (no training rows)")
                continue
            train_rows, val_rows = points.iloc[run.train], points.iloc[run.val]
            vocabulary = vocabulary_of(train_rows, spec.kind)
            offsets, scale = output_scaling(train_rows, spec, vocabulary, float(training.min_scale_eV))
            if not run.val:
                run.notes.append("no validation rows: early stopping and model selection on the training loss")
                print(f"[hubbard_train] {name}: split {run.name}: {run.notes[-1]}")
            seen = val_rows[val_rows[spec.species].isin(vocabulary)] if spec.kind == "u" else val_rows[
                val_rows[K.SPECIES_I].isin(vocabulary) & val_rows[K.SPECIES_J].isin(vocabulary)]
            train_points = make_points(train_rows, spec.kind, vocabulary, cfg.model)
            val_points = make_points(seen, spec.kind, vocabulary, cfg.model)
            datamodule = HubbardDataModule(train_points, val_points, int(training.batch_size), int(cfg.seed))
            maes = []
            n_members = int(training.n_members) if run.name == BY_PATH else int(training.get("n_members_lomo", training.n_members))
            for member in range(n_members):
                seed_everything(member_seed(int(cfg.seed), member))
                module = instantiate_model(cfg.model, species=vocabulary, offsets_eV=offsets, scale_eV=scale)
                logged = fit(cfg, module, datamodule, artifact(cfg, "logs"), f"{name}-{run.name}-m{member}", metadata, group=group)
                maes.append(logged.get("val/mae_eV", float("nan")))
                save_module(out / run.name / f"member_{member}.pt", module, vocabulary=vocabulary, kind=spec.kind,
                            target=str(training.target), train_records=sorted(set(train_rows[K.RECORD_ID])))
            summary["splits"][run.name] = {"n_train": len(run.train), "n_val": len(run.val), "n_test": len(run.test),
                                           "val_mae_eV_members": maes, "offsets_eV": dict(zip(vocabulary, offsets)), "scale_eV": scale,
                                           "notes": run.notes}
            if run.name == BY_PATH:
                val_mae = maes
        if not summary["splits"]:
            print(f"[hubbard_train] {name}: nothing could be trained ({len(points)} points); see train_summary.json")
        atomic_write_json(out / "train_summary.json", summary)
    objective = float(np.nanmean(val_mae)) if val_mae and np.isfinite(val_mae).any() else float("nan")
    return {"objective": objective, "n_points": len(points), "splits_trained": sorted(summary["splits"]),
            "splits_skipped": summary["skipped"], "model_dir": str(model_dir(cfg))}
