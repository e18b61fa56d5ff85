"""Config helpers: the one config rule, the DVC params overlay, hand-run folders, artifact paths.

The rule: **what the command line says wins**, values and group choices alike. Layers, lowest first:
``conf/`` defaults, then ``params.yaml`` (only when ``params_file=params.yaml`` is given, as every
DVC stage does), then the command line. ``params.yaml`` never changes a group choice: it holds one
section per option the pipeline runs (``conf/params.yaml``: ``ionic_gnn``, ``hubbard_u``, ``ionic``,
``md_full``, ...) and a run reads only the sections of the options it selected; its ``paths``,
``trainer`` and ``logger`` sections apply only when their ``name`` is the selected option.

A run without ``params_file`` is a hand run: what its step writes goes under its own run folder
``runs/<run_name>/`` (see :func:`hand_run_paths`), so it never overwrites the pipeline's outputs,
unless ``write_pipeline_outputs=true``. Artifacts stay inside the project (the working directory)
unless ``paths.allow_outside_project=true`` (see :func:`artifact`).
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from matdisco.core.errors import ConfigError

CONF_DIR = Path(__file__).resolve().parents[3] / "conf"
"""The repository's Hydra config folder (the package is installed editable from the repository)."""

INSTALLED_ROOT = CONF_DIR.parent
"""The project folder whose code and ``conf/`` the installed package runs."""

DVC_EXPERIMENT_TMP = Path(".dvc") / "tmp"
"""Below the installed root: the copies `dvc queue start` runs queued experiments in (same code)."""

OPTION_GROUPS = ("model", "data", "simulate")
"""Groups whose options each have their own params.yaml section, named after the option."""

NAMED_GROUPS = ("paths", "trainer", "logger")
"""Groups with one params.yaml section (named after the group) for the option it names."""

MODEL_TRAINER_KEY = "trainer"
"""Key of a model's params.yaml section holding its trainer settings (conf/schedule/<model>.yaml)."""

STEP_OUTPUT_KINDS = {
    "simulate": ("processed", "metrics", "plots", "results"),
    "extract": ("processed", "metrics", "plots"),
    "train": ("models", "metrics", "plots", "logs"),
    "evaluate": ("metrics", "plots", "results", "logs"),
    "generate": ("metrics", "plots", "results"),
}
"""``paths.*`` folders each step writes to; a hand run moves them under its run folder."""

RUNS_DIR = "runs"
"""Folder of the hand runs (git-ignored), one subfolder per run."""

HAND_RUN_KINDS = ("logs",)
"""``paths.*`` folders every hand run moves under its run folder, whatever its step: CSV logs
(Lightning replaces a run's earlier curves) and W&B runs."""


def require_installed_here(folder: Path | None = None) -> None:
    """Raise :class:`ConfigError` when ``folder`` (default: the working directory) is a matdisco project
    other than the one the package is installed from: a copied project folder whose venv still runs
    the original's code and ``conf/``. DVC's queued-experiment copies below the installed root pass."""
    here = (folder or Path.cwd()).resolve()
    pyproject = here / "pyproject.toml"
    if not (here / "conf").is_dir() or not pyproject.is_file() or 'name = "matdisco"' not in pyproject.read_text():
        return
    installed = INSTALLED_ROOT.resolve()
    if here == installed or _is_within(here, installed / DVC_EXPERIMENT_TMP):
        return
    raise ConfigError(
        f"this project folder {here} is not the one the venv runs: its matdisco is installed from {installed} "
        f"(code and conf/ there); run `make setup` in {here} (a copied .venv is made again)"
    )


def apply_params_file(cfg: DictConfig, command_line: list[str] | None = None) -> DictConfig:
    """Return ``cfg`` with the sections of ``cfg.params_file`` that its choices select laid over it,
    then the ``command_line`` value overrides (Hydra syntax, e.g. ``["model.lr=0.01"]``) over that."""
    if not cfg.get("params_file"):
        return cfg
    path = Path(cfg.params_file)
    if not path.is_file():
        raise ConfigError(f"params_file {path} does not exist; write it with `matdisco params`")
    params = OmegaConf.load(path)
    merged = cfg.copy()
    OmegaConf.set_struct(merged, False)
    chosen = {cfg[group].name: group for group in OPTION_GROUPS if cfg.get(group) is not None}
    for key, value in params.items():
        if key in NAMED_GROUPS:
            if cfg.get(key) is not None and cfg[key].get("name") == value.get("name"):
                merged[key] = OmegaConf.merge(merged[key], value)
        elif not _is_option_section(value) and key != "params_file":
            merged[key] = value
    for key, group in chosen.items():
        if key in params:
            _lay_option_section(merged, group, params[key].copy())
    merged.params_file = cfg.params_file
    for key, value in value_overrides(command_line or []):
        OmegaConf.update(merged, key, value, force_add=True)
    return merged


