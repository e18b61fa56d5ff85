"""The Hubbard evaluation on tiny synthetic tables: every variant and holdout, the model next to every
baseline on identical, symmetry-distinct rows, blocked models that never see a held-out path."""

import importlib
import json

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf
from test_ml_training import synthetic_records, tiny_cfg, write_tables

from matdisco.core.config import compose
from matdisco.hubbard import keys as K
from matdisco.hubbard.baselines import BASELINES, PERSISTENCE
from matdisco.hubbard.scoring import FOLD, GROUP, MODEL, baseline_column
from matdisco.hubbard.train import train
from tiny import HUBBARD_MODEL, TRAINING

E = importlib.import_module("matdisco.hubbard.evaluate")  # the module: the package exports the function under its name

TINY = [*HUBBARD_MODEL, *TRAINING]


def eval_cfg(root, variants=("hubbard_u", "hubbard_v")):
    cfg = compose(["data=hubbard", "logger=csv"])
    OmegaConf.set_struct(cfg, False)
    for kind in ("processed", "models", "metrics", "plots", "results", "logs"):
        cfg.paths[kind] = str(root / kind)
    cfg.paths.allow_outside_project = True
    cfg.data.evaluate.variants = {name: cfg.data.evaluate.variants[name] for name in variants}
    cfg.data.evaluate.bootstrap.n_resamples = 50
    return cfg


def cobalt_records():
    """Three Co oxides (so a left-out material's species is known), 3 strains x 2 iterations each; every
    record has 2 symmetry-equivalent Co-O pairs."""
    records = []
    for seed, material in enumerate(("CoO", "LiCoO", "Li0.5CoO")):
        for record in synthetic_records(materials=("CoO",), seed=seed):
            record[K.MATERIAL] = material
            record[K.PATH_ID] = record[K.PATH_ID].replace("CoO", material)
            record[K.RECORD_ID] = record[K.RECORD_ID].replace("CoO", material)
            records.append(record)
    return records


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """The by_path models of hubbard_train on :func:`cobalt_records`, then the evaluation with blocked
    holdouts (one without rows), recording the rows every blocked model is fitted on."""
    root = tmp_path_factory.mktemp("hubbard_eval")
    u, v = write_tables(root, cobalt_records())
    for model in ("hubbard_u", "hubbard_v"):
        train(tiny_cfg(root, model=model, splits=["by_path"]))
    cfg = eval_cfg(root)
    blocked = cfg.data.evaluate.blocked
    cfg.data.evaluate.blocked = {
        "strain_high": blocked.strain_high,
        "distortion": blocked.distortion,
        "lomo": blocked.lomo,
        "strain_huge": {"type": "range", "column": "strain", "min": 0.5},
    }
    seen = []
    fit = E.fit_ensemble

    def recording_fit(cfg, points, run, n_members, metadata):
        seen.append((run.name, set(points.iloc[run.train + run.val][K.PATH_ID]), set(points.iloc[run.test][K.PATH_ID])))
        return fit(cfg, points, run, n_members, metadata)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(E, "fit_ensemble", recording_fit)
        E.evaluate(cfg, TINY)
    metrics = json.loads((root / "metrics" / "hubbard" / "evaluate.json").read_text())["variants"]
    return {"root": root, "u": u, "v": v, "metrics": metrics, "seen": seen}


def test_every_variant_and_holdout_is_scored_or_reported(evaluated):
    for variant in ("hubbard_u", "hubbard_v"):
        result = evaluated["metrics"][variant]
        assert set(result["schemes"]) == {
            "extract_split",
            "strain_high",
            "lomo_CoO",
            "lomo_Li0.5CoO",
            "lomo_LiCoO",
            "lomo (pooled)",
        }
        pooled = result["schemes"]["lomo (pooled)"]
        assert pooled["n_distinct"] == sum(
            result["schemes"][f"lomo_{m}"]["n_distinct"] for m in ("CoO", "Li0.5CoO", "LiCoO")
        )
        assert result["skipped"] == {
            "strain_huge": "no rows with strain in [0.5, None]",
            "distortion": "no rows with a value of distortion",
        }
    table = (evaluated["root"] / "results" / "hubbard" / "evaluation.md").read_text()
    assert "not** the values" in table and "- strain_huge: no rows" in table
    # a material held out: the per-material baselines fall back to the species mean, shown as one row
    assert "| lomo_CoO | species_mean = material_species_mean = linear = nearest_structure |" in table
    assert "| extract_split | linear |" in table


def test_blocked_models_never_see_a_held_out_path(evaluated):
    names = {name for name, _, _ in evaluated["seen"]}
    assert names == {"strain_high", "lomo_CoO", "lomo_Li0.5CoO", "lomo_LiCoO"}
    for name, fitted, held in evaluated["seen"]:
        assert held and not fitted & held, name


def test_symmetry_equivalent_pairs_count_once(evaluated):
    v, result = evaluated["v"], evaluated["metrics"]["hubbard_v"]["schemes"]["lomo_CoO"]
    co_rows = v[v[K.MATERIAL] == "CoO"]
    assert len(co_rows) == 2 * co_rows[K.RECORD_ID].nunique()  # two equivalent pairs per record
    assert result["n_distinct"] == co_rows[K.RECORD_ID].nunique() and result["n_paths"] == 3
    assert result["predictors"][MODEL]["n"] == result["n_distinct"]


