"""Records -> tables: occupations per spin, pairs with both atoms, splits grouped by path and material."""

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from matdisco.hubbard import keys as K
from matdisco.hubbard.extract import extract
from matdisco.hubbard.records import merge_records
from matdisco.hubbard.report import settings_table
from matdisco.hubbard.splits import group_split
from matdisco.hubbard.tables import distinct_counts, spin_channels, u_table, v_table


def _record(material, strain, iteration, rng):
    path_id = f"{material}_strain{strain:+.1f}"
    ni = rng.uniform(0, 1, (2, 5, 5)).round(3)
    o = rng.uniform(0, 1, (1, 3, 3)).round(3)
    u = float(rng.uniform(5, 8))
    return {
        K.RECORD_ID: f"{path_id}/iter_{iteration}",
        K.PATH_ID: path_id,
        K.MATERIAL: material,
        K.STRAIN: strain,
        K.ITERATION: iteration,
        K.STATUS: "ok",
        K.CONVERGED: iteration == 2,
        K.CPU_TIME: 100.0,
        K.SITES: [
            {
                K.ATOM_INDEX: 1,
                K.SPECIES: "Ni",
                K.LABEL: "Ni1",
                K.OCCUPATIONS: ni.tolist(),
                K.MAGNETIC_MOMENT: 1.2,
                K.U_IN: 0.0,
                K.U_OUT: u,
            },
            {
                K.ATOM_INDEX: 2,
                K.SPECIES: "O",
                K.LABEL: "O",
                K.OCCUPATIONS: o.tolist(),
                K.MAGNETIC_MOMENT: 0.0,
                K.U_IN: 0.0,
                K.U_OUT: 8.0,
            },
        ],
        K.PAIRS: [
            {
                K.ATOM_I: 1,
                K.ATOM_J: 30,
                K.ATOM_J_CELL: 2,
                K.SPECIES_I: "Ni",
                K.SPECIES_J: "O",
                K.DISTANCE: 2.08,
                K.V_IN: 0.0,
                K.V_OUT: 0.8,
            },
        ],
    }


@pytest.fixture
def records():
    rng = np.random.default_rng(0)
    return [
        _record(m, s, k, rng)
        for m in ("NiO", "LiNiO2", "NiO2", "Li0.5NiO2")
        for s in (0.0, 2.0, -2.0)
        for k in range(3)
    ]


def test_spin_channels():
    up, down, m = spin_channels([np.eye(3).tolist()])
    assert m == 3 and up == down == np.eye(3).ravel().tolist()
    up, down, m = spin_channels([np.eye(5).tolist(), (2 * np.eye(5)).tolist()])
    assert m == 5 and down[0] == 2.0
    with pytest.raises(ValueError, match="expected"):
        spin_channels([[1.0, 2.0]])


def test_tables(records):
    u, v = u_table(records), v_table(records)
    assert len(u) == 2 * len(records) and len(v) == len(records)
    row = u.iloc[0]
    assert len(row[K.OCC_UP]) == 25 and row[K.OCC_UP] != row[K.OCC_DOWN]
    o_row = u[u[K.SPECIES] == "O"].iloc[0]
    assert o_row[K.OCC_UP] == o_row[K.OCC_DOWN] and o_row[K.N_ORBITALS] == 3
    pair = v.iloc[0]
    assert (pair[K.N_ORBITALS_I], pair[K.N_ORBITALS_J]) == (5, 3)
    assert pair[K.OCC_J_UP] == u[(u[K.RECORD_ID] == pair[K.RECORD_ID]) & (u[K.ATOM_INDEX] == 2)].iloc[0][K.OCC_UP]


def test_distinct_counts_count_equivalent_sites_and_pairs_once(records):
    record = records[0]
    o_twin = {**record[K.SITES][1], K.ATOM_INDEX: 3}  # a second O with the same U: symmetry-equivalent
    pairs = [{**record[K.PAIRS][0], K.ATOM_J: j, K.V_OUT: v} for j, v in ((30, 0.8), (31, 0.8004), (32, 0.9))]
    twin = {**record, K.SITES: [*record[K.SITES], o_twin], K.PAIRS: pairs}
    u, v = u_table([twin]), v_table([twin])
    assert (len(u), len(v)) == (3, 3)
    assert distinct_counts(u, v) == {
        "n_u_distinct": 2,
        "n_u_metal_distinct": 1,
        "n_v_distinct": 2,
    }  # 0.8004 rounds to 0.800
    assert distinct_counts(u_table(records), v_table(records))["n_u_distinct"] == 2 * len(records)


