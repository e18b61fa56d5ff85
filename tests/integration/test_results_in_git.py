"""Results in git: every metrics and plots out of dvc.yaml, and every headline result table
(``results/**/*.md``, the report page), is ``cache: false`` and not git-ignored, so a fresh clone
shows it and ``dvc metrics diff`` / ``dvc plots diff`` work across commits; every DVC-cached out
(models, processed tables, full screening table, generated structures) is git-ignored."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from dvc.repo import Repo

from matdisco.core.families import FAMILIES

REPO = Path(__file__).resolve().parents[2]
HEADLINE_SUFFIXES = (".md", ".html")


def outs_of_dvc_yaml() -> list[tuple[str, object]]:
    """(stage address, output) of every out of dvc.yaml, foreach stages expanded (DVC's own parser)."""
    return [(stage.addressing, out) for stage in Repo(str(REPO)).index.stages for out in stage.outs]


def git_ignored(path: str, root: Path = REPO) -> str:
    """The .gitignore rule of the repository ``root`` that ignores ``path`` (``file:line:pattern``), or ""
    when git would track it (patterns only: ``--no-index`` ignores what is already tracked)."""
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", "--verbose", path], cwd=root, capture_output=True, text=True
    )
    return done.stdout.strip() if done.returncode == 0 else ""


def committed_kind(out) -> str:
    """Why ``out`` must be in git ("metrics", "plots", "headline table"), or "" when it may be cached."""
    if out.metric:
        return "metrics"
    if out.plot:
        return "plots"
    if out.def_path.startswith("results/") and out.def_path.endswith(HEADLINE_SUFFIXES):
        return "headline table"
    return ""


OUTS = outs_of_dvc_yaml()


@pytest.mark.parametrize(
    "stage,out", [(s, o) for s, o in OUTS if committed_kind(o)], ids=lambda v: getattr(v, "def_path", v)
)
def test_metrics_plots_and_headline_tables_are_committed(stage, out):
    kind = committed_kind(out)
    assert not out.use_cache, (
        f"dvc.yaml stage {stage}: {kind} out {out.def_path} must be `cache: false` (committed in git)"
    )
    rule = git_ignored(out.def_path)
    assert not rule, (
        f"dvc.yaml stage {stage}: {kind} out {out.def_path} is git-ignored by {rule}; a fresh clone would not show it"
    )


@pytest.mark.parametrize("stage,out", [(s, o) for s, o in OUTS if o.use_cache], ids=lambda v: getattr(v, "def_path", v))
def test_cached_outs_are_git_ignored(stage, out):
    assert git_ignored(out.def_path), (
        f"dvc.yaml stage {stage}: cached out {out.def_path} is not git-ignored; add it to .gitignore"
    )


def test_every_study_has_committed_metrics_and_the_report_page_is_an_out():
    committed = {out.def_path for _, out in OUTS if not out.use_cache}
    for study in FAMILIES:
        assert any(path.startswith(f"metrics/{study}/") for path in committed), (
            f"no committed metrics of {study} in dvc.yaml"
        )
    assert "results/report/index.html" in committed


def test_the_ignore_check_names_a_broad_rule(tmp_path):
    """The rule of the old .gitignore (/metrics, /plots, /results) is caught and named; a precise one is not over-reported."""
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / ".gitignore").write_text("/metrics\n/results/ionic/screening.csv\n")
    assert ".gitignore:1:/metrics" in git_ignored("metrics/ionic/evaluate.json", tmp_path)
    assert git_ignored("results/ionic/screening.csv", tmp_path)
    assert not git_ignored("results/ionic/screening_top.md", tmp_path)


def test_every_spot_check_stage_has_a_cached_out():
    """The ``*_simulate`` stages re-run an engine (QE, LAMMPS) to check it reproduces the stored data. With
    only committed outs a fresh clone would find them up to date and skip the check; a DVC-cached out is
    absent on a fresh clone, so the check runs on every new machine (and not again after that)."""
    simulate_stages = {stage for stage, _ in OUTS if stage.endswith("_simulate")}
    assert simulate_stages, "no *_simulate stage in dvc.yaml"
    for stage in sorted(simulate_stages):
        assert any(out.use_cache for name, out in OUTS if name == stage), (
            f"dvc.yaml stage {stage}: no cached out, so a fresh clone skips its spot-check"
        )
