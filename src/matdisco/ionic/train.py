"""``ionic_train``: fit one model on the default split and on every grouped fold (ensembles of seeds)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import hydra
import numpy as np
import pandas as pd
import torch

from matdisco.core.config import artifact
from matdisco.core.io import atomic_dir, atomic_path, atomic_write_json
from matdisco.core.provenance import run_metadata
from matdisco.core.seeding import member_seed, seed_everything
from matdisco.core.training import fit, instantiate_model, member_path, run_fits, save_module
from matdisco.ionic.data import IonicDataModule, load_points, load_splits, model_dir, processed_dir, salt_graphs
from matdisco.ionic.density import snapshot_density_lines
from matdisco.ionic.graphs import EDGE_DIM, NODE_DIM
from matdisco.ionic.models import AdditiveConductivity
from matdisco.ionic.molar_volume import attach_ln_concentration, concentration_model
from matdisco.ionic.params_table import parameter_table
from matdisco.ionic.splits import named_splits


def train(cfg) -> dict:
    """Train ``cfg.model`` on the default split and (if ``data.split.kfold``) on every fold.

    Writes ``models/ionic/<model>/<split>/member_<i>.pt`` (weights + type vocabulary), the learned
    A, B, C per atom type for the additive model, and ``train_summary.json``. The folder is replaced
    only when every fit succeeded. Fits run ``trainer.parallel_fits`` at a time (``core.training.run_fits``).
    Returns the mean best validation RMSE (ln units) of the default split as ``objective``.
    """
    runs = named_splits(load_splits(cfg))
    if not cfg.data.split.kfold:
        runs = runs[:1]
    training = cfg.model.training
    metadata = run_metadata(cfg, [processed_dir(cfg) / "points.parquet", processed_dir(cfg) / "splits.json"])
    group = cfg.logger.get("group") or f"ionic-{cfg.model.name}"
    with atomic_dir(model_dir(cfg, cfg.model.name)) as out:
        jobs = [
            MemberFit(split_name, split, member, out, metadata, group)
            for split_name, split in runs
            for member in range(split_members(training, split_name))
        ]
        scores = run_fits(
            partial(fit_member, cfg),
            jobs,
            f"train {cfg.model.name}",
            int(cfg.trainer.get("parallel_fits") or 1),
            int(cfg.get("torch_num_threads") or 1),
        )
        val_rmse: dict[str, list[float]] = {}
        for job, score in zip(jobs, scores, strict=True):
            val_rmse.setdefault(job.split_name, []).append(score)
        summary = {
            "model": cfg.model.name,
            "val_rmse_ln": val_rmse,
            "n_members": training.n_members,
            "members_per_split": {name: split_members(training, name) for name, _ in runs},
            "splits": [name for name, _ in runs],
        }
        atomic_write_json(out / "train_summary.json", summary)
    objective = float(np.mean(val_rmse["default"]))
    return {"objective": objective, "val_rmse_ln_default": objective, "model_dir": str(model_dir(cfg, cfg.model.name))}


@dataclass(frozen=True)
class MemberFit:
    """One ensemble member on one split, written to ``out/<split_name>/member_<member>.pt``."""

    split_name: str
    split: object
    member: int
    out: Path
    metadata: dict
    group: str


def fit_member(cfg, job: MemberFit) -> float:
    """Fit one member (seeded by its index) and save it; returns its best validation RMSE (ln units)."""
    points, graphs = _points_and_graphs(cfg)
    datamodule = IonicDataModule(
        points,
        graphs,
        job.split,
        cfg.model.training.batch_size_ils,
        seed=int(cfg.seed),
        require_known_types=needs_known_types(cfg.model),
    )
    seed_everything(member_seed(int(cfg.seed), job.member))
    module = instantiate_model(cfg.model, n_types=len(datamodule.vocabulary), node_dim=NODE_DIM, edge_dim=EDGE_DIM)
    if isinstance(module, AdditiveConductivity):
        module.initialise_closed_form(datamodule.train_set)
    run = f"{cfg.model.name}-{job.split_name}-m{job.member}"
    fit(cfg, module, datamodule, artifact(cfg, "logs"), run, job.metadata, group=job.group)
    save_module(
        member_path(job.out / job.split_name, job.member),
        module,
        vocabulary=datamodule.vocabulary,
        unseen_val=datamodule.unseen_val,
    )
    if isinstance(module, AdditiveConductivity) and job.split_name == "default":
        _write_parameter_table(job.out / f"atom_type_parameters_member_{job.member}.csv", module, datamodule.vocabulary)
    return _best_val_rmse(module, datamodule)


_INPUTS: dict[tuple, tuple[pd.DataFrame, dict]] = {}


def _points_and_graphs(cfg) -> tuple[pd.DataFrame, dict]:
    """The curated points and their salt graphs, built once per process (and again if the points file changes)."""
    points_file = processed_dir(cfg) / "points.parquet"
    molar_volume = bool(cfg.model.get("molar_volume", False))
    key = (str(points_file), points_file.stat().st_mtime_ns, str(cfg.data.typing.scheme), molar_volume)
    if key not in _INPUTS:
        points = load_points(cfg)
        graphs = salt_graphs(points, cfg.data.typing.scheme)
        if molar_volume:
            volumes, _ = concentration_model(
                cfg.data.density.molar_volume, int(cfg.seed), points, snapshot_density_lines(cfg.data.density)
            )
            graphs = attach_ln_concentration(graphs, points, volumes)
        _INPUTS[key] = (points, graphs)
    return _INPUTS[key]


def split_members(training, split_name: str) -> int:
    """Ensemble size on ``split_name``: ``n_members`` on the default split (the screening ensemble),
    ``kfold_members`` (when set) on the k-fold splits, which only feed the cross-validated evaluation."""
    kfold_members = training.get("kfold_members")
    if split_name == "default" or kfold_members is None:
        return int(training.n_members)
    return int(kfold_members)


def needs_known_types(model_cfg) -> bool:
    """True when the model class of ``model_cfg`` has parameters per atom type (no unseen types allowed)."""
    return bool(getattr(hydra.utils.get_class(model_cfg._target_), "needs_known_types", False))


def _best_val_rmse(module, datamodule) -> float:
    """Validation RMSE (ln units) of the restored best weights, recomputed on the whole val set."""
    if len(datamodule.val_set) == 0:
        return float("nan")
    graphs, point_graph, temperature_K, target = next(iter(datamodule.val_dataloader()))
    with torch.no_grad():
        pred = module.eval()(graphs, point_graph, temperature_K)
    return float(torch.sqrt(torch.mean((pred - target) ** 2)))


def _write_parameter_table(path: Path, module: AdditiveConductivity, vocabulary: dict[str, int]) -> None:
    """CSV of the learned per-type coefficients in both the tau form and the A + B/T + C/T^2 form."""
    table: pd.DataFrame = parameter_table(
        module.type_terms.detach().numpy(), list(vocabulary), module.temperature_reference_K
    )
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
