"""True deps, checked: every file of src/matdisco that a DVC stage runs is covered by its ``deps``.

A stage's import closure starts at its pipelines/ entry script and at the family step module that
``matdisco.core.steps.run_step`` routes it to (``matdisco.<family>.<step>``, with the family taken
from the stage's own group choices), and follows every ``import`` / ``from`` statement (also those
inside functions) that names a ``matdisco`` module. Two imports are dynamic and added by rule:
the family package ``__init__.py`` (run_step takes the step function from it; its own eager imports
of the other steps are not followed) and ``<family>/models.py`` wherever a module of the closure
builds or loads a model (``instantiate_model`` from a config ``_target_``, ``load_module`` from a
checkpoint's class path: models live in models.py in every family). Package ``__init__.py`` files
without imports (docstrings, constants) are left out: they cannot change what a stage computes.
A dep covers a file when it is the file or a folder above it. A stage that runs a ``matdisco``
subcommand (the report) has no family: its closure starts at src/matdisco/cli.py, from its module-level
imports and those of the subcommand's ``cmd_<name>`` function.
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pytest
import yaml

from matdisco.core.config import compose
from matdisco.core.steps import step_family

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
DYNAMIC_MODEL_CALLS = ("instantiate_model(", "load_module(")


def module_file(name: str) -> Path | None:
    """File of the matdisco module ``name`` (``a.b`` -> src/a/b.py or src/a/b/__init__.py), or None."""
    base = SRC.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path, subcommand: str | None = None) -> set[str]:
    """matdisco modules that ``path`` imports anywhere (``from a import b`` gives ``a.b`` when b is a module, else ``a``);
    with ``subcommand`` (``path`` is cli.py): the module-level imports and those of ``cmd_<subcommand>`` only."""
    tree = ast.parse(path.read_text(), str(path))
    if subcommand is not None:
        function = f"cmd_{subcommand}"
        tree = ast.Module(
            body=[node for node in tree.body if not isinstance(node, ast.FunctionDef) or node.name == function],
            type_ignores=[],
        )
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names if alias.name.split(".")[0] == "matdisco"}
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and node.module
            and node.module.split(".")[0] == "matdisco"
        ):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                names.add(sub if module_file(sub) is not None else node.module)
    return names


def packages_of(name: str) -> list[str]:
    """Parent packages that importing ``name`` executes (``a.b.c`` -> ``a``, ``a.b``)."""
    parts = name.split(".")
    return [".".join(parts[:k]) for k in range(1, len(parts))]


def has_imports(path: Path) -> bool:
    return any(isinstance(node, (ast.Import, ast.ImportFrom)) for node in ast.parse(path.read_text()).body)


def import_closure(entry: Path, family: str | None, step: str) -> set[Path]:
    """Files under src/matdisco that a stage running ``entry`` for ``family``/``step`` imports (see module docstring);
    ``family`` None: ``entry`` alone (a CLI subcommand)."""
    family_package = f"matdisco.{family}"
    files: set[Path] = set()
    todo = [entry]
    if family is not None:
        step_module = module_file(f"{family_package}.{step}")
        assert step_module is not None, f"no module {family_package}.{step}: every family has one module per step"
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
        for name in imported_modules(path, step if family is None and path == entry else None):
            for package in packages_of(name):
                init = module_file(package)
                if package != family_package and has_imports(init):
                    todo.append(init)
            target = module_file(name)
            if target is None:
                raise AssertionError(f"{path}: imports {name}, which is no file under {SRC}")
            if name == family_package:
                continue  # its eager imports of every step are not what this stage runs
            if target.name != "__init__.py" or has_imports(target):
                todo.append(target)
        text = path.read_text()
        if (
            family is not None
            and path.is_relative_to(SRC / "matdisco" / family)
            and any(call in text for call in DYNAMIC_MODEL_CALLS)
        ):
            todo.append(module_file(f"{family_package}.models"))
    return files


def expanded_stages(dvc: dict) -> dict[str, dict]:
    """Stages of dvc.yaml with ``foreach``/``do`` expanded and ``${item...}`` / ``${key}`` substituted."""
    variables: dict = {}
    for entry in dvc.get("vars", []):
        variables.update(entry)
    stages = {}
    for name, stage in dvc["stages"].items():
        if "foreach" not in stage:
            stages[name] = stage
            continue
        items = stage["foreach"]
        if isinstance(items, str):
            items = variables[re.fullmatch(r"\$\{(\w+)\}", items).group(1)]
        pairs = items.items() if isinstance(items, dict) else ((item, item) for item in items)
        for key, item in pairs:

            def substitute(text: str, key=key, item=item) -> str:
                text = text.replace("${key}", str(key))
                for field, value in item.items() if isinstance(item, dict) else ():
                    text = text.replace(
                        f"${{item.{field}}}", str(value).lower() if isinstance(value, bool) else str(value)
                    )
                return text.replace("${item}", str(item))

            stages[f"{name}@{key}"] = yaml.safe_load(substitute(yaml.safe_dump(stage["do"])))
    return stages


def stage_route(cmd: str) -> tuple[Path, str | None, str]:
    """(entry script, family, step) of a stage command ``python pipelines/<step>.py overrides...``;
    (src/matdisco/cli.py, None, subcommand) of ``matdisco <subcommand> ...``."""
    words = shlex.split(cmd)
    if words[0] == "matdisco":
        return SRC / "matdisco" / "cli.py", None, words[1]
    script = next(word for word in words if word.startswith("pipelines/") and word.endswith(".py"))
    step = Path(script).stem
    overrides = [word for word in words if "=" in word and not word.startswith("params_file=")]
    return REPO / script, step_family(step, compose(overrides)), step


def covered(path: Path, deps: list[str]) -> bool:
    relative = path.relative_to(REPO)
    return any(relative == Path(dep) or Path(dep) in relative.parents for dep in deps)


STAGES = expanded_stages(yaml.safe_load((REPO / "dvc.yaml").read_text()))


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_deps_cover_its_import_closure(name):
    stage = STAGES[name]
    entry, family, step = stage_route(stage["cmd"])
    missing = sorted(
        str(path.relative_to(REPO)) for path in import_closure(entry, family, step) if not covered(path, stage["deps"])
    )
    assert not missing, f"dvc.yaml stage {name}: deps miss files it imports: {missing}"


def test_closure_follows_imports_inside_functions_and_model_loading():
    closure = {
        str(path.relative_to(REPO)) for path in import_closure(REPO / "pipelines/generate.py", "hubbard", "generate")
    }
    assert "src/matdisco/hubbard/qe/parse_pw.py" in closure  # imported inside record_from_pw
    assert "src/matdisco/hubbard/models.py" in closure  # loaded from the checkpoints' class path
    assert "src/matdisco/core/seeding.py" in closure and "src/matdisco/core/config.py" in closure  # through core.steps
    assert "src/matdisco/ionic/models.py" not in closure and "src/matdisco/hubbard/train.py" not in closure


def test_a_dep_folder_covers_its_files():
    assert covered(REPO / "src/matdisco/hubbard/qe/run.py", ["src/matdisco/hubbard/qe"])
    assert not covered(REPO / "src/matdisco/hubbard/qe_extra.py", ["src/matdisco/hubbard/qe"])
