"""The simple predictors every Hubbard evaluation reports next to the models, each fitted on the
training rows only and scored on the same test rows as the model:

- ``persistence``: output = input (U_out predicted as U_in, V_out as V_in); only meaningful for
  iterations >= 1 (iteration 0 starts from the config's U), so it is scored on that subset;
- ``species_mean``: mean training target of the row's species (pair of species for V); also the
  models' output offset (``output_scaling``), so it shows what the network adds;
- ``material_species_mean``: mean training target per (material, species);
- ``linear``: least squares in U_in (V: V_in and distance) per (material, species), falling back
  to the (material, species) mean where a group has too few training rows;
- ``nearest_structure``: target of the closest training row of the same material and species
  (and QE label for U), closest in strain and occupation-matrix eigenvalues;
- ``linear_pooled`` and ``nearest_across_materials``: the same two pooled over the training materials
  (grouped by species only), the baselines that still use the inputs when a whole material is held
  out (leave-one-material-out), where the per-material ones fall back to the species mean.

Every predictor falls back to the species mean, then the overall training mean, where a group
has no training rows, so every test row gets a value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from matdisco.hubbard import keys as K
from matdisco.hubbard.data import TableSpec
from matdisco.hubbard.features import TARGET

PERSISTENCE, SPECIES_MEAN, MATERIAL_SPECIES_MEAN, LINEAR, NEAREST, LINEAR_POOLED, NEAREST_POOLED = (
    "persistence",
    "species_mean",
    "material_species_mean",
    "linear",
    "nearest_structure",
    "linear_pooled",
    "nearest_across_materials",
)
BASELINES = (PERSISTENCE, SPECIES_MEAN, MATERIAL_SPECIES_MEAN, LINEAR, NEAREST, LINEAR_POOLED, NEAREST_POOLED)


def output_scaling(
    points: pd.DataFrame, spec: TableSpec, vocabulary: list[str], min_scale_eV: float
) -> tuple[list[float], float]:
    """Per-species mean target (eV; overall mean for species without rows) and the residual spread."""
    target = points[TARGET].astype(float)
    overall = float(target.mean())
    means = target.groupby(points[spec.species]).mean()
    offsets = [float(means.get(s, overall)) for s in vocabulary]
    residual = target - points[spec.species].map(dict(zip(vocabulary, offsets)))
    scale = float(residual.std(ddof=0)) if len(residual) > 1 else 0.0
    return offsets, max(scale, float(min_scale_eV))


def species_columns(spec: TableSpec) -> list[str]:
    """Columns naming a row's species: the site's (U) or both atoms' (V)."""
    return [K.SPECIES] if spec.kind == "u" else [K.SPECIES_I, K.SPECIES_J]


def group_mean(train: pd.DataFrame, rows: pd.DataFrame, by: list[str]) -> np.ndarray:
    """Mean training target (eV) of each row's group ``by``; NaN where the group has no training rows. Shape [len(rows)]."""
    means = train.groupby(by)[TARGET].mean().rename("_mean").reset_index()
    return rows[by].merge(means, on=by, how="left")["_mean"].to_numpy(dtype=float)


def _fill(primary: np.ndarray, *fallbacks: np.ndarray) -> np.ndarray:
    out = np.array(primary, dtype=float)
    for fallback in fallbacks:
        out = np.where(np.isfinite(out), out, fallback)
    return out


def _means(train: pd.DataFrame, rows: pd.DataFrame, spec: TableSpec) -> tuple[np.ndarray, np.ndarray]:
    """(species mean, (material, species) mean), each filled down to the overall training mean."""
    overall = np.full(len(rows), float(train[TARGET].mean()))
    species = _fill(group_mean(train, rows, species_columns(spec)), overall)
    return species, _fill(group_mean(train, rows, [K.MATERIAL, *species_columns(spec)]), species)


def linear_inputs(rows: pd.DataFrame, spec: TableSpec) -> np.ndarray:
    """Design matrix [n, p]: 1, value_in (eV) and, for V, the distance (angstrom)."""
    columns = [spec.value_in] + ([K.DISTANCE] if spec.kind == "v" else [])
    return np.column_stack([np.ones(len(rows))] + [rows[c].to_numpy(dtype=float) for c in columns])


def linear_baseline(
    train: pd.DataFrame, rows: pd.DataFrame, spec: TableSpec, fallback_eV: np.ndarray, pooled: bool = False
) -> np.ndarray:
    """Least squares per (material, species) on the training rows (``pooled``: per species, over every
    training material); ``fallback_eV`` [len(rows)] where a group has fewer rows than 2 x coefficients or
    a rank-deficient design. Shape [len(rows)], eV."""
    out = np.array(fallback_eV, dtype=float)
    by = species_columns(spec) if pooled else [K.MATERIAL, *species_columns(spec)]
    train_groups = {_key(group): frame for group, frame in train.groupby(by)}
    for group, index in rows.groupby(by).indices.items():
        fit = train_groups.get(_key(group))
        if fit is None:
            continue
        design = linear_inputs(fit, spec)
        if len(fit) < 2 * design.shape[1] or np.linalg.matrix_rank(design) < design.shape[1]:
            continue
        coefficients, *_ = np.linalg.lstsq(design, fit[TARGET].to_numpy(dtype=float), rcond=None)
        out[index] = linear_inputs(rows.iloc[index], spec) @ coefficients
    return out


