"""Grouped splits of the Hubbard tables: no self-consistent path (or material) in two sets.

- extract labels every row with ``split_by_path`` (paths split within each material, so every
  held-out path has training paths of its own material) and ``split_by_material``;
- train and evaluate rebuild the ``by_path`` run from those labels;
- ``blocked_runs`` holds out whole blocks instead of interpolating (``data.evaluate.blocked``):
  a ``range`` scheme tests every row whose column lies in [min, max] (e.g. every strain >= +2 %),
  an ``each`` scheme one fold per distinct value of the column (distortion type, Li content,
  material). Deterministic: folds sorted by value. Validation rows (a scheme's ``validation``):
  ``material`` (default): for a block of whole materials (leave one material, oxidation state or Li
  content out) one other whole material, the first outside the block labelled ``val``, else ``test``,
  in ``split_by_material`` (early stopping then measures transfer to an unseen material, as the test
  does), for other blocks the ``split_by_path`` val paths outside the block; ``path``: always those
  val paths. A block without test (or training) rows is returned with its reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from matdisco.core.errors import ConfigError, InputError
from matdisco.hubbard import keys as K

SPLITS = ("train", "val", "test")
BY_PATH = "by_path"


def group_split(
    groups: list[str], fractions: dict[str, float], seed: int, strata: list[str] | None = None
) -> dict[str, str]:
    """Assign each distinct group to train/val/test; returns {group: split}.

    Groups are split separately within each stratum (``strata[k]`` is the stratum of ``groups[k]``;
    None: one stratum): a seeded shuffle, then test and val by ``fractions`` (at least one group
    each when the stratum has three or more groups, none otherwise) and the rest train.
    """
    strata = strata if strata is not None else [""] * len(groups)
    members = sorted(set(zip(strata, groups)))
    rng = np.random.default_rng(seed)
    assignment: dict[str, str] = {}
    for stratum in sorted(set(strata)):
        assignment.update(_split_groups([g for s, g in members if s == stratum], fractions, rng))
    return assignment


def _split_groups(unique: list[str], fractions: dict[str, float], rng: np.random.Generator) -> dict[str, str]:
    order = rng.permutation(len(unique))
    n = len(unique)
    n_test = max(1, round(fractions["test"] * n)) if n >= 3 else 0
    n_val = max(1, round(fractions["val"] * n)) if n >= 3 else 0
    labels = ["test"] * n_test + ["val"] * n_val + ["train"] * (n - n_test - n_val)
    return {unique[index]: label for index, label in zip(order, labels)}


def add_splits(
    tables: list[pd.DataFrame], records: list[dict[str, Any]], fractions: dict[str, float], seed: int
) -> None:
    """Add ``split_by_path`` (paths split within each material, so every held-out path has training
    paths of its own material) and ``split_by_material`` columns (same assignment in every table)."""
    by_path = group_split([r[K.PATH_ID] for r in records], fractions, seed, strata=[r[K.MATERIAL] for r in records])
    by_material = group_split([r[K.MATERIAL] for r in records], fractions, seed)
    for table in tables:
        if table.empty:
            continue
        table[K.SPLIT_BY_PATH] = table[K.PATH_ID].map(by_path)
        table[K.SPLIT_BY_MATERIAL] = table[K.MATERIAL].map(by_material)


@dataclass
class SplitRun:
    """Rows (indices into the selected points) of one split."""

    name: str
    train: list[int]
    val: list[int]
    test: list[int]
    notes: list[str] = field(default_factory=list)


def split_runs(points: pd.DataFrame, names: list[str]) -> list[SplitRun]:
    """The training runs of ``names`` (``by_path``); see module docstring."""
    runs = []
    for name in names:
        if name == BY_PATH:
            label = points[K.SPLIT_BY_PATH] if len(points) else pd.Series([], dtype=str)
            runs.append(SplitRun(BY_PATH, *(list(np.flatnonzero(label == s)) for s in ("train", "val", "test"))))
        else:
            raise ConfigError(
                f"unknown split {name!r} in model.training.splits; the one split is {BY_PATH!r} "
                "(held-out materials and other blocks are data.evaluate.blocked schemes)"
            )
    for run in runs:
        check_grouped(points, run)
    return runs


def check_grouped(points: pd.DataFrame, run: SplitRun) -> None:
    """Raise if one self-consistent path has rows in two of the run's sets."""
    sets = {
        name: set(points.iloc[rows][K.PATH_ID])
        for name, rows in (("train", run.train), ("val", run.val), ("test", run.test))
    }
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        shared = sets[a] & sets[b]
        if shared:
            raise InputError(
                f"split {run.name}: path(s) {sorted(shared)} in both {a} and {b}", expected="every path in one set"
            )


VALIDATION = ("material", "path")  # a blocked scheme's validation rows: see the module docstring


def _validation_rows(points: pd.DataFrame, held: np.ndarray, validation: str) -> np.ndarray:
    """Mask of the validation candidates of a block (``held``): with ``validation`` 'material', one
    whole material outside it when the block holds whole materials and ``split_by_material`` names one
    (its ``val`` material, else its ``test`` material); otherwise the ``split_by_path`` val paths; none
    without those labels."""
    materials = points[K.MATERIAL].to_numpy()
    whole_materials = not set(materials[held]) & set(materials[~held])
    if validation == "material" and whole_materials and K.SPLIT_BY_MATERIAL in points:
        for label in ("val", "test"):
            candidates = sorted(set(materials[~held & (points[K.SPLIT_BY_MATERIAL] == label).to_numpy()]))
            if candidates:
                return materials == candidates[0]
    if K.SPLIT_BY_PATH in points:
        return (points[K.SPLIT_BY_PATH] == "val").to_numpy()
    return np.zeros(len(points), bool)


