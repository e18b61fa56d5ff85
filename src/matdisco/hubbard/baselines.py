"""The simple predictors every Hubbard evaluation reports next to the models, each fitted on the
training rows only and scored on the same test rows as the model:

- ``persistence``: output = input (U_out predicted as U_in, V_out as V_in); only meaningful for
  iterations >= 1 (iteration 0 starts from the config's U), so it is scored on that subset;
- ``species_mean``: mean training target of the row's species (pair of species for V);
- ``material_species_mean``: mean training target per (material, species);
- ``linear``: least squares in U_in (V: V_in and distance) per (material, species), falling back
  to the (material, species) mean where a group has too few training rows;
- ``nearest_structure``: target of the closest training row of the same material and species
  (and QE label for U), closest in strain and occupation-matrix eigenvalues;
- ``linear_pooled`` and ``nearest_across_materials``: the same two pooled over the training materials
  (grouped by species only), the baselines that still use the inputs when a whole material is held
  out (leave-one-material-out), where the per-material ones fall back to the species mean;
  ``linear_pooled`` is also the models' prior (``linear_prior``): the network learns the correction
  to it, so what the network adds over a line is what the model-minus-linear_pooled column shows;
- ``linear_applied_pooled``: ``linear_pooled`` plus a term for "an input was applied" (U_in != 0): one
  line cannot hold both iteration 0 (U_in = 0, U_out far from it) and later iterations (U_out close to
  U_in), two can; the simplest way to use U_in across materials, which the model has to beat as well.

Every predictor falls back to the species mean, then the overall training mean, where a group
has no training rows, so every test row gets a value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from matdisco.hubbard import keys as K
from matdisco.hubbard.data import TableSpec
from matdisco.hubbard.features import TARGET

PERSISTENCE, SPECIES_MEAN, MATERIAL_SPECIES_MEAN, LINEAR, NEAREST, LINEAR_POOLED, LINEAR_APPLIED, NEAREST_POOLED = (
    "persistence",
    "species_mean",
    "material_species_mean",
    "linear",
    "nearest_structure",
    "linear_pooled",
    "linear_applied_pooled",
    "nearest_across_materials",
)
BASELINES = (
    PERSISTENCE,
    SPECIES_MEAN,
    MATERIAL_SPECIES_MEAN,
    LINEAR,
    NEAREST,
    LINEAR_POOLED,
    LINEAR_APPLIED,
    NEAREST_POOLED,
)
APPLIED = "input_applied"  # derived design column of linear_applied_pooled: 1.0 where value_in != 0, else 0.0


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


def linear_columns(spec: TableSpec, use_value_in: bool = True) -> list[str]:
    """Input columns of the linear fits: value_in (eV) when used and, for V, the distance (angstrom)."""
    return ([spec.value_in] if use_value_in else []) + ([K.DISTANCE] if spec.kind == "v" else [])


def linear_inputs(rows: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Design matrix [n, 1 + len(columns)]: 1, then ``columns``."""
    return np.column_stack([np.ones(len(rows))] + [rows[c].to_numpy(dtype=float) for c in columns])


def group_fits(train: pd.DataFrame, by: list[str], columns: list[str]) -> dict[tuple, np.ndarray]:
    """Least-squares coefficients [1 + len(columns)] of the target per group ``by`` of the training rows;
    groups with fewer rows than 2 x coefficients or a rank-deficient design have none."""
    fits = {}
    for group, frame in train.groupby(by):
        design = linear_inputs(frame, columns)
        if len(frame) < 2 * design.shape[1] or np.linalg.matrix_rank(design) < design.shape[1]:
            continue
        fits[_key(group)], *_ = np.linalg.lstsq(design, frame[TARGET].to_numpy(dtype=float), rcond=None)
    return fits


