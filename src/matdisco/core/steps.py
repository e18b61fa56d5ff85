"""Run one pipeline step of one model family: the single place the Hydra entries call.

The family comes from the config: ``simulate.family`` for simulate, ``model.family`` for train,
``data.family`` for extract, evaluate and generate (they read the data config's settings and the
models it names, so their commands pass ``model=`` only where the step needs that model). Each
family package exposes the step functions ``<step>(cfg) -> dict``; a dict entry ``objective`` (a
float) is what sweeps minimise.
"""

from __future__ import annotations

import importlib
import json

import torch
from omegaconf import DictConfig

from matdisco.core.config import apply_params_file, hydra_command_line
from matdisco.core.errors import ConfigError
from matdisco.core.seeding import seed_everything

STEPS = ("simulate", "extract", "train", "evaluate", "generate")
_FAMILY_GROUP = {"simulate": "simulate", "extract": "data", "train": "model", "evaluate": "data", "generate": "data"}


def step_family(step: str, cfg: DictConfig) -> str:
    """Name of the model family (``ionic``, ``motifs``, ``hubbard``) that runs ``step`` for ``cfg``."""
    if step not in STEPS:
        raise ConfigError(f"unknown step {step!r}; steps are {', '.join(STEPS)}")
    group = _FAMILY_GROUP[step]
    family = cfg.get(group, {}).get("family") if cfg.get(group) is not None else None
    if not family:
        raise ConfigError(f"step {step!r} needs `{group}.family` in the config (choose a {group} config)")
    return family


def run_step(step: str, cfg: DictConfig) -> float | None:
    """Apply the DVC params overlay, set torch's CPU threads, seed, run ``matdisco.<family>.<step>(cfg)``, print its result.

    Returns the result's ``objective`` (for Hydra sweepers) or None.
    """
    cfg = apply_params_file(cfg, hydra_command_line())
    torch.set_num_threads(int(cfg.torch_num_threads))
    seed_everything(int(cfg.seed))
    family = step_family(step, cfg)
    module = importlib.import_module(f"matdisco.{family}")
    result = getattr(module, step)(cfg)
    print(json.dumps({f"{family}_{step}": result}, indent=2, sort_keys=True, default=str))
    objective = result.get("objective") if isinstance(result, dict) else None
    return float(objective) if objective is not None else None
