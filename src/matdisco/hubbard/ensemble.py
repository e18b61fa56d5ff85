"""A trained seed ensemble of one split (``models/hubbard/<model>/<split>/member_*.pt``): predict rows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Batch

from matdisco.core.training import load_members
from matdisco.hubbard import keys as K
from matdisco.hubbard.features import u_points, v_points


@dataclass
class Ensemble:
    """Members (eval mode), their species vocabulary, the parameter type (u/v) and target mode."""

    members: list
    vocabulary: list[str]
    kind: str
    target: str
    folder: Path | None  # where the members were loaded from; None for an ensemble fitted in memory

    @classmethod
    def load(cls, folder: str | Path) -> Ensemble:
        """Every member of ``folder`` (``core.training.load_members``) with the settings saved with them."""
        members, payload = load_members(Path(folder), expected="the hubbard_train output")
        return cls(members, list(payload["vocabulary"]), payload["kind"], payload["target"], Path(folder))

    def known(self, rows: pd.DataFrame) -> np.ndarray:
        """Mask of rows whose species are all in the vocabulary."""
        if self.kind == "u":
            return rows[K.SPECIES].isin(self.vocabulary).to_numpy()
        return (rows[K.SPECIES_I].isin(self.vocabulary) & rows[K.SPECIES_J].isin(self.vocabulary)).to_numpy()

    def predict(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Mean and spread (std over members) of the prediction per row, eV; NaN for unseen species."""
        mean = np.full(len(rows), np.nan)
        std = np.full(len(rows), np.nan)
        known = self.known(rows)
        if not known.any():
            return mean, std
        first = self.members[0]
        build = u_points if self.kind == "u" else v_points
        batch = Batch.from_data_list(build(rows[known], self.vocabulary, first.shells, first.use_hubbard_in))
        with torch.no_grad():
            preds = np.stack([member(batch).double().numpy() for member in self.members])
        mean[known] = preds.mean(axis=0)
        std[known] = preds.std(axis=0)
        return mean, std
