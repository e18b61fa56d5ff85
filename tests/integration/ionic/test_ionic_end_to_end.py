"""A tiny extract -> train (both models) -> evaluate -> screen run on a slice of the real snapshot."""

import json

import pandas as pd

from matdisco import ionic
from matdisco.ionic import keys
from matdisco.ionic.sources import fetch_raw
from tiny import IONIC_SPLIT, TRAINING

TINY = [*IONIC_SPLIT, *TRAINING, "trainer.max_epochs=8", "model.training.n_members=2"]


def _tiny_raw(raw_dir, n_salts: int = 24) -> None:
    """The real snapshot cut to ``n_salts`` salt names from its 41st on (its opening 22 are one
    source at 1/1000 of independent series that curation's source-consistency rule drops whole); names tables whole."""
    fetch_raw(raw_dir)
    path = raw_dir / "ionic" / "electrical_conductivity.csv"
    table = pd.read_csv(path)
    keep = table[keys.RAW_SALT_NAME].drop_duplicates().iloc[40 : 40 + n_salts]
    table[table[keys.RAW_SALT_NAME].isin(keep)].to_csv(path, index=False)


def test_tiny_pipeline_runs_and_writes_every_artifact(make_cfg, tmp_path):
    _tiny_raw(tmp_path / "raw")
    summary = ionic.extract(make_cfg("data=ionic", *TINY))
    assert summary["n_ils"] >= 15
    for model in ("ionic_additive", "ionic_gnn"):
        result = ionic.train(
            make_cfg(f"model={model}", "model.hidden=16", *TINY)
            if model == "ionic_gnn"
            else make_cfg(f"model={model}", *TINY)
        )
        assert result["objective"] > 0
    members = {
        split.name: len(list(split.glob("member_*.pt")))
        for split in (tmp_path / "models" / "ionic" / "ionic_gnn").iterdir()
        if split.is_dir()
    }
    assert members.pop("default") == 2 and set(members.values()) == {1}, "kfold_members=1 on the k-fold splits"
    cfg = make_cfg("model=ionic_gnn", *TINY)
    ionic.evaluate(cfg)
    metrics = json.loads((tmp_path / "metrics" / "ionic" / "evaluate.json").read_text())
    assert set(metrics["predictors"]) == {
        "ionic_additive",
        "ionic_gnn",
        "ridge_additive",
        "temperature_only",
        "ion_identity",
        "walden_ridge",
        "gbm_descriptors",
        "gbm_gnn_mean",
    }
    assert metrics["predictors"]["gbm_gnn_mean"]["kind"] == "model"
    assert set(metrics["calibration"]["gbm_descriptors"]["half_width_ln"]) == {"seen", "unseen_ion"}
    assert metrics["predictors"]["ionic_gnn"]["kfold"]["n_folds"] == 2
    assert (
        "ionic_gnn_minus_ionic_additive" in metrics["differences"]
        and "ionic_gnn_minus_temperature_only" in metrics["differences"]
    )
    assert (tmp_path / "plots" / "ionic" / "parity.png").stat().st_size > 1000
    # the baselines use their own T_ref (data.evaluate), not that of the model that routed the step
    ionic.evaluate(make_cfg("model=ionic_additive", "model.temperature_reference_K=350.0", *TINY))
    rerun = json.loads((tmp_path / "metrics" / "ionic" / "evaluate.json").read_text())
    assert rerun["predictors"]["ridge_additive"] == metrics["predictors"]["ridge_additive"]
    screened = ionic.generate(
        make_cfg(
            "model=ionic_gnn", "data.screening.model=ionic_gnn", "data.screening.temperatures_K=[298.15,350.0]", *TINY
        )
    )
    table = pd.read_csv(tmp_path / "results" / "ionic" / "screening.csv")
    assert len(table) == 2 * screened["n_pairs"]
    assert table[keys.PRED_LN_SIGMA_STD].gt(0).all(), "a 2-member ensemble gives a spread"
    assert table["half_width_ln"].notna().all(), "the calibration of ionic_gnn from the evaluation is used"
    assert (tmp_path / "models" / "ionic" / "ionic_additive" / "atom_type_parameters_member_0.csv").is_file()


def test_same_config_gives_same_metrics(make_cfg, tmp_path):
    _tiny_raw(tmp_path / "raw", n_salts=12)
    cfg = make_cfg("model=ionic_additive", "data.split.kfold=false", *TINY)
    ionic.extract(cfg)
    first = ionic.train(cfg)["objective"]
    assert ionic.train(cfg)["objective"] == first


def test_bench_reports_training_time_throughput_and_memory(make_cfg, tmp_path):
    _tiny_raw(tmp_path / "raw", n_salts=12)
    results = ionic.bench(make_cfg("data.split.n_test=3", "data.split.n_folds=2"), max_epochs=2)
    for model in ("ionic_additive", "ionic_gnn"):
        entry = results["models"][model]
        assert entry["train_wall_s_one_member_default_split"] > 0
        assert entry["grid_predictions"] == entry["n_pairs"] * entry["grid_n_temperatures"]
        assert entry["grid_predictions_per_s"] > 0
    assert results["peak_rss_MiB"] > 0
