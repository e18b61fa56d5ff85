"""Hubbard U/V training on tiny synthetic tables (made here with the extract's own table builders)."""

import json

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from matdisco.core.config import compose
from matdisco.core.errors import ConfigError
from matdisco.hubbard import keys as K
from matdisco.hubbard.data import load_points
from matdisco.hubbard.features import CONVERGED, select_points
from matdisco.hubbard.splits import BY_PATH, SplitRun, add_splits, check_grouped, split_runs
from matdisco.hubbard.tables import u_table, v_table
from matdisco.hubbard.train import train
from tiny import HUBBARD_MODEL, TRAINING

torch.set_num_threads(1)  # the shared machine is loaded: several threads thrash (conf/config.yaml)


def _occ(rng, m, scale):
    a = rng.normal(size=(m, m)) * scale
    return (0.5 * np.eye(m) + a @ a.T / m).round(3)


def synthetic_records(materials=("CoO", "NiO", "FeO"), strains=(0.0, 0.02, -0.02), iterations=2, seed=0):
    """Records shaped like the campaign's (sites with occupations, metal-O pairs), U/V from the occupations."""
    rng = np.random.default_rng(seed)
    records = []
    for material in materials:
        metal = material[:-1]
        for strain in strains:
            path = f"{material}_strain{strain * 100:+.1f}pct"
            u_in, v_in = 0.0, 0.0
            for it in range(iterations):
                d_occ = [_occ(rng, 5, 0.3), _occ(rng, 5, 0.3)]
                p_occ = [_occ(rng, 3, 0.2)] * 2
                u_out = round(4.0 + 2.0 * float(np.trace(d_occ[0] + d_occ[1])) / 5 + 0.3 * u_in / 5, 4)
                v_out = round(0.8 + 0.1 * float(np.trace(p_occ[0])) - strain, 4)
                records.append(
                    {
                        K.RECORD_ID: f"{path}/iter_{it}",
                        K.PATH_ID: path,
                        K.MATERIAL: material,
                        K.STRAIN: strain,
                        K.ITERATION: it,
                        K.CONVERGED: it == iterations - 1,
                        K.SITES: [
                            {
                                K.ATOM_INDEX: 1,
                                K.SPECIES: metal,
                                K.LABEL: metal,
                                K.OCCUPATIONS: d_occ,
                                K.MAGNETIC_MOMENT: 1.0,
                                K.U_IN: u_in,
                                K.U_OUT: u_out,
                            },
                            {
                                K.ATOM_INDEX: 2,
                                K.SPECIES: "O",
                                K.LABEL: "O",
                                K.OCCUPATIONS: p_occ,
                                K.MAGNETIC_MOMENT: 0.0,
                                K.U_IN: 0.0,
                                K.U_OUT: 8.0 + strain,
                            },
                        ],
                        K.PAIRS: [
                            {
                                K.ATOM_I: 1,
                                K.ATOM_J: 2 + 2 * k,
                                K.ATOM_J_CELL: 2,
                                K.SPECIES_I: metal,
                                K.SPECIES_J: "O",
                                K.DISTANCE: 2.1 * (1 + strain),
                                K.V_IN: v_in,
                                K.V_OUT: v_out,
                            }
                            for k in range(2)
                        ],
                    }
                )
                u_in, v_in = u_out, v_out
    return records


def write_tables(root, records):
    u, v = u_table(records), v_table(records)
    add_splits([u, v], records, {"train": 0.6, "val": 0.2, "test": 0.2}, seed=1)
    (root / "processed" / "hubbard").mkdir(parents=True, exist_ok=True)
    u.to_parquet(root / "processed" / "hubbard" / "u.parquet")
    v.to_parquet(root / "processed" / "hubbard" / "v.parquet")
    return u, v