def test_each_baseline_is_scored_on_the_models_rows(evaluated):
    frame = pd.read_csv(evaluated["root"] / "plots" / "hubbard_ml" / "hubbard_u" / "predictions.csv")
    assert set(frame[FOLD]) == set(evaluated["metrics"]["hubbard_u"]["schemes"]) - {"lomo (pooled)"}
    for fold, rows in frame.groupby(FOLD):
        entry = evaluated["metrics"]["hubbard_u"]["schemes"][fold]
        assert entry["predictors"][MODEL]["n"] == len(rows) == entry["n_distinct"]
        for name in BASELINES:
            values = rows[baseline_column(name)]
            applied = (rows[K.ITERATION] >= 1) & (rows[GROUP] != "O")  # U of O is computed, never applied (U_in = 0)
            expected = int(applied.sum()) if name == PERSISTENCE else len(rows)
            assert values.notna().sum() == expected, (fold, name)
            if expected:
                assert entry["predictors"][name]["n"] == entry["model_minus_baseline"][name]["n"] == expected
                assert np.isfinite(entry["model_minus_baseline"][name]["ci_low"])


def test_a_variant_without_rows_or_models_is_reported_not_crashing(tmp_path):
    records = synthetic_records(materials=("CoO",), iterations=1)
    for record in records:
        record[K.CONVERGED] = False  # no converged path: the converged target has no rows
    write_tables(tmp_path, records)
    cfg = eval_cfg(tmp_path, variants=("hubbard_u", "hubbard_u_converged"))
    out = E.evaluate(cfg, TINY)
    result = json.loads((tmp_path / "metrics" / "hubbard" / "evaluate.json").read_text())["variants"]
    assert "no trained model" in result["hubbard_u"]["skipped"]["extract_split"]
    assert out["hubbard_u_converged"]["holdouts"] == [] and result["hubbard_u_converged"]["skipped"] == {
        "extract_split": "no rows for this target"
    }
    assert "| (none) |" in (tmp_path / "results" / "hubbard" / "evaluation.md").read_text()


def test_a_variant_key_that_does_not_match_its_overrides_names_both(tmp_path):
    from matdisco.core.errors import ConfigError

    cfg = eval_cfg(tmp_path, variants=("hubbard_u",))
    cfg.data.evaluate.variants = {"hubbard_v": {"model": "hubbard_u", "target": "next", "use_hubbard_in": True}}
    with pytest.raises(ConfigError, match="variants.hubbard_v composes the variant 'hubbard_u'"):
        E.evaluate(cfg, TINY)


def test_holdout_fits_log_to_the_blocked_logger_not_the_runs_logger():
    cfg = compose(["data=hubbard"])
    assert cfg.logger.kind == "wandb"
    variant = E.variant_config(cfg, cfg.data.evaluate.variants.hubbard_u, [])
    assert variant.logger.kind == cfg.data.evaluate.blocked_logger == "csv"
    assert variant.model.name == "hubbard_u" and variant.paths == cfg.paths


def test_the_stage_command_line_reaches_every_variant_fit(tmp_path):
    """trainer.*, trainer= and logger= on the evaluate command line win over the variant's schedule and
    the blocked logger; params.yaml (dvc exp run -S) reaches the variant's model section."""
    from omegaconf import OmegaConf as OC

    params = tmp_path / "params.yaml"
    params.write_text(OC.to_yaml(compose(["hubbard_u.n_layers=1"], config_name="params"), resolve=True))
    command_line = ["data=hubbard", f"params_file={params}", "trainer.max_epochs=2", "logger=none"]
    # a data value on the stage's command line is the stage's (it reaches the variant through cfg.data); the
    # old prefix filter passed it to the variant's composition, where data is conf/'s default and it fails
    command_line.append("data.evaluate.blocked_members=2")
    cfg = compose(command_line)
    for name, spec in cfg.data.evaluate.variants.items():
        variant = E.variant_config(cfg, spec, command_line)
        assert variant.trainer.max_epochs == 2 and variant.logger.name == "none", name
        assert variant.model.name == spec.model and variant.data.evaluate.blocked_members == 2, name
        assert variant.model.training.target == spec.target and variant.model.use_hubbard_in == spec.use_hubbard_in
        assert (variant.model.n_layers == 1) == (spec.model == "hubbard_u"), name


def test_the_headline_holdout_is_scored_and_drawn(evaluated):
    """data.evaluate.headline (extract_split by default) picks the score the page sets beside the paper's and
    the parity plot; a blocked scheme stands for its pooled score and plots the rows of all its folds."""
    plots = evaluated["root"] / "plots" / "hubbard_ml" / "hubbard_u"
    result = evaluated["metrics"]["hubbard_u"]
    model = result["schemes"]["extract_split"]["predictors"][MODEL]
    assert result[K.HEADLINE] == {K.HOLDOUT: "extract_split", **model}
    assert (plots / "parity_extract_split.png").stat().st_size > 1000
    lomo = E.headline_score(result["schemes"], "lomo")
    assert lomo == {K.HOLDOUT: "lomo (pooled)", **result["schemes"]["lomo (pooled)"]["predictors"][MODEL]}
    cfg = eval_cfg(evaluated["root"])
    frame = pd.read_csv(plots / "predictions.csv")
    E.write_predictions(cfg, "hubbard_u", frame, {**result, K.HEADLINE: lomo}, ["lomo", "strain_high"])
    assert (plots / "parity_lomo.png").stat().st_size > 1000


def test_a_headline_without_a_score_says_so():
    schemes = {"extract_split": {}, "lomo_NiO": {"predictors": {MODEL: {"mare": 0.1}}}, "strain_high": {}}
    assert E.headline_key(schemes, "lomo") == "lomo_NiO"  # a scheme with one scored fold: that fold
    assert E.headline_key(schemes, "strain_high") == "strain_high"
    assert E.headline_key({**schemes, "lomo (pooled)": {}}, "lomo") == "lomo (pooled)"
    assert E.headline_score(schemes, "oxidation_state") == {
        "status": "not scored: no 'oxidation_state' holdout (data.evaluate.headline)"
    }
