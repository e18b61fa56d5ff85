"""The simple predictor every Hubbard evaluation reports next to the models: the mean training target
of the site's species (for V: of atom i's species). The models learn a correction to it (it is their
output offset), so the baseline shows what the network adds."""

from __future__ import annotations

import pandas as pd

from matdisco.hubbard.data import TableSpec
from matdisco.hubbard.features import TARGET


def output_scaling(points: pd.DataFrame, spec: TableSpec, vocabulary: list[str], min_scale_eV: float) -> tuple[list[float], float]:
    """Per-species mean target (eV; overall mean for species without rows) and the residual spread."""
    target = points[TARGET].astype(float)
    overall = float(target.mean())
    means = target.groupby(points[spec.species]).mean()
    offsets = [float(means.get(s, overall)) for s in vocabulary]
    residual = target - points[spec.species].map(dict(zip(vocabulary, offsets)))
    scale = float(residual.std(ddof=0)) if len(residual) > 1 else 0.0
    return offsets, max(scale, float(min_scale_eV))


def species_mean_baseline(rows: pd.DataFrame, spec: TableSpec, offsets_eV: dict[str, float]) -> pd.Series:
    """Baseline prediction (eV) of ``rows``: the training mean ``offsets_eV[species]`` of each row's species."""
    return rows[spec.species].map(offsets_eV).astype(float)
