"""Campaign records -> model-ready tables: one row per Hubbard site (U) or metal-O pair (V) per iteration.

- ``u_table``: species, occupations per spin (flattened m x m, ``occ_up``/``occ_down``), U_in and
  U_out (eV), moment, ids.
- ``v_table``: both atoms' species and occupations, distance (angstrom), V_in and V_out (eV), ids.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matdisco.core.errors import InputError
from matdisco.core.io import atomic_path
from matdisco.hubbard import keys as K


def spin_channels(occupations: list) -> tuple[list[float], list[float], int]:
    """(up, down, m) from a (nspin, m, m) nested list; down = up for a non-magnetic (nspin 1) site."""
    array = np.asarray(occupations, dtype=float)
    if array.ndim != 3 or array.shape[1] != array.shape[2] or array.shape[0] not in (1, 2):
        raise InputError(f"occupations of shape {array.shape}", expected="(nspin, m, m) with nspin 1 or 2")
    up = array[0]
    down = array[1] if array.shape[0] == 2 else array[0]
    return up.ravel().tolist(), down.ravel().tolist(), int(array.shape[1])


def _ids(record: dict[str, Any]) -> dict[str, Any]:
    return {
        **{key: record[key] for key in (K.RECORD_ID, K.PATH_ID, K.MATERIAL, K.STRAIN, K.ITERATION, K.CONVERGED)},
        K.DISTORTION: record.get(K.DISTORTION),
    }


def u_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per Hubbard site of every ok record (columns: keys.U_* , OCC_*, SPECIES, ids)."""
    rows = []
    for record in records:
        for site in record[K.SITES]:
            up, down, m = spin_channels(site[K.OCCUPATIONS])
            rows.append(
                {
                    **_ids(record),
                    K.ATOM_INDEX: site[K.ATOM_INDEX],
                    K.SPECIES: site[K.SPECIES],
                    K.LABEL: site[K.LABEL],
                    K.N_ORBITALS: m,
                    K.OCC_UP: up,
                    K.OCC_DOWN: down,
                    K.MAGNETIC_MOMENT: site[K.MAGNETIC_MOMENT],
                    K.U_IN: site[K.U_IN],
                    K.U_OUT: site[K.U_OUT],
                }
            )
    return pd.DataFrame(rows)


def v_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per inter-site pair of every ok record, with the occupations of both atoms."""
    rows = []
    for record in records:
        sites = {site[K.ATOM_INDEX]: site for site in record[K.SITES]}
        for pair in record[K.PAIRS]:
            i, j = pair[K.ATOM_I], pair[K.ATOM_J_CELL]
            if i not in sites or j not in sites:
                raise InputError(
                    f"pair ({i}, {pair[K.ATOM_J]}) has an atom without occupations", where=record[K.RECORD_ID]
                )
            i_up, i_down, m_i = spin_channels(sites[i][K.OCCUPATIONS])
            j_up, j_down, m_j = spin_channels(sites[j][K.OCCUPATIONS])
            rows.append(
                {
                    **_ids(record),
                    K.ATOM_I: i,
                    K.ATOM_J: pair[K.ATOM_J],
                    K.ATOM_J_CELL: j,
                    K.SPECIES_I: pair[K.SPECIES_I],
                    K.SPECIES_J: pair[K.SPECIES_J],
                    K.DISTANCE: pair[K.DISTANCE],
                    K.N_ORBITALS_I: m_i,
                    K.N_ORBITALS_J: m_j,
                    K.OCC_I_UP: i_up,
                    K.OCC_I_DOWN: i_down,
                    K.OCC_J_UP: j_up,
                    K.OCC_J_DOWN: j_down,
                    K.V_IN: pair[K.V_IN],
                    K.V_OUT: pair[K.V_OUT],
                }
            )
    return pd.DataFrame(rows)


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
        return int(
            table.assign(_value=table[value].round(decimals)).drop_duplicates([K.RECORD_ID, *by, "_value"]).shape[0]
        )

    metals = u[u[K.SPECIES] != "O"]
    return {
        "n_u_distinct": count(u, [K.SPECIES], K.U_OUT),
        "n_u_metal_distinct": count(metals, [K.SPECIES], K.U_OUT),
        "n_v_distinct": count(v, [K.SPECIES_I, K.SPECIES_J], K.V_OUT),
    }
