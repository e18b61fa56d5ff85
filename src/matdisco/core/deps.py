"""The code deps of the DVC stages, computed from imports instead of kept by hand.

A stage's import closure starts at its pipelines/ entry script and at the family step module that
``matdisco.core.steps.run_step`` routes it to (``matdisco.<family>.<step>``, the family taken from the
stage's own group choices), and follows every ``import`` / ``from`` statement (also those inside
functions) that names a ``matdisco`` module. Three imports are dynamic and added by rule: the family
package ``__init__.py`` (run_step takes the step function from it; its own eager imports of the other
steps are not followed), ``<family>/models.py`` wherever a module of the closure builds or loads a
model (``instantiate_model`` from a config ``_target_``, ``load_module`` / ``load_members`` from a
checkpoint's class path: models live in models.py in every family), and, where the closure holds ``core/report.py``, the
``<family>/page.py`` of every family of :data:`~matdisco.core.families.FAMILIES` with its imports (the
results page reaches them through importlib; their packages' ``__init__.py`` as for a step). Package ``__init__.py`` files without imports
(docstrings, constants) are left out: they cannot change what a stage computes. A stage that runs a
``matdisco`` subcommand (the report) has no family: its closure starts at src/matdisco/cli.py, from its
module-level imports and those of the subcommand's ``cmd_<name>`` function.

``matdisco deps`` prints the stages whose ``deps`` differ from their closure; ``matdisco deps --write``
rewrites them in dvc.yaml (the data and model deps stay, the code deps become the closure, sorted).
A ``foreach`` stage gets the union of its items' closures.
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path
from typing import Any

from matdisco.core.errors import ConfigError
from matdisco.core.families import FAMILIES

REPO = Path(__file__).resolve().parents[3]
SRC = REPO / "src"
CODE_PREFIXES = ("src/", "pipelines/")
"""A dep under one of these is code (computed here); every other dep (data, models) is kept as written."""
DYNAMIC_MODEL_CALLS = ("instantiate_model(", "load_module(", "load_members(")
PAGE_LOADER = "matdisco.core.report"
"""The module that imports ``matdisco.<family>.page`` of every family by name (``family_page``)."""


def module_file(name: str) -> Path | None:
    """File of the matdisco module ``name`` (``a.b`` -> src/a/b.py or src/a/b/__init__.py), or None."""
    base = SRC.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path, subcommand: str | None = None) -> set[str]:
    """matdisco modules that ``path`` imports anywhere (``from a import b`` gives ``a.b`` when b is a
    module, else ``a``); with ``subcommand`` (``path`` is cli.py): the module-level imports and those of
    ``cmd_<subcommand>`` only."""
    tree = ast.parse(path.read_text(), str(path))
    if subcommand is not None:
        function = f"cmd_{subcommand}"
        body = [node for node in tree.body if not isinstance(node, ast.FunctionDef) or node.name == function]
        tree = ast.Module(body=body, type_ignores=[])
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names if alias.name.split(".")[0] == "matdisco"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "matdisco":
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                names.add(sub if module_file(sub) is not None else node.module)
    return names


def packages_of(name: str) -> list[str]:
    """Parent packages that importing ``name`` executes (``a.b.c`` -> ``a``, ``a.b``)."""
    parts = name.split(".")
    return [".".join(parts[:k]) for k in range(1, len(parts))]


def has_imports(path: Path) -> bool:
    """True when the module's top level imports anything."""
    return any(isinstance(node, (ast.Import, ast.ImportFrom)) for node in ast.parse(path.read_text()).body)


def import_closure(entry: Path, family: str | None, step: str) -> set[Path]:
    """Files under src/matdisco that a stage running ``entry`` for ``family``/``step`` imports (see
    the module docstring); ``family`` None: ``entry`` alone (a CLI subcommand)."""
    family_package = f"matdisco.{family}"
    unfollowed = {family_package}  # family packages whose __init__ is a dep but whose eager imports are not
    files: set[Path] = set()
    todo = [entry]
    if family is not None:
        step_module = module_file(f"{family_package}.{step}")
        if step_module is None:
            raise ConfigError(f"no module {family_package}.{step}: every family has one module per step")
        files.add(module_file(family_package))
        todo.append(step_module)
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        if path.is_relative_to(SRC):
            files.add(path)
        if path == module_file(PAGE_LOADER):
            unfollowed |= {f"matdisco.{name}" for name in FAMILIES}
            files |= {module_file(f"matdisco.{name}") for name in FAMILIES}
            todo += [module_file(f"matdisco.{name}.page") for name in FAMILIES]
        todo += _imported_files(path, unfollowed, step if family is None and path == entry else None)
        if family is not None and path.is_relative_to(SRC / "matdisco" / family):
            if any(call in path.read_text() for call in DYNAMIC_MODEL_CALLS):
                todo.append(module_file(f"{family_package}.models"))
    return files


def _imported_files(path: Path, unfollowed: set[str], subcommand: str | None) -> list[Path]:
    """Files to follow from ``path``: its matdisco imports and the package ``__init__`` files they run
    (but those of the ``unfollowed`` family packages, already deps)."""
    out = []
    for name in imported_modules(path, subcommand):
        for package in packages_of(name):
            init = module_file(package)
            if package not in unfollowed and has_imports(init):
                out.append(init)
        target = module_file(name)
        if target is None:
            raise ConfigError(f"{path}: imports {name}, which is no file under {SRC}")
        if name not in unfollowed and (target.name != "__init__.py" or has_imports(target)):
            out.append(target)
    return out