def _key(group: object) -> tuple:
    """A groupby key as a tuple (pandas gives a bare value for some one-column groupings, a tuple for others)."""
    return group if isinstance(group, tuple) else (group,)


def _eigenvalues(flat: list, m: int) -> np.ndarray:
    matrix = np.asarray(flat, dtype=float).reshape(m, m)
    return np.sort(np.linalg.eigvalsh(0.5 * (matrix + matrix.T)))


def structure_descriptor(rows: pd.DataFrame, spec: TableSpec) -> np.ndarray:
    """Per row [n, d]: strain and the sorted occupation eigenvalues of each spin (V: of both atoms, and the distance)."""
    atoms = (
        [(K.OCC_UP, K.OCC_DOWN, K.N_ORBITALS)]
        if spec.kind == "u"
        else [(K.OCC_I_UP, K.OCC_I_DOWN, K.N_ORBITALS_I), (K.OCC_J_UP, K.OCC_J_DOWN, K.N_ORBITALS_J)]
    )
    vectors = []
    for _, row in rows.iterrows():
        parts = [[float(row[K.STRAIN])]] + ([[float(row[K.DISTANCE])]] if spec.kind == "v" else [])
        parts += [_eigenvalues(row[c], int(row[m])) for up, down, m in atoms for c in (up, down)]
        vectors.append(np.concatenate(parts))
    return np.array(vectors, dtype=float).reshape(len(rows), -1)


def nearest_baseline(
    train: pd.DataFrame, rows: pd.DataFrame, spec: TableSpec, fallback_eV: np.ndarray, pooled: bool = False
) -> np.ndarray:
    """Target of the nearest training row (Euclidean in ``structure_descriptor``) of the same material,
    species and (U) QE label (``pooled``: of the same species in any training material); ``fallback_eV``
    where there is none. Shape [len(rows)], eV."""
    out = np.array(fallback_eV, dtype=float)
    if pooled:
        by = species_columns(spec)
    else:
        by = [K.MATERIAL, *species_columns(spec)] + ([K.LABEL] if spec.kind == "u" else [])
    train_groups = {_key(group): frame for group, frame in train.groupby(by)}
    for group, index in rows.groupby(by).indices.items():
        fit = train_groups.get(_key(group))
        if fit is None:
            continue
        reference, query = structure_descriptor(fit, spec), structure_descriptor(rows.iloc[index], spec)
        if reference.shape[1] != query.shape[1]:
            continue
        nearest = np.argmin(((query[:, None, :] - reference[None, :, :]) ** 2).sum(axis=2), axis=1)
        out[index] = fit[TARGET].to_numpy(dtype=float)[nearest]
    return out


def baseline_predictions(train: pd.DataFrame, rows: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """Every baseline's prediction (eV) of ``rows`` from ``train`` only; columns ``BASELINES``, index of ``rows``.
    ``persistence`` is NaN for iteration-0 rows and for rows whose input is 0 (a parameter computed by hp.x
    but not applied in the run, e.g. U of O in v1): it is only scored on iterations >= 1 with an applied input."""
    if train.empty:
        raise ValueError("baselines need at least one training row")
    species, material_species = _means(train, rows, spec)
    value_in = rows[spec.value_in].to_numpy(dtype=float)
    persistence = np.where((rows[K.ITERATION].to_numpy() >= 1) & (value_in != 0.0), value_in, np.nan)
    return pd.DataFrame(
        {
            PERSISTENCE: persistence,
            SPECIES_MEAN: species,
            MATERIAL_SPECIES_MEAN: material_species,
            LINEAR: linear_baseline(train, rows, spec, material_species),
            NEAREST: nearest_baseline(train, rows, spec, material_species),
            LINEAR_POOLED: linear_baseline(train, rows, spec, species, pooled=True),
            NEAREST_POOLED: nearest_baseline(train, rows, spec, species, pooled=True),
        },
        index=rows.index,
    )


def distinct_rows(rows: pd.DataFrame, spec: TableSpec, decimals: int = 3) -> pd.DataFrame:
    """One row per symmetry-distinct site (pair) of each record: equivalent ones carry the same target,
    so rows of one record and species (pair) whose target agrees to ``decimals`` eV (1 meV) count once
    (as ``tables.distinct_counts`` does). The first such row is kept."""
    key = rows[TARGET].astype(float).round(decimals)
    return rows.loc[~rows.assign(_value=key).duplicated([K.RECORD_ID, *species_columns(spec), "_value"])]