def _is_option_section(value: object) -> bool:
    """True for a params.yaml section holding one option of a group (it carries ``family``)."""
    return isinstance(value, DictConfig) and "family" in value


def _lay_option_section(cfg: DictConfig, group: str, section: DictConfig) -> None:
    """Put ``section`` in ``cfg[group]``; a model section's ``trainer`` block goes into ``cfg.trainer``."""
    if group == "model" and MODEL_TRAINER_KEY in section:
        cfg.trainer = OmegaConf.merge(cfg.trainer, section.pop(MODEL_TRAINER_KEY))
    cfg[group] = section


def value_overrides(command_line: list[str]) -> list[tuple[str, object]]:
    """(dotted key, value) of the Hydra overrides in ``command_line`` that set a value: not group
    selections (``model=hubbard_u``, :func:`group_choices`), deletions (``~key``), ``params_file`` or ``hydra.*``."""
    pairs = []
    for override in _parsed(command_line):
        key = override.key_or_group
        if override.is_delete() or key == "params_file" or key.startswith("hydra") or (CONF_DIR / key).is_dir():
            continue
        pairs.append((key, override.value()))
    return pairs


def group_choices(command_line: list[str]) -> list[tuple[str, str]]:
    """(group, override as written) of the Hydra overrides in ``command_line`` that select an option of a
    conf/ group (``trainer=gpu``, ``logger=none``); not deletions or ``hydra/*``."""
    return [
        (override.key_or_group, override.input_line)
        for override in _parsed(command_line)
        if not override.is_delete()
        and not override.key_or_group.startswith("hydra")
        and (CONF_DIR / override.key_or_group).is_dir()
    ]


