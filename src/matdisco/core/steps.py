"""Run one pipeline step of one model family: the single place the Hydra entries call.

The family comes from the config: ``simulate.family`` for simulate, ``model.family`` for train,
``data.family`` for extract, evaluate and generate (they read the data config's settings and the
models it names, so their commands pass ``model=`` only where the step needs that model). Each
family package exposes the step functions ``<step>(cfg) -> dict``; a dict entry ``objective`` (a
float) is what sweeps minimise.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from matdisco.core.config import effective_config, hydra_command_line, layers_summary, require_installed_here
from matdisco.core.errors import ConfigError, MatdiscoError
from matdisco.core.io import atomic_write_text
from matdisco.core.schema import validate_config
from matdisco.core.seeding import seed_everything

DEBUG_ENV = "MATDISCO_DEBUG"
"""Set to 1 to see the traceback of expected errors (:class:`MatdiscoError`) too."""

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


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn a :class:`MatdiscoError` or a :class:`PermissionError` (a file or folder this user cannot
    write, named by the error) into one message on stderr and exit status 1 (the traceback only with
    ``MATDISCO_DEBUG=1``)."""
    try:
        yield
    except (MatdiscoError, PermissionError) as err:
        if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
            raise
        print(f"error: {err}\n(set {DEBUG_ENV}=1 for the traceback)", file=sys.stderr)
        raise SystemExit(1) from None


EFFECTIVE_CONFIG = "effective_config.yaml"
"""Name of the file, in the Hydra run folder, that holds the config a step ran with and its layers."""


def record_effective_config(cfg: DictConfig, layers: list[dict]) -> Path | None:
    """Write the config the step runs with (resolved) and the layers that set its values into the
    Hydra run folder, and print where and a one-line-per-layer summary; None outside a Hydra app."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    path = Path(HydraConfig.get().runtime.output_dir) / EFFECTIVE_CONFIG
    document = {"config": OmegaConf.to_container(cfg, resolve=True), "layers": layers}
    atomic_write_text(path, OmegaConf.to_yaml(OmegaConf.create(document)))
    print(f"config this step runs with: {path}\n{layers_summary(layers)}", file=sys.stderr)
    return path


def run_step(step: str, cfg: DictConfig) -> float | None:
    """Run one step with user errors reported in one message (see :func:`user_errors`)."""
    with user_errors():
        return _run_step(step, cfg)


def _run_step(step: str, cfg: DictConfig) -> float | None:
    """Apply the DVC params overlay (or move a hand run's outputs to its run folder), validate the
    config, record it (:func:`record_effective_config`), set torch's CPU threads, seed, run
    ``matdisco.<family>.<step>(cfg)``, print its result.

    Returns the result's ``objective`` (for Hydra sweepers) or None.
    """
    require_installed_here()
    command_line = hydra_command_line()
    cfg, layers = effective_config(step, cfg, command_line)
    moved = [entry["value"] for entry in layers if entry["layer"] == "hand run"]
    if moved:
        print(
            f"hand run (no params_file): {step} writes {', '.join(map(str, moved))} (write_pipeline_outputs=true "
            "writes the pipeline's folders)",
            file=sys.stderr,
        )
    validate_config(cfg, step)
    record_effective_config(cfg, layers)
    torch.set_num_threads(int(cfg.torch_num_threads))
    seed_everything(int(cfg.seed))
    family = step_family(step, cfg)
    module = importlib.import_module(f"matdisco.{family}")
    result = getattr(module, step)(cfg)
    print(json.dumps({f"{family}_{step}": result}, indent=2, sort_keys=True, default=str))
    objective = result.get("objective") if isinstance(result, dict) else None
    return float(objective) if objective is not None else None
