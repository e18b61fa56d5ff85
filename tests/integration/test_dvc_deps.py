"""True deps, checked: every stage's code deps in dvc.yaml are exactly its import closure
(``matdisco.core.deps``; ``matdisco deps --write`` rewrites them), and the closure follows what a
stage really runs."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import yaml

from matdisco.core import deps as D
from matdisco.core.families import FAMILIES

REPO = D.REPO
STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


@functools.cache
def stale_in_repo() -> dict:
    """The repository's stale stages, computed once (each closure composes the stage's config)."""
    return D.stale_stages(REPO / "dvc.yaml")


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_code_deps_are_its_import_closure(name):
    stale = stale_in_repo().get(name)
    assert stale is None, f"dvc.yaml stage {name}: (missing, not imported) = {stale}; run `matdisco deps --write`"


def test_closure_follows_imports_inside_functions_and_model_loading():
    closure = {
        str(path.relative_to(REPO)) for path in D.import_closure(REPO / "pipelines/generate.py", "hubbard", "generate")
    }
    assert "src/matdisco/hubbard/qe/parse_pw.py" in closure  # imported inside record_from_pw
    assert "src/matdisco/hubbard/models.py" in closure  # loaded from the checkpoints' class path
    assert "src/matdisco/core/seeding.py" in closure and "src/matdisco/core/config.py" in closure  # through core.steps
    assert "src/matdisco/hubbard/train.py" in closure  # a blocked data.generate.holdout fits its models
    assert "src/matdisco/ionic/models.py" not in closure and "src/matdisco/hubbard/extract.py" not in closure


def test_the_report_closure_holds_every_family_page_without_its_steps():
    """core.report imports each family's page.py through importlib: the closure adds them (and their imports),
    and their packages' __init__ without the steps it imports eagerly."""
    closure = {str(path.relative_to(REPO)) for path in D.import_closure(REPO / "src/matdisco/cli.py", None, "report")}
    for family in FAMILIES:
        assert {f"src/matdisco/{family}/page.py", f"src/matdisco/{family}/__init__.py"} <= closure, family
        assert f"src/matdisco/{family}/evaluate.py" not in closure, family


def test_write_keeps_data_deps_and_comments_and_fixes_code_deps(tmp_path):
    """A stage missing its code deps and listing one it does not import is rewritten; its data deps,
    its other keys and the file's comments stay."""
    stage = STAGES["ionic_extract"]
    dvc = tmp_path / "dvc.yaml"
    dvc.write_text(
        "# the leading comment\n"
        "stages:\n"
        "  ionic_extract:\n"
        f"    cmd: {stage['cmd']}\n"
        "    deps:\n"
        "      - src/matdisco/motifs/md.py\n"
        "      - data/raw/ionic\n"
        "    outs:\n"
        "      - data/processed/ionic  # kept\n"
    )
    missing, extra = D.stale_stages(dvc)["ionic_extract"]
    assert extra == ["src/matdisco/motifs/md.py"] and "src/matdisco/ionic/extract.py" in missing
    assert D.write_deps(dvc) == ["ionic_extract"]
    rewritten = yaml.safe_load(dvc.read_text())["stages"]["ionic_extract"]
    assert rewritten["deps"] == stage["deps"] and rewritten["outs"] == ["data/processed/ionic"]
    assert dvc.read_text().startswith("# the leading comment") and "# kept" in dvc.read_text()


def test_a_code_dep_is_a_file_under_src_or_pipelines():
    assert D.is_code("src/matdisco/hubbard/qe/run.py") and D.is_code("pipelines/train.py")
    assert not D.is_code("data/processed/ionic") and not D.is_code("models/ionic/ionic_gnn")
    assert Path(D.SRC).name == "src"
