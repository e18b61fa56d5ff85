"""Every config composes; params.yaml is the composition of conf/; the params overlay rules."""

from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from matdisco.core.config import CONF_DIR, apply_params_file, compose
from matdisco.core.errors import ConfigError

REPO = CONF_DIR.parent


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


@pytest.mark.parametrize("group", ["model", "data", "trainer", "logger", "simulate"])
def test_every_option_composes_with_name(group):
    for option in _options(group):
        cfg = compose([f"{group}={option}"])
        assert cfg[group].name == option, f"conf/{group}/{option}.yaml must carry name: {option}"
        if group in ("model", "data", "simulate"):
            assert cfg[group].family in ("ionic", "motifs", "hubbard")


def test_committed_params_yaml_is_the_composition_of_conf():
    committed = yaml.safe_load((REPO / "params.yaml").read_text())
    assert committed == OmegaConf.to_container(compose()), "run `matdisco params` after changing conf/"


def test_params_file_overrides_only_the_named_option(tmp_path):
    params = compose(["model.lr=0.123", "seed=7"])
    path = Path(tmp_path) / "params.yaml"
    path.write_text(OmegaConf.to_yaml(params))
    same = apply_params_file(compose(["model=ionic_additive", f"params_file={path}"]))
    other = apply_params_file(compose(["model=ionic_gnn", f"params_file={path}"]))
    assert same.model.lr == 0.123 and same.seed == 7
    assert other.model.name == "ionic_gnn" and other.model.lr == compose(["model=ionic_gnn"]).model.lr
    assert other.seed == 7


def test_command_line_values_win_over_params_file(tmp_path):
    # a stage that trains a variant (or redirects paths) must keep its own values when params.yaml selects the same model
    path = Path(tmp_path) / "params.yaml"
    path.write_text(OmegaConf.to_yaml(compose(["model=hubbard_u", "model.lr=0.123"])))
    command_line = ["model=hubbard_u", "model.training.target=converged", "paths.results=elsewhere",
                    "+model.note=[a,b]", f"params_file={path}"]
    cfg = apply_params_file(compose(command_line), command_line)
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
