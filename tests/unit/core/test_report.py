"""The results page's core (matdisco.core.report): one section per family of FAMILIES from its page module,
formatting with one spelling of a missing value, published figures next to ours, relative links, no scripts
or network, the experiments table, and no family named in core. Each family's own tables are tested in
tests/unit/<family>/test_<family>_page.py, from metrics laid out by the steps' builders."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from matdisco.cli import main
from matdisco.core import report
from matdisco.core.families import FAMILIES
from matdisco.core.report import NOT_COMPUTED, Published
from page_helpers import build, section, tiny_png, write_tree

CORE = Path(report.__file__).resolve().parent


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A tree with a plot, a nested plot, a data report and an HTML-bearing result table of every family."""
    for family in FAMILIES:
        tiny_png(tmp_path / f"plots/{family}/parity.png")
        tiny_png(tmp_path / f"plots/{family}_ml/variant/parity.png")
        write_tree(
            tmp_path,
            {
                f"plots/{family}/data_report.md": f"# {family} data\n",
                f"results/{family}/comparison.md": "# comparison\n| model | RMSE |\n|---|---|\n| <b>x</b> | 0.812 |\n",
            },
        )
    return tmp_path


def test_core_report_names_no_family():
    source = (CORE / "report.py").read_text().lower()
    assert not [family for family in FAMILIES if family in source]


def test_every_family_page_has_the_parts_core_reads():
    for family in FAMILIES:
        page = report.family_page(family)
        assert isinstance(page.HEADING, str) and callable(page.tables), family
        assert all(isinstance(item, Published) for item in page.PUBLISHED), family


def test_every_family_has_a_section_with_its_heading_in_the_order_of_families(repo):
    page = build(repo)
    for family in FAMILIES:
        assert f"<h2>{html.escape(report.family_page(family).HEADING)}" in section(page, family)
    assert re.findall(r'<section id="(\w+)">', page) == [*FAMILIES, "experiments"]


def test_fmt_spells_every_missing_value_one_way():
    for value, kind in ((None, "f3"), (float("nan"), "f3"), (float("inf"), "pct"), ("x", "int"), (True, "f2")):
        assert report.fmt(value, kind) == NOT_COMPUTED
    assert report.fmt(0.5, "pct", signed=True) == "+50.0 %" and report.fmt(-2, "int", signed=True) == "-2"
    assert report.fmt_pm(None, 0.1) == NOT_COMPUTED and report.fmt_pm(1.0, None) == "1.000"
    assert report.fmt_pm(1.0, 0.25, 2) == "1.00 \u00b1 0.25"
    assert report.fmt_pair(0.031, 0.052) == "0.03 / 0.05" and report.fmt_pair(0.031, None) == NOT_COMPUTED


def test_fmt_interval_formats_values_differences_and_missing_bounds():
    entry = {"value": 0.01234, "ci_low": -0.002, "ci_high": 0.03}
    assert report.fmt_interval(entry) == "0.012 [-0.002, 0.030]"
    assert report.fmt_interval(entry, "pct", signed=True) == "+1.2 % [-0.2 %, +3.0 %]"
    assert report.fmt_interval({"value": -0.5, "ci_low": None}, signed=True) == "-0.500"
    assert report.fmt_interval({"value": float("nan")}) == NOT_COMPUTED and report.fmt_interval(None) == NOT_COMPUTED


def test_published_table_puts_ours_with_its_rank_or_the_reason_there_is_none():
    metrics = {
        "metrics/x.json": {
            "pairs": [
                {"label": "a", "sigma": 3.77, "rank": 12, "of": 4321},
                {"label": "b", "status": "measured in the data"},
            ],
            "mare": {"value": 0.04, "ci_low": 0.03, "ci_high": 0.05},
        }
    }
    published = [
        Published("sigma of a", "4.39", "talk", ("metrics/x.json", ("pairs", "a", "sigma"), "f2")),
        Published("sigma of b", "2.60", "talk", ("metrics/x.json", ("pairs", "b", "sigma"), "f2")),
        Published("MARE", "3.0 %", "paper", ("metrics/x.json", ("mare",), "pct")),
        Published("missing", "1", "paper", ("metrics/y.json", ("z",), "f2")),
    ]
    cells = [row[2] for row in report.published_table(published, metrics).rows]
    assert cells == ["3.77 (rank 12 of 4321)", "measured in the data", "4.0 % [3.0 %, 5.0 %]", NOT_COMPUTED]


def test_an_empty_tree_builds_a_page_of_not_computed(tmp_path):
    page = build(tmp_path)
    for family in FAMILIES:
        assert NOT_COMPUTED in section(page, family)
    assert "No plots" in page


def test_a_broken_metrics_file_is_reported_not_fatal(repo):
    write_tree(repo, {f"metrics/{family}/evaluate.json": "{not json" for family in FAMILIES})
    page = build(repo)
    for family in FAMILIES:
        assert "unreadable" in section(page, family) and NOT_COMPUTED in section(page, family)


def test_plots_and_tables_are_relative_links_and_tables_are_escaped(repo):
    page = build(repo)
    for family in FAMILIES:
        part = section(page, family)
        assert f'<img src="../../plots/{family}/parity.png"' in part
        assert f'<img src="../../plots/{family}_ml/variant/parity.png"' in part
        assert "&lt;b&gt;x&lt;/b&gt;" in part
        assert f'<a href="../../plots/{family}/data_report.md">' in part


def test_the_page_loads_nothing_from_the_network_and_runs_no_script(repo):
    page = build(repo)
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_experiments_table_lists_changed_params_and_metrics():
    entries = [
        {
            "rev": "workspace",
            "data": {
                "params": {"params.yaml": {"data": {"model_a": {"hidden": 64}}}},
                "metrics": {"metrics/a/evaluate.json": {"data": {"rmse": 0.8}}},
            },
            "experiments": [
                {
                    "revs": [
                        {
                            "rev": "abcdef123456",
                            "name": "wide-model",
                            "data": {
                                "timestamp": "2026-12-01T10:00:00",
                                "params": {"params.yaml": {"data": {"model_a": {"hidden": 128}}}},
                                "metrics": {"metrics/a/evaluate.json": {"data": {"rmse": 0.7}}},
                            },
                        }
                    ]
                }
            ],
        }
    ]
    table = report.experiments_table(entries)
    assert table.rows == [
        [
            "wide-model",
            "abcdef1",
            "2026-12-01T10:00:00",
            "params.yaml:model_a.hidden = 128",
            "metrics/a/evaluate.json:rmse: 0.8 \u2192 0.7",
        ]
    ]


def test_experiments_section_says_why_when_dvc_is_unavailable():
    assert "dvc exp show failed" in report.render_experiments(
        None, "dvc exp show failed (exit 1): not a DVC repository"
    )
    assert "No DVC experiments" in report.render_experiments([{"rev": "workspace", "data": {}}], "")


def test_cli_report_writes_the_page(repo, capsys):
    out = repo / "page.html"
    assert main(["report", "--root", str(repo), "--out", str(out), "--no-experiments"]) == 0
    assert all(f'<section id="{family}">' in out.read_text() for family in FAMILIES)
    assert str(out) in capsys.readouterr().out


def test_dvc_experiments_outside_a_dvc_repository_gives_a_reason_not_an_error(tmp_path):
    entries, why = report.dvc_experiments(tmp_path)
    assert entries is None and why.startswith("dvc exp show failed")
    assert html.escape(why) in report.render_experiments(entries, why)