def _parsed(command_line: list[str]) -> list:
    """Hydra's parsed ``Override`` of each word of ``command_line``."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create().parse_overrides(command_line)


def hydra_command_line() -> list[str]:
    """The overrides the running Hydra app was called with (``[]`` outside one)."""
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def hand_run_paths(cfg: DictConfig, step: str, command_line: list[str]) -> DictConfig:
    """For a hand run (no ``params_file``), ``cfg`` with the ``paths.*`` folders ``step`` writes (and
    ``paths.logs``) moved under ``runs/<run_name>/`` (default name: the start time; see
    :func:`run_folder_name`); unchanged for a DVC stage, with ``write_pipeline_outputs=true``, and for
    folders set on the command line."""
    if cfg.get("params_file") or cfg.get("write_pipeline_outputs"):
        return cfg
    given = {key for key, _ in value_overrides(command_line)}
    name = run_folder_name(cfg.get("run_name"))
    run_dir = Path(RUNS_DIR) / name
    moved = cfg.copy()
    for kind in dict.fromkeys((*STEP_OUTPUT_KINDS.get(step, ()), *HAND_RUN_KINDS)):  # each folder once
        if f"paths.{kind}" not in given and moved.paths.get(kind) is not None:
            moved.paths[kind] = str(run_dir / moved.paths[kind])
    return moved


def effective_config(step: str, cfg: DictConfig, command_line: list[str]) -> tuple[DictConfig, list[dict]]:
    """The config ``step`` runs with, and where each of its changed values came from.

    ``cfg`` is Hydra's composition (``conf/`` defaults with the command line's group choices and values);
    then the params.yaml overlay (:func:`apply_params_file`, the command line re-applied over it) and the
    hand-run folders (:func:`hand_run_paths`). Returns ``(config, layers)``; ``layers`` has one
    ``{"key", "value", "layer"}`` per value set by the ``command line``, changed by ``params.yaml`` or
    moved by the ``hand run`` (the folders of its outputs), in that order.
    """
    after_params = apply_params_file(cfg, command_line)
    run_cfg = hand_run_paths(after_params, step, command_line)
    given = value_overrides(command_line)
    layers = [{"key": key, "value": value, "layer": "command line"} for key, value in given]
    given_keys = {key for key, _ in given}
    for key, value in changed_leaves(cfg, after_params).items():
        if key not in given_keys:
            layers.append({"key": key, "value": value, "layer": "params.yaml"})
    layers += [{"key": k, "value": v, "layer": "hand run"} for k, v in changed_leaves(after_params, run_cfg).items()]
    return run_cfg, layers


def changed_leaves(before: DictConfig, after: DictConfig) -> dict[str, object]:
    """Dotted key -> value of every leaf of ``after`` (unresolved) that is new or differs from ``before``."""
    old, new = _leaves(OmegaConf.to_container(before)), _leaves(OmegaConf.to_container(after))
    return {key: value for key, value in new.items() if key not in old or old[key] != value}


def _leaves(tree: object, prefix: str = "") -> dict[str, object]:
    """Flatten nested dicts into dotted keys (lists are leaves)."""
    if not isinstance(tree, dict) or not tree:
        return {prefix: tree} if prefix else {}
    out: dict[str, object] = {}
    for key, value in tree.items():
        out.update(_leaves(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def layers_summary(layers: list[dict]) -> str:
    """One line per layer: how many values it set and the first few keys."""
    lines = []
    for layer in ("command line", "params.yaml", "hand run"):
        keys = [entry["key"] for entry in layers if entry["layer"] == layer]
        if keys:
            shown = ", ".join(keys[:6]) + (f", ... (+{len(keys) - 6})" if len(keys) > 6 else "")
            lines.append(f"  {layer}: {len(keys)} value(s): {shown}")
    return "\n".join(lines) if lines else "  conf/ defaults only"


def run_folder_name(run_name: object) -> str:
    """``run_name`` as the name of one folder under ``runs/`` (the start time when null).

    Raises :class:`ConfigError` unless it is a plain folder name: not empty, no ``/``, not ``.`` or
    ``..`` (``runs/..`` is the project itself, whose ``models/`` a hand run would replace).
    """
    if run_name is None:
        return datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    name = str(run_name)
    if name.strip() in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ConfigError(
            f"run_name={name!r} must name one folder under {RUNS_DIR}/ (a plain name: no '/', not empty, '.' or '..')"
        )
    return name


def artifact(cfg: DictConfig, kind: str, *parts: str) -> Path:
    """Path of an artifact: the folder ``cfg.paths[kind]`` (e.g. ``models``, ``metrics``) joined with ``parts``.

    ``parts`` are names inside that folder (no ``..``, not absolute: model names from config cannot
    reach outside ``paths.models``); the folder lies inside the project (the working directory)
    unless ``paths.allow_outside_project=true``. Both raise :class:`ConfigError` naming the key.
    """
    folder = cfg.paths.get(kind)
    if folder is None:
        raise ConfigError(f"config has no paths.{kind}")
    problem = outside_project_problem(cfg, kind)
    if problem:
        raise ConfigError(problem)
    for part in parts:
        if Path(part).is_absolute() or ".." in Path(part).parts:
            raise ConfigError(
                f"name {part!r} under paths.{kind} ({folder}) must stay inside it "
                "(a plain name: no '..', not an absolute path)"
            )
    return Path(folder).joinpath(*parts)


OUTPUT_KINDS = tuple(dict.fromkeys([*(kind for kinds in STEP_OUTPUT_KINDS.values() for kind in kinds), "logs"]))
"""``paths.*`` folders that steps write to (checked to lie inside the project)."""


def outside_project_problem(cfg: DictConfig, kind: str) -> str | None:
    """``paths.<kind>=<folder>: ...`` when that folder lies outside the project (the working directory)
    and ``paths.allow_outside_project`` is false; None otherwise."""
    folder = cfg.paths.get(kind)
    root = Path.cwd().resolve()
    if folder is None or cfg.paths.get("allow_outside_project", False) or _is_within((root / folder).resolve(), root):
        return None
    return f"paths.{kind}={folder} lies outside the project {root}; set paths.allow_outside_project=true to write there"


def unwritable_problems(cfg: DictConfig, step: str) -> list[str]:
    """``paths.<kind>=<folder> ...`` for every folder ``step`` writes (and ``paths.logs``) that this user
    cannot write: the folder itself, or where it does not exist yet, the nearest folder above it."""
    problems = []
    for kind in dict.fromkeys((*STEP_OUTPUT_KINDS.get(step, ()), *HAND_RUN_KINDS)):  # each folder once
        folder = cfg.paths.get(kind)
        if folder is None:
            continue
        existing = Path(folder).absolute()
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            problems.append(f"paths.{kind}={folder}: {existing} is a file (expected a folder)")
        elif not os.access(existing, os.W_OK | os.X_OK):
            problems.append(f"paths.{kind}={folder}: {existing} is not writable (expected a folder you can write)")
    return problems


def _is_within(path: Path, root: Path) -> bool:
    """True when ``path`` is ``root`` or lies below it (both resolved)."""
    return path == root or root in path.parents


def require(cfg: DictConfig, *dotted_keys: str) -> None:
    """Raise :class:`ConfigError` naming every key in ``dotted_keys`` that is missing or null."""
    missing = [key for key in dotted_keys if OmegaConf.select(cfg, key) is None]
    if missing:
        raise ConfigError(f"config is missing required key(s): {', '.join(missing)}")


def to_plain(cfg: DictConfig) -> dict:
    """Resolved plain-dict copy of a config (for logging and JSON)."""
    return OmegaConf.to_container(cfg, resolve=True)


def compose(overrides: list[str] | None = None, config_name: str = "config") -> DictConfig:
    """Compose ``conf/<config_name>.yaml`` with Hydra's compose API (no run folder, no logging setup).

    ``config``: the steps' composition; ``params``: the composition written to params.yaml.
    Inside a running Hydra app (a ``pipelines/*.py`` step) the app's config search path is used;
    elsewhere (tests, notebooks) one is set up for the call.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        return hydra_compose(config_name=config_name, overrides=list(overrides or []))
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        return hydra_compose(config_name=config_name, overrides=list(overrides or []))