def test_group_split_is_seeded_and_complete():
    groups = [f"g{i}" for i in range(20)]
    first = group_split(groups, {"train": 0.7, "val": 0.15, "test": 0.15}, seed=3)
    assert first == group_split(groups, {"train": 0.7, "val": 0.15, "test": 0.15}, seed=3)
    assert sorted(pd.Series(first).value_counts().to_dict().items()) == [("test", 3), ("train", 14), ("val", 3)]


def test_group_split_by_stratum_holds_out_paths_of_each_material_with_three_or_more():
    paths = [f"A_{i}" for i in range(7)] + ["B_0", "B_1"] + ["C_0"]
    materials = [p.split("_")[0] for p in paths]
    fractions = {"train": 0.7, "val": 0.15, "test": 0.15}
    split = group_split(paths, fractions, seed=5, strata=materials)
    a = pd.Series({p: s for p, s in split.items() if p.startswith("A")}).value_counts().to_dict()
    assert a == {"train": 5, "val": 1, "test": 1}
    assert {split["B_0"], split["B_1"], split["C_0"]} == {"train"}
    assert split == group_split(paths, fractions, seed=5, strata=materials)


def test_extract_no_group_in_two_sets(records, tmp_path):
    merge_records(tmp_path / "datasets" / "records.jsonl", records)
    cfg = OmegaConf.create(
        {
            "seed": 1,
            "paths": {
                "processed": str(tmp_path / "processed"),
                "plots": str(tmp_path / "plots"),
                "metrics": str(tmp_path / "metrics"),
                "allow_outside_project": True,
            },
            "data": {
                "records": str(tmp_path / "datasets" / "records.jsonl"),
                "failures": str(tmp_path / "datasets" / "failures.jsonl"),
                "split": {"fractions": {"train": 0.7, "val": 0.15, "test": 0.15}, "seed": 1},
                "distinct_decimals": 3,
            },
        }
    )
    summary = extract(cfg)
    assert summary["n_records"] == 36 and summary["n_u"] == 72 and summary["n_u_metal"] == 36 and summary["n_v"] == 36
    u = pd.read_parquet(tmp_path / "processed" / "hubbard" / "u.parquet")
    v = pd.read_parquet(tmp_path / "processed" / "hubbard" / "v.parquet")
    for table in (u, v):
        assert (table.groupby(K.PATH_ID)[K.SPLIT_BY_PATH].nunique() == 1).all()
        assert (table.groupby(K.MATERIAL)[K.SPLIT_BY_MATERIAL].nunique() == 1).all()
        assert set(table[K.SPLIT_BY_PATH]) == {"train", "val", "test"}
    assert set(u[K.SPLIT_BY_MATERIAL]) == {"train", "val", "test"}
    assert len(u.iloc[0][K.OCC_UP]) == 25
    report = (tmp_path / "plots" / "hubbard" / "data_report.md").read_text()
    assert "| all |" in report and (tmp_path / "plots" / "hubbard" / "convergence_paths.png").is_file()
    assert "| NiO | not recorded | not recorded | not recorded | not recorded | not recorded | 9 |" in report
    assert (tmp_path / "metrics" / "hubbard" / "data.json").is_file()


def test_settings_table_shows_each_materials_settings_and_a_mix(records):
    """The data report's settings table: one row per material and combination of target-setting values, with
    its record count; a material whose records differ in k mesh gets two rows."""
    for record in records:
        k = [3, 3, 3] if record[K.MATERIAL] == "NiO" and record[K.ITERATION] == 0 else [4, 4, 4]
        record[K.SETTINGS] = {
            "ecutwfc_Ry": 50.0,
            "ecutrho_Ry": 400.0,
            "kpts": k,
            "qpts": [3, 3, 3],
            "occupations": "fixed",
        }
    table = settings_table(records).set_index(["material", "k mesh"])
    assert table.loc[("NiO", "3x3x3"), "records"] == 3 and table.loc[("NiO", "4x4x4"), "records"] == 6
    assert table.loc[("NiO2", "4x4x4"), "records"] == 9 and len(table) == 5
    assert table.loc[("NiO2", "4x4x4"), "ecutwfc (Ry)"] == "50" and table.loc[("NiO2", "4x4x4"), "q mesh"] == "3x3x3"
