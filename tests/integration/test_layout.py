"""One layout for all three families (ARCHITECTURE.md), and routing of every step by the config."""

import ast
import importlib
from pathlib import Path

import pytest

from matdisco.core.config import compose
from matdisco.core.steps import step_family

PACKAGES = Path(__file__).resolve().parents[2] / "src" / "matdisco"
FAMILIES = {
    "ionic": ("extract", "train", "evaluate", "generate"),
    "hubbard": ("simulate", "extract", "train", "evaluate", "generate"),
    "motifs": ("simulate", "extract", "train", "evaluate", "generate"),
}
SHARED_MODULES = ("data", "models", "baselines", "keys", "bench", "page")


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_has_the_house_modules(family):
    names = {path.stem for path in (PACKAGES / family).glob("*.py")}
    missing = sorted((set(FAMILIES[family]) | set(SHARED_MODULES)) - names)
    assert not missing, f"src/matdisco/{family}/ lacks {missing}"


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_package_exports_step_functions_even_after_the_step_modules_are_imported(family):
    steps = FAMILIES[family] + ("bench",)
    for step in steps:
        importlib.import_module(f"matdisco.{family}.{step}")
    package = importlib.import_module(f"matdisco.{family}")
    for step in steps:
        function = getattr(package, step)
        assert callable(function) and function.__module__ == f"matdisco.{family}.{step}", (
            f"matdisco.{family}.{step} is {function!r}"
        )


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_no_class_name_is_defined_twice_in_a_family(family):
    where: dict[str, list[str]] = {}
    for path in sorted((PACKAGES / family).rglob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef):
                where.setdefault(node.name, []).append(str(path.relative_to(PACKAGES)))
    assert not {name: files for name, files in where.items() if len(files) > 1}


@pytest.mark.parametrize(
    ("step", "overrides", "family"),
    [
        ("evaluate", ["data=hubbard", "model=hubbard_u"], "hubbard"),
        ("evaluate", ["data=motifs"], "motifs"),
        ("generate", ["data=hubbard"], "hubbard"),
        ("generate", ["data=ionic", "model=ionic_gnn"], "ionic"),
        ("extract", ["data=motifs"], "motifs"),
        ("train", ["data=ionic", "model=motifs_vae"], "motifs"),
        ("simulate", ["simulate=dfpt_spotcheck"], "hubbard"),
    ],
)
def test_steps_route_by_the_family_of_the_config_they_name(step, overrides, family):
    # evaluate and generate read the data config (its settings name the models), so no dummy model= is needed
    assert step_family(step, compose(overrides)) == family
