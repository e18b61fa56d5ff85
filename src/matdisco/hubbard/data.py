"""The Hubbard tables as model inputs: which table and columns a model reads, the selected points,
species vocabularies, PyG points, the LightningDataModule and the artifact folder of a model variant."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytorch_lightning as pl
import torch
from torch_geometric.loader import DataLoader

from matdisco.core.config import artifact
from matdisco.core.errors import ConfigError, InputError
from matdisco.hubbard import keys as K
from matdisco.hubbard.features import NEXT, select_points, u_points, v_points

KINDS = ("u", "v")


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


def require_hubbard_model(cfg) -> None:
    """Raise unless ``cfg.model`` is a Hubbard model config (``model=hubbard_u`` or ``hubbard_v``)."""
    if cfg.get("model") is None or cfg.model.get("family") != "hubbard":
        name = cfg.model.get("name") if cfg.get("model") is not None else None
        raise ConfigError(
            f"this Hubbard step needs a Hubbard model config (model=hubbard_u or model=hubbard_v), got model={name}"
        )


def table_spec(cfg) -> TableSpec:
    """Table and columns of ``cfg.model`` (a Hubbard model config)."""
    require_hubbard_model(cfg)
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
        raise InputError(
            f"{path} does not exist",
            where=str(path),
            expected="the hubbard_extract output (python pipelines/extract.py data=hubbard)",
        )
    table = pd.read_parquet(path)
    species = cfg.model.training.get("species")
    if species and not table.empty:
        table = table[table[spec.species].isin(list(species))]
    return select_points(table, spec.value_in, spec.value_out, cfg.model.training.target, spec.key)


def vocabulary_of(points: pd.DataFrame, kind: str) -> list[str]:
    """Sorted species of ``points`` (for V both atoms)."""
    if kind == "u":
        return sorted(points[K.SPECIES].unique())
    return sorted(set(points[K.SPECIES_I]) | set(points[K.SPECIES_J]))


class HubbardDataModule(pl.LightningDataModule):
    """Train/val loaders of PyG points; val falls back to train when empty (noted by the caller)."""

    def __init__(self, train_points: list, val_points: list, batch_size: int, seed: int):
        super().__init__()
        self.train_points, self.val_points = train_points, val_points or train_points
        self.batch_size, self.seed = batch_size, seed

    def train_dataloader(self):
        return DataLoader(
            self.train_points,
            batch_size=self.batch_size,
            shuffle=True,
            generator=torch.Generator().manual_seed(self.seed),
        )

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
    require_hubbard_model(cfg)
    return variant_name(cfg.model.name, cfg.model.training.target)


def model_dir(cfg, model_name: str | None = None) -> Path:
    """models/hubbard/<model variant name>."""
    return artifact(cfg, "models", "hubbard", model_name or run_name(cfg))
