"""Grouped splits of the Hubbard tables: no self-consistent path (or material) in two sets.

- extract labels every row with ``split_by_path`` (paths split within each material, so every
  held-out path has training paths of its own material) and ``split_by_material``;
- train and evaluate rebuild the same runs from those labels: ``by_path`` and ``lomo``
  (leave-one-material-out, one fold per material).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from matdisco.core.errors import ConfigError, InputError
from matdisco.hubbard import keys as K

SPLITS = ("train", "val", "test")
BY_PATH, LOMO = "by_path", "lomo"


def group_split(groups: list[str], fractions: dict[str, float], seed: int, strata: list[str] | None = None) -> dict[str, str]:
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


def add_splits(tables: list[pd.DataFrame], records: list[dict[str, Any]], fractions: dict[str, float], seed: int) -> None:
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
