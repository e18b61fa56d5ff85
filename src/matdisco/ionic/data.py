"""Processed ionic-liquid data as tensors: salt graphs per IL, datasets and the Lightning DataModule."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset
from torch_geometric.data import Batch, Data

from matdisco.core.config import artifact
from matdisco.core.errors import ConfigError, InputError
from matdisco.core.io import atomic_path, atomic_write_json
from matdisco.ionic import keys
from matdisco.ionic.atom_types import type_vocabulary, unseen_types
from matdisco.ionic.graphs import ion_graph, with_type_id
from matdisco.ionic.splits import settings_problems


def processed_dir(cfg) -> Path:
    """data/processed/ionic (from ``cfg.paths.processed``)."""
    return artifact(cfg, "processed", "ionic")


def model_dir(cfg, model_name: str) -> Path:
    """models/ionic/<model name>."""
    return artifact(cfg, "models", "ionic", model_name)


def load_points(cfg) -> pd.DataFrame:
    """Curated points table written by ``ionic_extract``."""
    path = processed_dir(cfg) / "points.parquet"
    if not path.is_file():
        raise InputError(
            f"{path} is missing",
            expected="`python pipelines/extract.py data=ionic` (or `dvc repro ionic_extract`) first",
        )
    return pd.read_parquet(path)


def load_splits(cfg) -> dict:
    """IL-level splits written by ``ionic_extract``; :class:`ConfigError` when ``cfg.data.split``
    asks for another split than the file holds (an override that train or evaluate cannot apply)."""
    path = processed_dir(cfg) / "splits.json"
    if not path.is_file():
        raise InputError(f"{path} is missing", expected="the ionic_extract stage to have run")
    splits = json.loads(path.read_text())
    split_cfg = cfg.data.split
    problems = settings_problems(splits, int(split_cfg.n_test), float(split_cfg.val_fraction), int(split_cfg.n_folds))
    if problems:
        raise ConfigError(
            f"{'; '.join(problems)} ({path}, written by extract). The split is made by extract: run "
            "`python pipelines/extract.py` with the same data.split overrides first (a hand run writes "
            "runs/<run_name>/data/processed: pass it as paths.processed), or drop the overrides"
        )
    return splits


def disjoint_union(graphs: list[Data]) -> Data:
    """One graph holding ``graphs`` side by side (node indices offset, no edges between them)."""
    batch = Batch.from_data_list(graphs)
    return Data(
        x=batch.x,
        edge_index=batch.edge_index,
        edge_attr=batch.edge_attr,
        atom_types=[t for g in graphs for t in g.atom_types],
        num_nodes=batch.num_nodes,
    )


def ion_graphs(smiles: list[str], scheme: str) -> dict[str, Data]:
    """Graph of each distinct ion SMILES (built once)."""
    return {s: ion_graph(s, scheme, where=f"ion {s}") for s in dict.fromkeys(smiles)}


def salt_graphs(points: pd.DataFrame, scheme: str) -> dict[str, Data]:
    """Formula-unit graph per IL id: its cation and anion graphs repeated by stoichiometry."""
    ils = points.drop_duplicates(keys.IL_ID)
    ions = ion_graphs(list(ils[keys.CATION_SMILES]) + list(ils[keys.ANION_SMILES]), scheme)
    graphs = {}
    for il_id, salt, cation, anion in zip(
        ils[keys.IL_ID], ils[keys.SALT_SMILES], ils[keys.CATION_SMILES], ils[keys.ANION_SMILES]
    ):
        parts = salt.split(".")
        graphs[il_id] = disjoint_union([ions[cation]] * parts.count(cation) + [ions[anion]] * parts.count(anion))
    return graphs


class ILPoints(Dataset):
    """One item per IL: (graph with ``type_id``, temperature_K [k], ln_sigma [k]) for its k points."""

    def __init__(self, points: pd.DataFrame, graphs: dict[str, Data], il_ids: list[str], vocabulary: dict[str, int]):
        grouped = points.groupby(keys.IL_ID)
        self.il_ids = list(il_ids)
        self.items = [
            (
                with_type_id(graphs[il], vocabulary),
                torch.tensor(grouped.get_group(il)[keys.TEMPERATURE_K].to_numpy(), dtype=torch.float32),
                torch.tensor(grouped.get_group(il)[keys.LN_SIGMA].to_numpy(), dtype=torch.float32),
            )
            for il in self.il_ids
        ]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        return self.items[index]


def collate(items) -> tuple[Batch, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(graph Batch, point_graph [n_points] long, temperature_K [n_points], ln_sigma [n_points])."""
    graphs = Batch.from_data_list([graph for graph, _, _ in items], exclude_keys=["atom_types"])
    point_graph = torch.cat([torch.full((len(t),), i, dtype=torch.long) for i, (_, t, _) in enumerate(items)])
    return graphs, point_graph, torch.cat([t for _, t, _ in items]), torch.cat([y for _, _, y in items])


def predictable_ils(
    graphs: dict[str, Data], il_ids: list[str], vocabulary: dict[str, int]
) -> tuple[list[str], dict[str, list[str]]]:
    """ILs whose atom types are all in ``vocabulary``, and the unseen types of the others."""
    unseen = {il: unseen_types(graphs[il].atom_types, vocabulary) for il in il_ids}
    return [il for il in il_ids if not unseen[il]], {il: types for il, types in unseen.items() if types}


class IonicDataModule(pl.LightningDataModule):
    """Train/val loaders of one split; the atom-type vocabulary comes from its training ILs only.

    Validation ILs with types unseen in training are left out when ``require_known_types`` (the
    additive model cannot predict them) and listed in ``self.unseen_val``.
    """

    def __init__(
        self,
        points: pd.DataFrame,
        graphs: dict[str, Data],
        split: dict,
        batch_size_ils: int,
        seed: int,
        require_known_types: bool,
    ):
        super().__init__()
        self.vocabulary = type_vocabulary([graphs[il].atom_types for il in split["train"]])
        val_ils, self.unseen_val = predictable_ils(graphs, split["val"], self.vocabulary)
        if not require_known_types:
            val_ils = list(split["val"])
        self.train_set = ILPoints(points, graphs, split["train"], self.vocabulary)
        self.val_set = ILPoints(points, graphs, val_ils, self.vocabulary)
        self.batch_size_ils = batch_size_ils
        self.seed = seed

    def train_dataloader(self) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed)
        return DataLoader(
            self.train_set, batch_size=self.batch_size_ils, shuffle=True, collate_fn=collate, generator=generator
        )

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=max(len(self.val_set), 1), shuffle=False, collate_fn=collate)


def write_processed(cfg, points: pd.DataFrame, ions: pd.DataFrame, splits: dict) -> dict[str, Path]:
    """Write points.parquet, ions.parquet and splits.json atomically under data/processed/ionic."""
    out = processed_dir(cfg)
    paths = {"points": out / "points.parquet", "ions": out / "ions.parquet", "splits": out / "splits.json"}
    for name, table in (("points", points), ("ions", ions)):
        with atomic_path(paths[name]) as tmp:
            table.to_parquet(tmp, index=False)
    atomic_write_json(paths["splits"], splits)
    return paths