def with_applied(rows: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """``rows`` with the ``APPLIED`` column: 1.0 where an input was applied (value_in != 0), else 0.0."""
    return rows.assign(**{APPLIED: (rows[spec.value_in].to_numpy(dtype=float) != 0.0).astype(float)})


def linear_baseline(
    train: pd.DataFrame,
    rows: pd.DataFrame,
    spec: TableSpec,
    fallback_eV: np.ndarray,
    pooled: bool = False,
    applied: bool = False,
) -> np.ndarray:
    """Least squares in ``linear_columns`` (``applied``: plus the ``APPLIED`` term) per (material, species)
    on the training rows (``pooled``: per species, over every training material); ``fallback_eV``
    [len(rows)] where a group has no fit (``group_fits``: e.g. no training row with an applied input).
    Shape [len(rows)], eV."""
    out = np.array(fallback_eV, dtype=float)
    by = species_columns(spec) if pooled else [K.MATERIAL, *species_columns(spec)]
    columns = linear_columns(spec) + ([APPLIED] if applied else [])
    if applied:
        train, rows = with_applied(train, spec), with_applied(rows, spec)
    fits = group_fits(train, by, columns)
    for group, index in rows.groupby(by).indices.items():
        if _key(group) in fits:
            out[index] = linear_inputs(rows.iloc[index], columns) @ fits[_key(group)]
    return out


def prior_groups(vocabulary: list[str], kind: str) -> list[tuple[str, ...]]:
    """The models' prior groups in index order: each species (U, index z) or each ordered species pair
    (V, index z_i * len(vocabulary) + z_j)."""
    if kind == "u":
        return [(s,) for s in vocabulary]
    return [(a, b) for a in vocabulary for b in vocabulary]


def prior_index(rows: pd.DataFrame, vocabulary: list[str], kind: str) -> np.ndarray:
    """Each row's ``prior_groups`` index [len(rows)] (species must be in ``vocabulary``)."""
    position = {s: i for i, s in enumerate(vocabulary)}
    if kind == "u":
        return rows[K.SPECIES].map(position).to_numpy()
    return rows[K.SPECIES_I].map(position).to_numpy() * len(vocabulary) + rows[K.SPECIES_J].map(position).to_numpy()


def linear_prior(
    train: pd.DataFrame, spec: TableSpec, vocabulary: list[str], use_value_in: bool, min_scale_eV: float
) -> tuple[list[list[float]], float]:
    """The models' prior: the pooled linear baseline's coefficients per ``prior_groups`` entry
    ([n_groups, 1 + len(linear_columns)]: intercept eV, then slopes), the group's mean target (or the
    overall mean) as intercept where a group has no fit; and the spread (eV, floored at ``min_scale_eV``)
    of the training targets around it, the scale of the network's correction."""
    by, columns = species_columns(spec), linear_columns(spec, use_value_in)
    fits = group_fits(train, by, columns)
    means = {_key(g): float(m) for g, m in train.groupby(by)[TARGET].mean().items()}
    overall = float(train[TARGET].mean())
    coefficients = []
    for group in prior_groups(vocabulary, spec.kind):
        fallback = np.array([means.get(group, overall)] + [0.0] * len(columns))
        coefficients.append([float(c) for c in fits.get(group, fallback)])
    rows_index = prior_index(train, vocabulary, spec.kind)
    prior = np.sum(np.array(coefficients)[rows_index] * linear_inputs(train, columns), axis=1)
    residual = train[TARGET].to_numpy(dtype=float) - prior
    scale = float(residual.std()) if len(residual) > 1 else 0.0
    return coefficients, max(scale, float(min_scale_eV))


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
    line = linear_baseline(train, rows, spec, species, pooled=True)
    return pd.DataFrame(
        {
            PERSISTENCE: persistence,
            SPECIES_MEAN: species,
            MATERIAL_SPECIES_MEAN: material_species,
            LINEAR: linear_baseline(train, rows, spec, material_species),
            NEAREST: nearest_baseline(train, rows, spec, material_species),
            LINEAR_POOLED: line,
            LINEAR_APPLIED: linear_baseline(train, rows, spec, line, pooled=True, applied=True),
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
