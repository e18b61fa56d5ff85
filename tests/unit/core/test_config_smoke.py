"""Every config the project ships, exercised: each model config composes with its family's data,
passes validation, builds its module with run-time sizes and survives a save/load round trip; every
experiment composes and validates; every sweep composes and only searches keys that exist."""

import pytest
import torch
from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from omegaconf import OmegaConf

from matdisco.core.config import CONF_DIR, compose
from matdisco.core.schema import validate_config
from matdisco.core.training import instantiate_model, load_module, save_module
from matdisco.ionic.graphs import EDGE_DIM, NODE_DIM

# Sizes a family's train step knows only from its data; instantiate_model passes each constructor
# only those it accepts (ionic: atom types and feature sizes; hubbard: species and target scale;
# motifs: Gram-matrix entries of 4 neighbours).
RUNTIME = {
    "n_types": 5,
    "node_dim": NODE_DIM,
    "edge_dim": EDGE_DIM,
    "species": ["Co", "O"],
    "offsets_eV": [6.0, 8.0],
    "scale_eV": 1.0,
    "input_dim": 10,
}


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


@pytest.mark.parametrize("model", _options("model"))
def test_every_model_config_builds_validates_and_round_trips(model, tmp_path):
    family = compose([f"model={model}"]).model.family
    cfg = compose([f"model={model}", f"data={family}"])
    validate_config(cfg)
    module = instantiate_model(cfg.model, **RUNTIME)
    assert sum(p.numel() for p in module.parameters()) > 0
    save_module(tmp_path / "m.pt", module)
    loaded, _ = load_module(tmp_path / "m.pt")
    assert type(loaded) is type(module)
    for (name, a), (_, b) in zip(module.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("experiment", _options("experiment"))
def test_every_experiment_composes_and_validates(experiment):
    cfg = compose([f"experiment={experiment}"])
    validate_config(cfg)
    assert cfg.model.family == cfg.data.family, f"experiment {experiment} mixes families"


@pytest.mark.parametrize("sweep", _options("sweep"))
def test_every_sweep_composes_and_searches_existing_keys(sweep):
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = hydra_compose("config", overrides=[f"+sweep={sweep}"], return_hydra_config=True)
    searched = list(cfg.hydra.sweeper.params)
    assert searched, f"sweep {sweep} searches nothing"
    for key in searched:
        assert OmegaConf.select(cfg, key, throw_on_missing=False) is not None, f"sweep {sweep}: no key {key}"
