"""The hubbard_extract step: campaign records -> model-ready tables, grouped splits, data report.

Outputs (folders from ``cfg.paths``):
- ``processed/hubbard/u.parquet``: one row per Hubbard site per iteration: species, occupations
  per spin (flattened m x m, ``occ_up``/``occ_down``), U_in and U_out (eV), moment, ids.
- ``processed/hubbard/v.parquet``: one row per metal-O pair per iteration: both atoms' species and
  occupations, distance (angstrom), V_in and V_out (eV), ids.
- Split labels in both tables: ``split_by_path`` (every iteration of one structure in one set)
  and ``split_by_material`` (every structure of one material in one set).
- ``plots/hubbard/``: data_report.md and PNG plots; ``metrics/hubbard/data.json``: counts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matdisco.core.config import artifact
from matdisco.core.errors import InputError
from matdisco.core.io import atomic_path, atomic_write_json
from matdisco.hubbard import keys as K
from matdisco.hubbard.campaign import read_records
from matdisco.hubbard.report import write_report

SPLITS = ("train", "val", "test")


def spin_channels(occupations: list) -> tuple[list[float], list[float], int]:
    """(up, down, m) from a (nspin, m, m) nested list; down = up for a non-magnetic (nspin 1) site."""
    array = np.asarray(occupations, dtype=float)
    if array.ndim != 3 or array.shape[1] != array.shape[2] or array.shape[0] not in (1, 2):
        raise InputError(f"occupations of shape {array.shape}", expected="(nspin, m, m) with nspin 1 or 2")
    up = array[0]
    down = array[1] if array.shape[0] == 2 else array[0]
    return up.ravel().tolist(), down.ravel().tolist(), int(array.shape[1])


def _ids(record: dict[str, Any]) -> dict[str, Any]:
    return {**{key: record[key] for key in (K.RECORD_ID, K.PATH_ID, K.MATERIAL, K.STRAIN, K.ITERATION, K.CONVERGED)},
            K.DISTORTION: record.get(K.DISTORTION)}


def u_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per Hubbard site of every ok record (columns: keys.U_* , OCC_*, SPECIES, ids)."""
    rows = []
    for record in records:
        for site in record[K.SITES]:
            up, down, m = spin_channels(site[K.OCCUPATIONS])
            rows.append({
                **_ids(record), K.ATOM_INDEX: site[K.ATOM_INDEX], K.SPECIES: site[K.SPECIES], K.LABEL: site[K.LABEL],
                K.N_ORBITALS: m, K.OCC_UP: up, K.OCC_DOWN: down, K.MAGNETIC_MOMENT: site[K.MAGNETIC_MOMENT],
                K.U_IN: site[K.U_IN], K.U_OUT: site[K.U_OUT],
            })
    return pd.DataFrame(rows)


def v_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per inter-site pair of every ok record, with the occupations of both atoms."""
    rows = []
    for record in records:
        sites = {site[K.ATOM_INDEX]: site for site in record[K.SITES]}
        for pair in record[K.PAIRS]:
            i, j = pair[K.ATOM_I], pair[K.ATOM_J_CELL]
            if i not in sites or j not in sites:
                raise InputError(f"pair ({i}, {pair[K.ATOM_J]}) has an atom without occupations", where=record[K.RECORD_ID])
            i_up, i_down, m_i = spin_channels(sites[i][K.OCCUPATIONS])
            j_up, j_down, m_j = spin_channels(sites[j][K.OCCUPATIONS])
            rows.append({
                **_ids(record), K.ATOM_I: i, K.ATOM_J: pair[K.ATOM_J], K.ATOM_J_CELL: j,
                K.SPECIES_I: pair[K.SPECIES_I], K.SPECIES_J: pair[K.SPECIES_J], K.DISTANCE: pair[K.DISTANCE],
                K.N_ORBITALS_I: m_i, K.N_ORBITALS_J: m_j, K.OCC_I_UP: i_up, K.OCC_I_DOWN: i_down,
                K.OCC_J_UP: j_up, K.OCC_J_DOWN: j_down, K.V_IN: pair[K.V_IN], K.V_OUT: pair[K.V_OUT],
            })
    return pd.DataFrame(rows)


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


def write_parquet(table: pd.DataFrame, path: Path) -> Path:
    """Write ``table`` atomically as parquet."""
    with atomic_path(path) as tmp:
        table.to_parquet(tmp, index=False)
    return path


def distinct_counts(u: pd.DataFrame, v: pd.DataFrame, decimals: int = 3) -> dict[str, int]:
    """Distinct values per iteration, summed: symmetry-equivalent sites (pairs) of one calculation
    carry the same U (V) and the same occupations up to a rotation, so they count once. Values are
    compared rounded to ``decimals`` eV per species (pair of species)."""
    def count(table: pd.DataFrame, by: list[str], value: str) -> int:
        if table.empty:
            return 0
        return int(table.assign(_value=table[value].round(decimals)).drop_duplicates([K.RECORD_ID, *by, "_value"]).shape[0])

    metals = u[u[K.SPECIES] != "O"]
    return {"n_u_distinct": count(u, [K.SPECIES], K.U_OUT), "n_u_metal_distinct": count(metals, [K.SPECIES], K.U_OUT),
            "n_v_distinct": count(v, [K.SPECIES_I, K.SPECIES_J], K.V_OUT)}


def extract(cfg) -> dict[str, Any]:
    """Records (``cfg.data.records``) -> u/v parquet tables with splits, data report, counts."""
    records_path = Path(cfg.data.records)
    records = [r for r in read_records(records_path) if r[K.STATUS] == "ok"]
    if not records:
        raise InputError("no ok records", where=str(records_path), expected="the committed Hubbard data set")
    failures = read_records(Path(cfg.data.failures))
    u, v = u_table(records), v_table(records)
    split = cfg.data.split
    add_splits([u, v], records, dict(split.fractions), int(split.seed))
    out = artifact(cfg, "processed", "hubbard")
    write_parquet(u, out / "u.parquet")
    write_parquet(v, out / "v.parquet")
    summary = {
        "n_records": len(records),
        "n_failed": len(failures),
        "n_paths": len({r[K.PATH_ID] for r in records}),
        "n_materials": len({r[K.MATERIAL] for r in records}),
        "n_u": len(u),
        "n_u_metal": int((u[K.SPECIES] != "O").sum()),
        "n_v": len(v),
        **distinct_counts(u, v),
        "core_hours": round(sum(r[K.CPU_TIME] for r in records + failures) / 3600.0, 2),  # wall x ranks, ok + failed
        "qe_cpu_hours": round(sum(r.get(K.QE_CPU_TIME, 0.0) for r in records + failures) / 3600.0, 2),  # what QE reports
        "n_without_qe_cpu_time": sum(K.QE_CPU_TIME not in r for r in records + failures),
    }
    write_report(artifact(cfg, "plots", "hubbard"), records, failures, u, v, summary)
    atomic_write_json(artifact(cfg, "metrics", "hubbard", "data.json"), summary)
    return summary