RANGE, EACH = "range", "each"
LI_CONTENT = "li_content"  # derived column: Li per formula unit from the material name
OXIDATION_STATE = "oxidation_state"  # derived column: the metal's formal oxidation state from the material name
FORMAL_CHARGES = {"Li": 1.0, "O": -2.0}  # the ions of these data sets whose charge is fixed


def formula_counts(material: str) -> dict[str, float]:
    """Atoms per formula unit of a material name: ``Li0.5CoO2`` -> {Li: 0.5, Co: 1, O: 2}."""
    counts: dict[str, float] = {}
    for element, count in re.findall(r"([A-Z][a-z]?)([0-9]*\.?[0-9]*)", material):
        counts[element] = counts.get(element, 0.0) + (float(count) if count else 1.0)
    return counts


def li_content(material: str) -> float:
    """Li per formula unit of a material name: ``Li0.5CoO2`` -> 0.5, ``LiCoO2`` -> 1, ``CoO2`` -> 0."""
    return formula_counts(material).get("Li", 0.0)


def formal_oxidation_state(material: str) -> float:
    """Formal oxidation state of the one metal of a material name, Li+ and O2- fixed (``FORMAL_CHARGES``):
    ``NiO`` -> 2, ``LiNiO2`` -> 3, ``NiO2`` -> 4, ``Li0.5CoO2`` -> 3.5; NaN when the name has no other
    element or more than one."""
    counts = formula_counts(material)
    metals = [e for e in counts if e not in FORMAL_CHARGES]
    if len(metals) != 1:
        return float("nan")
    charge = sum(FORMAL_CHARGES[e] * n for e, n in counts.items() if e in FORMAL_CHARGES)
    return -charge / counts[metals[0]]


DERIVED_COLUMNS = {LI_CONTENT: li_content, OXIDATION_STATE: formal_oxidation_state}


def block_column(points: pd.DataFrame, column: str) -> pd.Series:
    """The values a blocked scheme splits on: a table column, or one derived from the material name
    (``DERIVED_COLUMNS``: Li content, the metal's formal oxidation state)."""
    if column in DERIVED_COLUMNS:
        return points[K.MATERIAL].map(DERIVED_COLUMNS[column])
    if column not in points:
        raise ConfigError(
            f"data.evaluate.blocked: column {column!r} is not in the table; columns are {sorted(points.columns)}"
        )
    return points[column]


def blocked_runs(points: pd.DataFrame, schemes: dict[str, dict]) -> tuple[list[SplitRun], dict[str, str]]:
    """The runs of every blocked scheme ``{name: {type: range|each, column, min?, max?, validation?}}``; see
    the module docstring.
    Returns the runs (every one checked: no path in two sets) and ``{block: reason}`` for each scheme or
    block that yields no run: no test rows, or no rows left to train on."""
    runs, empty = [], {}
    for name, scheme in sorted(schemes.items()):
        kind, values = scheme.get("type"), block_column(points, scheme.get("column", ""))
        validation = scheme.get("validation", "material")
        if validation not in VALIDATION:
            raise ConfigError(
                f"data.evaluate.blocked.{name}.validation must be one of {list(VALIDATION)}, got {validation!r}"
            )
        if kind == RANGE:
            low, high = scheme.get("min"), scheme.get("max")
            held = (
                values.notna()
                & (values >= (-np.inf if low is None else low))
                & (values <= (np.inf if high is None else high))
            )
            blocks = [(name, held, f"no rows with {scheme['column']} in [{low}, {high}]")]
        elif kind == EACH:
            distinct = sorted(values.dropna().unique(), key=str)
            blocks = [(f"{name}_{value}", values == value, "") for value in distinct]
            if not distinct:
                empty[name] = f"no rows with a value of {scheme['column']}"
        else:
            raise ConfigError(f"data.evaluate.blocked.{name}.type must be {RANGE!r} or {EACH!r}, got {kind!r}")
        for run_name, held, no_rows in blocks:
            held = held.to_numpy(dtype=bool)
            if not held.any():
                empty[run_name] = no_rows
            elif held.all():
                empty[run_name] = "every row is in the block: no training rows"
            else:
                runs.append(_block_run(points, run_name, held, validation))
    for run in runs:
        check_grouped(points, run)
    return runs, empty


def _block_run(points: pd.DataFrame, name: str, held: np.ndarray, validation: str) -> SplitRun:
    """Test = ``held`` rows plus every other row of their paths (a path is never split); val: see
    :func:`_validation_rows`."""
    held = held | points[K.PATH_ID].isin(set(points.loc[held, K.PATH_ID])).to_numpy()
    rest = ~held
    val = rest & _validation_rows(points, held, validation)
    train = rest & ~val
    if not train.any():
        train, val = rest, np.zeros(len(points), bool)
    return SplitRun(name, list(np.flatnonzero(train)), list(np.flatnonzero(val)), list(np.flatnonzero(held)))
