"""Predictions of trained ensembles: per-IL points, and per-ion coefficient sums for screening."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Batch, Data

from matdisco.core.training import load_members
from matdisco.ionic import keys
from matdisco.ionic.atom_types import unseen_types
from matdisco.ionic.graphs import with_type_id
from matdisco.ionic.models import ConductivityModule, temperature_law


@dataclass
class Ensemble:
    """Members of one model trained on one split, sharing the training ILs' type vocabulary."""

    members: list[ConductivityModule]
    vocabulary: dict[str, int]

    @property
    def needs_known_types(self) -> bool:
        return bool(getattr(self.members[0], "needs_known_types", False))

    @classmethod
    def load(cls, split_dir: Path) -> Ensemble:
        """Every member of ``split_dir`` (``core.training.load_members``) with their type vocabulary."""
        members, payload = load_members(
            split_dir, expected="the ionic_train stage to have run for this model and split"
        )
        return cls(members, payload["vocabulary"])

    def graph_terms(self, graphs: list[Data]) -> tuple[np.ndarray, list[list[str]]]:
        """Summed (A, B, C) per graph and member [n_members, n_graphs, 3], and each graph's unseen types.

        Graphs with unseen types get NaN terms when the model has per-type parameters.
        """
        unseen = [unseen_types(g.atom_types, self.vocabulary) for g in graphs]
        known = [i for i, types in enumerate(unseen) if not types or not self.needs_known_types]
        terms = np.full((len(self.members), len(graphs), 3), np.nan)
        if known:
            batch = Batch.from_data_list(
                [with_type_id(graphs[i], self.vocabulary) for i in known], exclude_keys=["atom_types"]
            )
            with torch.no_grad():
                for m, member in enumerate(self.members):
                    terms[m, known] = member.graph_terms(batch).numpy()
        return terms, unseen


def predict_points(ensemble: Ensemble, points: pd.DataFrame, graphs: dict[str, Data]) -> pd.DataFrame:
    """``points`` with ensemble mean and std of ln sigma and the unseen types of each IL."""
    il_ids = list(dict.fromkeys(points[keys.IL_ID]))
    terms, unseen = ensemble.graph_terms([graphs[il] for il in il_ids])
    row = {il: i for i, il in enumerate(il_ids)}
    index = points[keys.IL_ID].map(row).to_numpy()
    tau = ensemble.members[0].temperature_reference_K / points[keys.TEMPERATURE_K].to_numpy() - 1.0
    per_member = np.stack([temperature_law_np(terms[m, index], tau) for m in range(len(ensemble.members))])
    out = points.copy()
    out[keys.PRED_LN_SIGMA] = per_member.mean(axis=0)
    out[keys.PRED_LN_SIGMA_STD] = per_member.std(axis=0)
    out[keys.UNSEEN_TYPES] = [" ".join(unseen[i]) for i in index]
    return out


def temperature_law_np(abc: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """NumPy twin of :func:`matdisco.ionic.models.temperature_law`: abc [n, 3], tau [n] -> [n]."""
    return temperature_law(torch.as_tensor(abc), torch.as_tensor(tau)).numpy()
