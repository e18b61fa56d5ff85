"""Config helpers: the DVC params overlay, artifact paths, and checks on required keys.

Two ways run a step. By hand, a Hydra entry in ``pipelines/`` composes ``conf/`` with the
command-line overrides. Under DVC, a stage passes ``params_file=params.yaml``: that file is the
composition DVC writes from ``conf/`` (``dvc exp run -S ...``), so its values win over ``conf/``
defaults; the step's own command-line values (``key=value``, not group selections) win over both,
so a stage that trains a variant (``model.training.target=converged``) or a run that redirects
``paths.*`` keeps them. Either way artifacts go to the folders under ``cfg.paths`` (relative to the working
directory, the repository root), which are the ones ``dvc.yaml`` declares.

``params.yaml`` holds one option of each selectable group (``model``, ``data``, ``simulate``):
the one being experimented on. A stage that needs another option of the same group (the
pipeline trains several models) keeps its own composition for that group.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from matdisco.core.errors import ConfigError

CONF_DIR = Path(__file__).resolve().parents[3] / "conf"
"""The repository's Hydra config folder (the package is installed editable from the repository)."""

SELECTABLE_GROUPS = ("model", "data", "simulate")
"""Config groups whose options carry a ``name``; params.yaml overrides only the option it names."""


def apply_params_file(cfg: DictConfig, command_line: list[str] | None = None) -> DictConfig:
    """Return ``cfg`` with the values of ``cfg.params_file`` laid over it, then the ``command_line``
    value overrides (Hydra syntax, e.g. ``["model=hubbard_u", "model.lr=0.01"]``) laid over that
    (see module docstring)."""
    if not cfg.get("params_file"):
        return cfg
    path = Path(cfg.params_file)
    if not path.is_file():
        raise ConfigError(f"params_file {path} does not exist; write it with `matdisco params`")
    params = OmegaConf.load(path)
    merged = cfg.copy()
    OmegaConf.set_struct(merged, False)
    for key, value in params.items():
        if key == "params_file":
            continue
        if key in SELECTABLE_GROUPS and _names_differ(cfg.get(key), value):
            continue
        merged[key] = value
    merged.params_file = cfg.params_file
    for key, value in value_overrides(command_line or []):
        OmegaConf.update(merged, key, value, force_add=True)
    return merged


def value_overrides(command_line: list[str]) -> list[tuple[str, object]]:
    """(dotted key, value) of the Hydra overrides in ``command_line`` that set a value: not group
    selections (``model=hubbard_u``), deletions (``~key``), ``params_file`` or ``hydra.*``."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    pairs = []
    for override in OverridesParser.create().parse_overrides(command_line):
        key = override.key_or_group
        if override.is_delete() or key == "params_file" or key.startswith("hydra") or (CONF_DIR / key).is_dir():
            continue
        pairs.append((key, override.value()))
    return pairs


def hydra_command_line() -> list[str]:
    """The overrides the running Hydra app was called with (``[]`` outside one)."""
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def _names_differ(own: DictConfig | None, other: DictConfig | None) -> bool:
    """True when both group options exist and name different options."""
    if own is None or other is None:
        return False
    return own.get("name") != other.get("name")


def artifact(cfg: DictConfig, kind: str, *parts: str) -> Path:
    """Path of an artifact: the folder ``cfg.paths[kind]`` (e.g. ``models``, ``metrics``) joined with ``parts``."""
    folder = cfg.paths.get(kind)
    if folder is None:
        raise ConfigError(f"config has no paths.{kind}")
    return Path(folder).joinpath(*parts)


def require(cfg: DictConfig, *dotted_keys: str) -> None:
    """Raise :class:`ConfigError` naming every key in ``dotted_keys`` that is missing or null."""
    missing = [key for key in dotted_keys if OmegaConf.select(cfg, key) is None]
    if missing:
        raise ConfigError(f"config is missing required key(s): {', '.join(missing)}")


def to_plain(cfg: DictConfig) -> dict:
    """Resolved plain-dict copy of a config (for logging and JSON)."""
    return OmegaConf.to_container(cfg, resolve=True)


def compose(overrides: list[str] | None = None) -> DictConfig:
    """Compose ``conf/config.yaml`` with Hydra's compose API (no run folder, no logging setup).

    Inside a running Hydra app (a ``pipelines/*.py`` step) the app's config search path is used;
    elsewhere (tests, notebooks) one is set up for the call.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        return hydra_compose(config_name="config", overrides=list(overrides or []))
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        return hydra_compose(config_name="config", overrides=list(overrides or []))
