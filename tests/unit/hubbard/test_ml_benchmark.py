"""make bench for the Hubbard models runs without trained models or records (speed only, clear notes)."""

import torch
from omegaconf import OmegaConf

from matdisco.core.config import compose
from matdisco.hubbard.bench import bench

torch.set_num_threads(1)  # the shared machine is loaded: several threads thrash (conf/config.yaml)


def test_bench_without_models_or_records(tmp_path):
    cfg = compose([])
    OmegaConf.set_struct(cfg, False)
    cfg.paths.allow_outside_project = True
    cfg.paths.models = str(tmp_path / "models")
    cfg.paths.datasets = str(tmp_path / "datasets")
    out = bench(cfg)
    assert (
        out["u_model"].startswith("untrained")
        and out["u_ensemble_points_per_s"] > 0
        and out["v_featurise_points_per_s"] > 0
    )
    assert out["hp_to_ml_speed_ratio"] is None and "no records" in out["hp_note"]