def expanded_stages(dvc: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Stages of dvc.yaml with ``foreach``/``do`` expanded (``name@key``) and ``${item...}`` / ``${key}``
    substituted; plain stages as they are. A ``foreach`` over ``${a.b}`` reads ``params`` (params.yaml,
    DVC's default vars) or dvc.yaml's ``vars``."""
    import yaml

    variables: dict[str, Any] = dict(params or {})
    for entry in dvc.get("vars", []):
        variables.update(entry)
    stages = {}
    for name, stage in dvc["stages"].items():
        if "foreach" not in stage:
            stages[name] = stage
            continue
        items = stage["foreach"]
        if isinstance(items, str):
            items = _lookup(variables, re.fullmatch(r"\$\{([\w.]+)\}", items.strip()).group(1))
        pairs = items.items() if isinstance(items, dict) else ((item, item) for item in items)
        for key, item in pairs:
            text = _substitute(yaml.safe_dump(dict(stage["do"])), key, item)
            stages[f"{name}@{key}"] = yaml.safe_load(text)
    return stages


def _lookup(tree: dict[str, Any], dotted: str) -> Any:
    """The value at ``dotted`` (``a.b.c``) of nested dicts; ConfigError naming the key when absent."""
    value: Any = tree
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            raise ConfigError(f"dvc.yaml foreach ${{{dotted}}}: no such key in params.yaml or vars")
        value = value[part]
    return value


def _substitute(text: str, key: Any, item: Any) -> str:
    """``${key}``, ``${item}`` and ``${item.<field>}`` of a foreach body replaced by their values."""
    text = text.replace("${key}", str(key))
    for field, value in item.items() if isinstance(item, dict) else ():
        text = text.replace(f"${{item.{field}}}", str(value).lower() if isinstance(value, bool) else str(value))
    return text.replace("${item}", str(item))


def stage_route(cmd: str) -> tuple[Path, str | None, str]:
    """(entry script, family, step) of a stage command ``python pipelines/<step>.py overrides...``;
    (src/matdisco/cli.py, None, subcommand) of ``matdisco <subcommand> ...``."""
    from matdisco.core.config import compose
    from matdisco.core.steps import step_family

    words = shlex.split(cmd)
    if words[0] == "matdisco":
        return SRC / "matdisco" / "cli.py", None, words[1]
    script = next(word for word in words if word.startswith("pipelines/") and word.endswith(".py"))
    step = Path(script).stem
    overrides = [word for word in words if "=" in word and not word.startswith("params_file=")]
    return REPO / script, step_family(step, compose(overrides)), step


def code_deps(stage: dict[str, Any]) -> list[str]:
    """The code deps of one (expanded) stage: its entry script and import closure, repo-relative, sorted."""
    entry, family, step = stage_route(stage["cmd"])
    files = import_closure(entry, family, step) | {entry}
    return sorted(str(path.relative_to(REPO)) for path in files)


def is_code(dep: str) -> bool:
    """True for a dep that is code (computed by :func:`code_deps`), False for data and models."""
    return dep.startswith(CODE_PREFIXES)


def generated_deps(dvc_path: Path) -> dict[str, list[str]]:
    """Stage name (as in dvc.yaml: a foreach stage once) -> its deps as they should read: the non-code
    deps in their order, then the code deps (union over a foreach stage's items)."""
    import yaml

    dvc = yaml.safe_load(Path(dvc_path).read_text())
    params_path = Path(dvc_path).with_name("params.yaml")
    params = yaml.safe_load(params_path.read_text()) if params_path.is_file() else {}
    expanded = expanded_stages(dvc, params)
    out = {}
    for name, stage in dvc["stages"].items():
        body = stage.get("do", stage)
        members = [s for key, s in expanded.items() if key == name or key.startswith(f"{name}@")]
        code = sorted({dep for member in members for dep in code_deps(member)})
        out[name] = [dep for dep in body.get("deps", []) if not is_code(dep)] + code
    return out


def stale_stages(dvc_path: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Stages whose code deps in dvc.yaml differ from their closure: name -> (missing, extra)."""
    import yaml

    dvc = yaml.safe_load(Path(dvc_path).read_text())
    out = {}
    for name, wanted in generated_deps(dvc_path).items():
        have = [dep for dep in dvc["stages"][name].get("do", dvc["stages"][name]).get("deps", []) if is_code(dep)]
        code = [dep for dep in wanted if is_code(dep)]
        if have != code:
            out[name] = (sorted(set(code) - set(have)), sorted(set(have) - set(code)))
    return out


def write_deps(dvc_path: Path) -> list[str]:
    """Rewrite the deps of every stage of ``dvc_path`` as :func:`generated_deps` (comments and layout of
    the rest kept, atomically); returns the names of the stages that changed."""
    from ruamel.yaml import YAML

    from matdisco.core.io import atomic_path

    changed = list(stale_stages(dvc_path))
    if not changed:
        return []
    wanted = generated_deps(dvc_path)
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    document = yaml.load(Path(dvc_path).read_text())
    for name in changed:
        body = document["stages"][name].get("do", document["stages"][name])
        deps = body["deps"]
        deps.clear()
        deps.extend(wanted[name])
    with atomic_path(Path(dvc_path)) as tmp, open(tmp, "w") as handle:
        yaml.dump(document, handle)
    return changed
