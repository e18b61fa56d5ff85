"""The one config rule: conf/ < params.yaml sections of the chosen options < the command line.

Every config composes; params.yaml has the sections of conf/params.yaml; epochs and patience are
`trainer.*` for every model; command-line values and group choices win; hand runs write under runs/.
"""

from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from matdisco.core.config import (
    CONF_DIR,
    apply_params_file,
    artifact,
    compose,
    group_choices,
    hand_run_paths,
    value_overrides,
)
from matdisco.core.errors import ConfigError
from matdisco.core.families import FAMILIES
from matdisco.core.training import build_trainer

REPO = CONF_DIR.parent
MODELS = sorted(p.stem for p in (CONF_DIR / "model").glob("*.yaml"))
MODEL_DATA = {
    "ionic_additive": "ionic",
    "ionic_gnn": "ionic",
    "hubbard_u": "hubbard",
    "hubbard_v": "hubbard",
    "motifs_vae": "motifs",
    "motifs_vae_talk": "motifs_talk",
}
# The pipeline's epochs and patience before the move into conf/schedule/ (model.training.* won then).
PIPELINE_SCHEDULE = {
    "ionic_additive": (400, 60),
    "ionic_gnn": (1000, 150),
    "hubbard_u": (200, 40),
    "hubbard_v": (200, 40),
    "motifs_vae": (300, 60),
    "motifs_vae_talk": (34, 7),  # a ninth of motifs_vae: the talk's 8 relabellings make an epoch 9x longer
}


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def _params(tmp_path, *overrides: str) -> Path:
    """params.yaml composed like `dvc exp run -S <overrides>` does, written under tmp_path."""
    path = Path(tmp_path) / "params.yaml"
    path.write_text(OmegaConf.to_yaml(compose(list(overrides), config_name="params"), resolve=True))
    return path


def _stage(command_line: list[str]):
    """The config a DVC stage (or a hand run) with ``command_line`` runs with."""
    return apply_params_file(compose(command_line), command_line)


@pytest.mark.parametrize("group", ["model", "data", "trainer", "logger", "simulate"])
def test_every_option_composes_with_name(group):
    for option in _options(group):
        cfg = compose([f"{group}={option}"])
        assert cfg[group].name == option, f"conf/{group}/{option}.yaml must carry name: {option}"
        if group in ("model", "data", "simulate"):
            assert cfg[group].family in FAMILIES


def test_every_model_sets_its_epochs_in_trainer_only():
    assert _options("schedule") == MODELS
    for model in MODELS:
        cfg = compose([f"model={model}"])
        assert "max_epochs" not in cfg.model.get("training", {}) and "early_stopping_patience" not in cfg.model.get(
            "training", {}
        )
        assert (cfg.trainer.max_epochs, cfg.trainer.early_stopping_patience) == PIPELINE_SCHEDULE[model]


def test_committed_params_yaml_has_the_sections_of_conf():
    # values may differ (a committed `dvc exp run -S` result); the keys must be those of conf/params.yaml
    def keys(tree, prefix=""):
        found = set()
        for key, value in tree.items():
            found |= {prefix + str(key)} | (keys(value, f"{prefix}{key}.") if isinstance(value, dict) else set())
        return found

    committed = yaml.safe_load((REPO / "params.yaml").read_text())
    assert keys(committed) == keys(OmegaConf.to_container(compose(config_name="params"), resolve=True)), (
        "params.yaml lacks or has extra keys: run `matdisco params` after changing conf/"
    )


def test_params_sections_are_named_after_unique_options():
    params = compose(config_name="params")
    options = [o for group in ("model", "data", "simulate") for o in _options(group)]
    assert len(options) == len(set(options)), "option names must be unique across model/data/simulate"
    for key, section in params.items():
        if isinstance(section, dict) or OmegaConf.is_dict(section):
            assert key in ("paths", "trainer", "logger") or section.name == key


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("with_params_file", [False, True])
def test_trainer_max_epochs_on_the_command_line_reaches_every_model(tmp_path, model, with_params_file):
    command_line = [
        f"data={MODEL_DATA[model]}",
        f"model={model}",
        "trainer.max_epochs=3",
        "trainer.early_stopping_patience=2",
    ]
    if with_params_file:
        command_line.append(f"params_file={_params(tmp_path)}")
    trainer = build_trainer(_stage(command_line).trainer, loggers=[])
    stopping = [c for c in trainer.callbacks if type(c).__name__ == "EarlyStopping"]
    assert trainer.max_epochs == 3 and stopping[0].patience == 2


