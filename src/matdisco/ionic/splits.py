"""Splits by ionic liquid, never by point: a default train/val/test split and grouped k folds."""

from __future__ import annotations

import numpy as np

from matdisco.core.errors import ConfigError

SETS = ("train", "val", "test")


def _train_val(ils: np.ndarray, val_fraction: float) -> tuple[list[str], list[str]]:
    """First ``val_fraction`` of the (already shuffled) ``ils`` as validation, the rest as training."""
    n_val = int(round(val_fraction * len(ils)))
    return sorted(ils[n_val:].tolist()), sorted(ils[:n_val].tolist())


def grouped_splits(il_ids, n_test: int, val_fraction: float, n_folds: int, seed: int) -> dict:
    """Seeded IL-level splits.

    Returns ``{"default": {"train","val","test": [il ids]}, "folds": [same, ...]}``: the default split
    holds out ``n_test`` ILs; fold k holds out the k-th of ``n_folds`` near-equal chunks of a second
    shuffle, so every IL is held out exactly once over the folds. Validation ILs come from the
    training side of each split.
    """
    ils = np.array(sorted(set(il_ids)))
    if not 0 < n_test < len(ils):
        raise ConfigError(f"split.n_test={n_test} must be between 1 and the number of ILs - 1 ({len(ils) - 1})")
    if n_folds < 2:
        raise ConfigError(f"split.n_folds={n_folds} must be at least 2")
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(ils)
    train, val = _train_val(shuffled[n_test:], val_fraction)
    splits = {"default": {"train": train, "val": val, "test": sorted(shuffled[:n_test].tolist())}, "folds": []}
    chunks = np.array_split(rng.permutation(ils), n_folds)
    for k, held_out in enumerate(chunks):
        rest = rng.permutation(np.concatenate([c for j, c in enumerate(chunks) if j != k]))
        train, val = _train_val(rest, val_fraction)
        splits["folds"].append({"train": train, "val": val, "test": sorted(held_out.tolist())})
    for name, split in named_splits(splits):
        assert_disjoint(split, name)
    return splits


def settings_problems(splits: dict, n_test: int, val_fraction: float, n_folds: int) -> list[str]:
    """``data.split.<key>=<value>`` for every setting that ``splits`` (from :func:`grouped_splits`) was
    not made with, judged by its sizes: with one seed, equal sizes mean the identical split."""
    default = splits["default"]
    n_train_side = len(default["train"]) + len(default["val"])
    made = {
        "n_test": (len(default["test"]), n_test, "test ILs"),
        "val_fraction": (len(default["val"]), int(round(val_fraction * n_train_side)), "validation ILs"),
        "n_folds": (len(splits["folds"]), n_folds, "folds"),
    }
    given = {"n_test": n_test, "val_fraction": val_fraction, "n_folds": n_folds}
    return [
        f"data.split.{key}={given[key]} asks for {wanted} {what}, the split holds {held}"
        for key, (held, wanted, what) in made.items()
        if held != wanted
    ]


def named_splits(splits: dict) -> list[tuple[str, dict]]:
    """[("default", split), ("fold_0", split), ...] in a fixed order."""
    return [("default", splits["default"])] + [(f"fold_{k}", fold) for k, fold in enumerate(splits["folds"])]


def assert_disjoint(split: dict, name: str) -> None:
    """Raise if any IL appears in two of train/val/test of ``split``."""
    for i, a in enumerate(SETS):
        for b in SETS[i + 1 :]:
            shared = set(split[a]) & set(split[b])
            if shared:
                raise ValueError(f"split {name}: ILs in both {a} and {b}: {sorted(shared)[:5]}")