def tiny_cfg(root, model="hubbard_u", **training):
    epochs = training.pop("max_epochs", 4)
    cfg = compose([f"model={model}", "data=hubbard", *TRAINING, *HUBBARD_MODEL, f"trainer.max_epochs={epochs}"])
    OmegaConf.set_struct(cfg, False)
    for kind in ("processed", "models", "metrics", "plots", "results", "logs"):
        cfg.paths[kind] = str(root / kind)
    cfg.paths.allow_outside_project = True
    cfg.model.training.update(training)
    return cfg


def test_grouped_splits_keep_each_path_in_one_set(tmp_path):
    write_tables(tmp_path, synthetic_records())
    cfg = tiny_cfg(tmp_path)
    points = load_points(cfg)
    (run,) = split_runs(points, [BY_PATH])
    sets = [set(points.iloc[rows][K.PATH_ID]) for rows in (run.train, run.val, run.test)]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    assert sorted(run.train + run.val + run.test) == list(range(len(points)))
    with pytest.raises(ConfigError, match="data.evaluate.blocked"):  # held-out materials are evaluate's blocks
        split_runs(points, ["lomo"])
    bad = SplitRun("bad", [0], [1], [])  # rows 0 and 1 are the same path (two sites of one iteration)
    with pytest.raises(Exception, match="in both train and val"):
        check_grouped(points, bad)


def test_converged_target_uses_first_iteration_and_final_value():
    u = u_table(synthetic_records(materials=("CoO",), strains=(0.0,), iterations=3))
    points = select_points(u, K.U_IN, K.U_OUT, CONVERGED, (K.ATOM_INDEX,))
    assert set(points[K.ITERATION]) == {0}
    final = u[(u[K.ITERATION] == 2) & (u[K.ATOM_INDEX] == 1)][K.U_OUT].item()
    assert points[points[K.ATOM_INDEX] == 1]["target_eV"].item() == final


def test_train_u_on_tiny_tables(tmp_path):
    write_tables(tmp_path, synthetic_records())
    result = train(tiny_cfg(tmp_path))
    assert result["splits_trained"] == [BY_PATH]
    assert (tmp_path / "models" / "hubbard" / "hubbard_u" / BY_PATH / "member_0.pt").is_file()


def test_v_on_one_path_skips_instead_of_crashing(tmp_path):
    write_tables(tmp_path, synthetic_records(materials=("CoO",), strains=(0.0,), iterations=1))
    cfg = tiny_cfg(tmp_path, model="hubbard_v")
    result = train(cfg)
    assert result["splits_trained"] + list(result["splits_skipped"]) == [BY_PATH]


def test_converged_variant_trains_under_its_own_name(tmp_path):
    write_tables(tmp_path, synthetic_records(materials=("CoO", "NiO", "FeO"), iterations=3))
    cfg = tiny_cfg(tmp_path, target="converged", splits=[BY_PATH])
    cfg.model.use_hubbard_in = False
    result = train(cfg)
    assert result["model_dir"].endswith("hubbard_u_converged") and result["n_points"] == 9 * 2  # iteration 0 only


def test_a_hubbard_model_step_without_a_hubbard_model_config_names_the_choice():
    from matdisco.core.errors import ConfigError
    from matdisco.hubbard.data import table_spec

    with pytest.raises(ConfigError, match="model=hubbard_u or model=hubbard_v"):
        table_spec(compose(["data=hubbard"]))


def test_training_uses_each_symmetry_equivalent_pair_once(tmp_path):
    _, v = write_tables(tmp_path, synthetic_records())  # every record: two equivalent pairs (same V)
    train(tiny_cfg(tmp_path, model="hubbard_v", splits=[BY_PATH]))
    summary = json.loads((tmp_path / "models" / "hubbard" / "hubbard_v" / "train_summary.json").read_text())
    train_records = v[v[K.SPLIT_BY_PATH] == "train"][K.RECORD_ID].nunique()
    assert summary["splits"][BY_PATH]["n_train_distinct"] == train_records == (v[K.SPLIT_BY_PATH] == "train").sum() // 2