@pytest.mark.parametrize("model", MODELS)
def test_stage_keeps_the_pipeline_epochs(tmp_path, model):
    cfg = _stage([f"data={MODEL_DATA[model]}", f"model={model}", f"params_file={_params(tmp_path)}"])
    assert (cfg.trainer.max_epochs, cfg.trainer.early_stopping_patience) == PIPELINE_SCHEDULE[model]


def test_group_choices_on_the_command_line_are_not_reverted_by_params_file(tmp_path):
    # issue 13 point 1: the stage command form with other trainer/logger choices
    command_line = ["data=hubbard", "model=hubbard_u", "trainer=gpu", "logger=csv", f"params_file={_params(tmp_path)}"]
    cfg = _stage(command_line)
    assert cfg.trainer.name == "gpu" and cfg.trainer.accelerator == "gpu" and cfg.logger.kind == "csv"
    assert cfg.trainer.max_epochs == 200 and cfg.model.name == "hubbard_u" and cfg.data.name == "hubbard"


def test_a_params_section_reaches_only_its_model(tmp_path):
    path = _params(tmp_path, "ionic_gnn.hidden=128", "ionic_gnn.trainer.max_epochs=7", "motifs_vae.beta=0.01", "seed=7")
    gnn = _stage(["model=ionic_gnn", f"params_file={path}"])
    additive = _stage(["model=ionic_additive", f"params_file={path}"])
    vae = _stage(["data=motifs", "model=motifs_vae", f"params_file={path}"])
    assert gnn.model.hidden == 128 and gnn.trainer.max_epochs == 7 and "trainer" not in gnn.model
    assert additive.trainer.max_epochs == 400 and additive.model.lr == compose().model.lr
    assert vae.model.beta == 0.01 and vae.trainer.max_epochs == 300
    assert gnn.seed == additive.seed == vae.seed == 7


def test_command_line_values_win_over_params_file(tmp_path):
    # a stage that trains a variant (or redirects paths) keeps its own values
    path = _params(tmp_path, "hubbard_u.lr=0.123")
    command_line = [
        "data=hubbard",
        "model=hubbard_u",
        "model.training.target=converged",
        "paths.results=elsewhere",
        "+model.note=[a,b]",
        f"params_file={path}",
    ]
    cfg = _stage(command_line)
    assert cfg.model.lr == 0.123
    assert cfg.model.training.target == "converged" and cfg.paths.results == "elsewhere"
    assert list(cfg.model.note) == ["a", "b"] and cfg.params_file == str(path)


def test_missing_params_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        apply_params_file(compose([f"params_file={tmp_path}/nope.yaml"]))


def test_compose_works_inside_a_running_hydra_app():
    # the closed loop of hubbard_generate composes the simulate config from inside pipelines/generate.py
    from hydra import initialize_config_dir

    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose(["simulate=dfpt_campaign"])
    assert cfg.simulate.name == "dfpt_campaign"


def test_hand_run_writes_its_step_outputs_under_its_run_folder():
    # issue 13 point 7: a hand train run must not replace the pipeline's models
    cfg = hand_run_paths(compose(["run_name=try1"]), "train", ["run_name=try1"])
    assert cfg.paths.models == "runs/try1/models" and cfg.paths.metrics == "runs/try1/metrics"
    assert cfg.paths.processed == "data/processed"  # its inputs still come from the pipeline
    evaluate = hand_run_paths(compose(["run_name=try1"]), "evaluate", [])
    assert evaluate.paths.models == "models" and evaluate.paths.results == "runs/try1/results"


@pytest.mark.parametrize("name", ["..", ".", "", "a/../..", "a/b"])
def test_hand_run_name_must_be_one_folder_under_runs(name):
    # issue 28 case 1: run_name=.. made runs/../models, the pipeline's models/, and replaced them
    with pytest.raises(ConfigError, match=r"run_name=.* must name one folder under runs/"):
        hand_run_paths(compose([f"run_name='{name}'"]), "train", [f"run_name='{name}'"])


def test_hand_run_logs_go_to_its_run_folder():
    # issue 28: a hand run's CSV logs in logs/csv/<model>-<split>-m0/ replaced the pipeline's curves
    for step in ("train", "evaluate"):
        assert hand_run_paths(compose(["run_name=try1"]), step, []).paths.logs == "runs/try1/logs"
    stage = hand_run_paths(compose(["write_pipeline_outputs=true"]), "train", [])
    assert stage.paths.logs == "logs"


def test_stages_and_explicit_runs_write_the_pipeline_folders(tmp_path):
    stage = hand_run_paths(compose([f"params_file={_params(tmp_path)}"]), "train", [])
    forced = hand_run_paths(compose(["write_pipeline_outputs=true"]), "train", [])
    own = hand_run_paths(compose(["paths.models=mine"]), "train", ["paths.models=mine"])
    assert stage.paths.models == forced.paths.models == "models" and own.paths.models == "mine"


def test_hand_run_default_folder_is_the_start_time():
    cfg = hand_run_paths(compose(), "extract", [])
    assert Path(cfg.paths.processed).parts[0] == "runs" and Path(cfg.paths.processed).parts[-2:] == (
        "data",
        "processed",
    )


def test_artifact_refuses_folders_outside_the_project():
    with pytest.raises(ConfigError, match=r"paths\.results=/etc .*paths\.allow_outside_project=true"):
        artifact(compose(["paths.results=/etc"]), "results", "x.csv")
    assert artifact(compose(["paths.results=/etc", "paths.allow_outside_project=true"]), "results", "x.csv") == Path(
        "/etc/x.csv"
    )


@pytest.mark.parametrize("name", ["../..", "../models_other", "/etc/passwd"])
def test_artifact_names_stay_inside_their_folder(name):
    # model names from config (model.generate.u_model=../..) resolve inside paths.models
    with pytest.raises(ConfigError, match=r"paths\.models"):
        artifact(compose(), "models", "hubbard", name)


def test_effective_config_names_the_layer_of_every_changed_value(tmp_path):
    """`dvc exp run -S` (params.yaml), the stage's command line and a hand run's folders each show up
    as their own layer, with the value that won."""
    from matdisco.core.config import effective_config

    params = _params(tmp_path, "ionic_gnn.hidden=96", "ionic_gnn.lr=0.01")
    command_line = ["data=ionic", "model=ionic_gnn", f"params_file={params}", "model.lr=0.05"]
    cfg, layers = effective_config("train", compose(command_line), command_line)
    by_key = {entry["key"]: entry for entry in layers}
    assert by_key["model.hidden"] == {"key": "model.hidden", "value": 96, "layer": "params.yaml"}
    assert by_key["model.lr"]["layer"] == "command line" and cfg.model.lr == 0.05
    assert not [e for e in layers if e["layer"] == "hand run"]  # a stage writes the pipeline's folders
    hand = ["model=ionic_gnn", "run_name=try2"]
    cfg, layers = effective_config("train", compose(hand), hand)
    moved = {e["key"]: e["value"] for e in layers if e["layer"] == "hand run"}
    assert moved["paths.models"] == "runs/try2/models" and cfg.paths.models == "runs/try2/models"


def test_a_step_writes_the_config_it_ran_with_into_its_run_folder(tmp_path, monkeypatch, capsys):
    from hydra.core.hydra_config import HydraConfig

    from matdisco.core import steps

    class Runtime:
        output_dir = str(tmp_path)

    class Fake:
        runtime = Runtime()

    monkeypatch.setattr(HydraConfig, "initialized", staticmethod(lambda: True))
    monkeypatch.setattr(HydraConfig, "get", staticmethod(lambda: Fake()))
    layers = [{"key": "model.lr", "value": 0.05, "layer": "command line"}]
    path = steps.record_effective_config(compose(["model=ionic_gnn", "model.lr=0.05"]), layers)
    written = yaml.safe_load(path.read_text())
    assert path == tmp_path / steps.EFFECTIVE_CONFIG and written["config"]["model"]["lr"] == 0.05
    assert written["layers"] == layers and written["config"]["seed"] == compose().seed  # resolved
    assert "command line: 1 value(s): model.lr" in capsys.readouterr().err


def test_matdisco_config_prints_the_effective_config_without_running(tmp_path, capsys):
    from matdisco.cli import main

    params = _params(tmp_path, "ionic_gnn.hidden=80")
    assert main(["config", "train", "data=ionic", "model=ionic_gnn", f"params_file={params}"]) == 0
    out = capsys.readouterr().out
    printed = yaml.safe_load(out)
    assert printed["model"]["hidden"] == 80 and printed["paths"]["models"] == "models"
    assert "#   params.yaml  model.hidden = 80" in out
    with pytest.raises(SystemExit):
        main(["config", "train", "model=ionic_gnn", "trainer.max_epochs=-3"])  # validated like a run


def test_a_command_line_splits_into_group_choices_and_values():
    words = ["trainer=gpu", "trainer.max_epochs=2", "hydra/launcher=slurm", "~logger.group", "params_file=p.yaml"]
    assert group_choices(words) == [("trainer", "trainer=gpu")]
    assert value_overrides(words) == [("trainer.max_epochs", 2)]
