"""The results page: one static HTML file built from the committed metrics, plots and result tables.

Everything the page shows is read from files of the repository (``metrics/<family>/*.json``,
``plots/<family>[_*]/**/*.png``, ``results/<family>/*.md``) and from ``dvc exp show --json``; nothing is
recomputed, so the page builds on a fresh clone. A value that a file does not hold is shown as
:data:`NOT_COMPUTED`, never an error. The page has no scripts and loads nothing from the network: plots
are relative links to the committed PNGs.

One section per family of :data:`matdisco.core.families.FAMILIES`, in that order. Each family owns its
part in ``matdisco.<family>.page`` (reached through importlib, never by name here): ``HEADING`` (str),
``tables(metrics) -> list[Table]`` (its headline numbers next to their baselines) and ``PUBLISHED``
(list of :class:`Published`: the figures of the talk / papers next to ours). This module adds the
published-figures table, the plots, the result tables and every metric of the family (folded).
"""

from __future__ import annotations

import html
import importlib
import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from matdisco.core.families import FAMILIES
from matdisco.core.io import atomic_write_text

NOT_COMPUTED = "not computed"
"""The one spelling of a value the metrics files do not hold (missing, None, non-finite, wrong type)."""


@dataclass(frozen=True)
class Published:
    """A published figure and where our counterpart lives: ``ours`` = (metrics file, key path, format of :func:`fmt`)."""

    quantity: str
    published: str
    citation: str
    ours: tuple[str, tuple, str]


@dataclass
class Table:
    """A titled table of already formatted cells (``rows`` [n_rows][len(header)])."""

    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    note: str = ""


def family_page(family: str) -> ModuleType:
    """``matdisco.<family>.page``: the family's ``HEADING``, ``tables(metrics)`` and ``PUBLISHED``."""
    return importlib.import_module(f"matdisco.{family}.page")


# ---------------------------------------------------------------- reading and formatting


def load_metrics(root: Path) -> dict[str, object]:
    """Every ``metrics/**/*.json`` under ``root``, keyed by its path relative to ``root`` (posix).
    A file that is not valid JSON maps to a string saying so."""
    found: dict[str, object] = {}
    for path in sorted((root / "metrics").rglob("*.json")):
        key = path.relative_to(root).as_posix()
        try:
            found[key] = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            found[key] = f"unreadable: {error}"
    return found


def dig(data: object, path: tuple) -> object:
    """The value at ``path`` in nested dicts/lists, or None. In a list, a key that is not an int picks
    the first element whose ``label`` equals it."""
    for key in path:
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int):
            data = data[key] if -len(data) <= key < len(data) else None
        elif isinstance(data, list):
            data = next((item for item in data if isinstance(item, dict) and item.get("label") == key), None)
        else:
            return None
    return data


def fmt(value: object, kind: str = "f3", signed: bool = False) -> str:
    """A cell: ``f<digits>`` fixed point, ``pct`` percent (value is a fraction), ``int``, ``text``; ``signed``
    puts an explicit ``+`` on non-negative numbers. :data:`NOT_COMPUTED` for None, non-finite numbers and
    values of the wrong type."""
    if value is None or (isinstance(value, bool) and kind != "text"):
        return NOT_COMPUTED
    if kind == "text":
        return str(value)
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return NOT_COMPUTED
    sign = "+" if signed and value >= 0 else ""
    if kind == "pct":
        return f"{sign}{100 * value:.1f} %"
    if kind == "int":
        return f"{sign}{int(value)}"
    return f"{sign}{value:.{int(kind[1:])}f}"


def fmt_interval(entry: object, kind: str = "f3", signed: bool = False) -> str:
    """The one interval cell: ``value [low, high]`` of an interval entry (``core.metrics.interval``),
    ``signed`` with an explicit ``+``; the bounds left out when either is missing, :data:`NOT_COMPUTED`
    without a value."""
    value, low, high = (fmt(dig(entry, (name,)), kind, signed) for name in ("value", "ci_low", "ci_high"))
    if value == NOT_COMPUTED:
        return NOT_COMPUTED
    return value + ("" if NOT_COMPUTED in (low, high) else f" [{low}, {high}]")


def fmt_pm(mean: object, std: object, digits: int = 3) -> str:
    """``mean +- std`` (std left out when missing); :data:`NOT_COMPUTED` without a mean."""
    value, spread = fmt(mean, f"f{digits}"), fmt(std, f"f{digits}")
    if value == NOT_COMPUTED:
        return NOT_COMPUTED
    return value + ("" if spread == NOT_COMPUTED else f" \u00b1 {spread}")


def fmt_pair(first: object, second: object, kind: str = "f2") -> str:
    """``first / second`` (e.g. median / p90, precision / recall); :data:`NOT_COMPUTED` when either is missing."""
    a, b = fmt(first, kind), fmt(second, kind)
    return NOT_COMPUTED if NOT_COMPUTED in (a, b) else f"{a} / {b}"


def flatten(data: object, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted key, formatted value) of every scalar in nested dicts/lists; numbers to 4 significant digits."""
    if isinstance(data, dict):
        return [
            pair for key, value in data.items() for pair in flatten(value, f"{prefix}.{key}" if prefix else str(key))
        ]
    if isinstance(data, list):
        return [pair for k, value in enumerate(data) for pair in flatten(value, f"{prefix}[{k}]")]
    if isinstance(data, float):
        return [(prefix, f"{data:.4g}" if math.isfinite(data) else NOT_COMPUTED)]
    return [(prefix, NOT_COMPUTED if data is None else str(data))]


# ---------------------------------------------------------------- published figures


def published_table(published: list[Published], metrics: dict) -> Table:
    """The published figures of one family next to ours."""
    table = Table("Published figures next to ours", ["quantity", "published", "ours", "source"])
    for item in published:
        file, path, kind = item.ours
        table.rows.append(
            [item.quantity, item.published, ours_cell(dig(metrics.get(file), path[:-1]), path[-1], kind), item.citation]
        )
    return table


def ours_cell(entry: object, key: str, kind: str) -> str:
    """``entry[key]`` formatted (an interval entry through :func:`fmt_interval`), with ``(rank r of n)`` when
    the entry ranks it and ``on <holdout>`` when it names the held-out set it was scored on; without a value,
    the entry's ``status`` (why there is none) or :data:`NOT_COMPUTED`."""
    found = dig(entry, (key,))
    value = fmt_interval(found, kind) if isinstance(found, dict) else fmt(found, kind)
    if value == NOT_COMPUTED:
        status = dig(entry, ("status",))
        return status if isinstance(status, str) else NOT_COMPUTED
    rank, of = fmt(dig(entry, ("rank",)), "int"), fmt(dig(entry, ("of",)), "int")
    holdout = dig(entry, ("holdout",))
    return (
        value
        + ("" if rank == NOT_COMPUTED else f" (rank {rank} of {of})")
        + (f" on {holdout}" if isinstance(holdout, str) else "")
    )


# ---------------------------------------------------------------- files of a family and experiments


def family_files(root: Path, family: str) -> dict[str, list[Path]]:
    """PNG plots (``plots/<family>`` and ``plots/<family>_*``, recursive), result tables and reports
    (``results/<family>/*.md`` and the .md files of those plot folders) and metrics files
    (``metrics/<family>/*.json``) of ``family``, sorted."""
    plot_dirs = [
        folder for folder in (root / "plots" / family, *sorted((root / "plots").glob(f"{family}_*"))) if folder.is_dir()
    ]
    return {
        "plots": sorted(path for folder in plot_dirs for path in folder.rglob("*.png")),
        "tables": sorted(
            [
                *(root / "results" / family).glob("*.md"),
                *(path for folder in plot_dirs for path in folder.rglob("*.md")),
            ]
        ),
        "metrics": sorted((root / "metrics" / family).glob("*.json")),
    }


def dvc_experiments(root: Path, timeout_s: float = 120.0) -> tuple[list | None, str]:
    """``dvc exp show --json`` run in ``root`` with this interpreter's dvc: (parsed list, "") or (None, why it is not available)."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "dvc", "exp", "show", "--json"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"dvc exp show could not run: {error}"
    if done.returncode != 0:
        return None, f"dvc exp show failed (exit {done.returncode}): {done.stderr.strip()[-300:]}"
    try:
        return json.loads(done.stdout or "[]"), ""
    except ValueError as error:
        return None, f"dvc exp show gave no JSON: {error}"


def _rev_values(rev: dict, kind: str) -> dict[str, str]:
    """Flattened ``params`` or ``metrics`` of one ``dvc exp show --json`` revision: ``file:key`` -> value."""
    values = {}
    for file, content in ((rev.get("data") or {}).get(kind) or {}).items():
        values.update({f"{file}:{key}": value for key, value in flatten((content or {}).get("data", {}))})
    return values


def experiments_table(entries: list, max_changes: int = 12) -> Table:
    """One row per experiment of ``dvc exp show --json``: its name, commit, time, the params it changed
    and the metrics that differ from its baseline commit (``before -> after``; at most ``max_changes`` each)."""
    table = Table(
        "DVC experiments (dvc exp show --json)",
        ["experiment", "commit", "created", "params changed", "metrics changed"],
    )
    for baseline in entries:
        params, metrics = _rev_values(baseline, "params"), _rev_values(baseline, "metrics")
        for experiment in baseline.get("experiments") or []:
            for rev in experiment.get("revs") or []:
                changed_params = [f"{k} = {v}" for k, v in _rev_values(rev, "params").items() if params.get(k) != v]
                changed_metrics = [
                    f"{k}: {metrics.get(k, NOT_COMPUTED)} \u2192 {v}"
                    for k, v in _rev_values(rev, "metrics").items()
                    if metrics.get(k) != v
                ]
                table.rows.append(
                    [
                        str(rev.get("name") or experiment.get("name") or ""),
                        str(rev.get("rev", ""))[:7],
                        str((rev.get("data") or {}).get("timestamp", "")),
                        _clip(changed_params, max_changes),
                        _clip(changed_metrics, max_changes),
                    ]
                )
    return table


def _clip(items: list[str], limit: int) -> str:
    """Newline-joined ``items``, at most ``limit`` of them and a count of the rest."""
    shown = items[:limit] + ([f"... and {len(items) - limit} more"] if len(items) > limit else [])
    return "\n".join(shown) or "(none)"


# ---------------------------------------------------------------- HTML

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 2px solid #36c; padding-bottom: .2em; margin-top: 2em; } h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; white-space: pre-line; }
th { background: #eef2f8; } td.missing { color: #a33; font-style: italic; background: #fbf3f3; }
figure { display: inline-block; margin: .5em; max-width: 560px; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #ddd; } figcaption { font-size: .85em; color: #555; }
p.note { font-size: .88em; color: #555; margin-top: -.5em; } pre { background: #f6f6f6; padding: .6em; overflow-x: auto; font-size: .85em; }
nav a { margin-right: 1em; }
"""


def render_table(table: Table) -> str:
    """``<h3>`` title, the table (missing cells marked with class ``missing``) and its note."""
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in table.header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="missing">{NOT_COMPUTED}</td>' if cell == NOT_COMPUTED else f"<td>{html.escape(cell)}</td>"
            for cell in row
        )
        + "</tr>"
        for row in table.rows
    )
    note = f'<p class="note">{html.escape(table.note)}</p>' if table.note else ""
    return f"<h3>{html.escape(table.title)}</h3>\n<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}\n"


def _link(path: Path, page_dir: Path) -> str:
    """``path`` relative to the page's folder, for href / src."""
    return html.escape(Path(os.path.relpath(path, page_dir)).as_posix())


def render_family(root: Path, page_dir: Path, family: str, metrics: dict) -> str:
    """The section of one family: headline tables, published figures, plots, result tables, all metrics."""
    files, page = family_files(root, family), family_page(family)
    parts = [f'<section id="{family}">\n<h2>{html.escape(page.HEADING)}</h2>\n']
    parts += [render_table(table) for table in page.tables(metrics)]
    parts.append(render_table(published_table(page.PUBLISHED, metrics)))
    parts.append("<h3>Plots</h3>\n")
    parts += [
        f'<figure><img src="{_link(p, page_dir)}" alt="{html.escape(p.name)}"><figcaption>{html.escape(p.relative_to(root).as_posix())}'
        f"</figcaption></figure>\n"
        for p in files["plots"]
    ] or [f'<p class="note">No plots: {NOT_COMPUTED}.</p>\n']
    parts.append("<h3>Result tables</h3>\n")
    parts += [
        f'<details><summary><a href="{_link(p, page_dir)}">{html.escape(p.relative_to(root).as_posix())}</a></summary>'
        f"<pre>{html.escape(p.read_text())}</pre></details>\n"
        for p in files["tables"]
    ] or [f'<p class="note">No result tables: {NOT_COMPUTED}.</p>\n']
    parts.append("<h3>All metrics</h3>\n")
    for path in files["metrics"]:
        key = path.relative_to(root).as_posix()
        rows = [list(pair) for pair in flatten(metrics.get(key))]
        parts.append(
            f"<details><summary>{html.escape(key)} ({len(rows)} values)</summary>"
            + render_table(Table(key, ["key", "value"], rows))
            + "</details>\n"
        )
    if not files["metrics"]:
        parts.append(f'<p class="note">No metrics files: {NOT_COMPUTED}.</p>\n')
    return "".join(parts) + "</section>\n"


def render_experiments(entries: list | None, why_not: str) -> str:
    """The experiments section: the table, or a note saying why there is none."""
    parts = ['<section id="experiments">\n<h2>Experiments</h2>\n']
    table = experiments_table(entries) if entries is not None else None
    if table is None:
        parts.append(f'<p class="note">{html.escape(why_not)}</p>\n')
    elif not table.rows:
        parts.append(
            '<p class="note">No DVC experiments in this repository (run one with <code>dvc exp run -S key=value</code>).</p>\n'
        )
    else:
        parts.append(render_table(table))
    return "".join(parts) + "</section>\n"


def render_page(root: Path, page_path: Path, experiments: tuple[list | None, str]) -> str:
    """The whole page for the repository at ``root``, to be written at ``page_path``."""
    metrics = load_metrics(root)
    nav = "".join(f'<a href="#{family}">{family}</a>' for family in FAMILIES) + '<a href="#experiments">experiments</a>'
    body = "".join(render_family(root, page_path.parent, family, metrics) for family in FAMILIES)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        f"<title>matdisco results</title><style>{STYLE}</style></head>\n<body>\n<h1>matdisco results</h1>\n"
        "<p>Built by <code>matdisco report</code> from the committed <code>metrics/</code>, <code>plots/</code> and "
        f"<code>results/</code> of this repository. Cells marked <em>{NOT_COMPUTED}</em> are values the metrics files do not hold "
        "(run <code>make pipeline</code>).</p>\n"
        f"<nav>{nav}</nav>\n{body}{render_experiments(*experiments)}</body></html>\n"
    )


def write_report(root: Path, page_path: Path, experiments: bool = True) -> Path:
    """Write the page for the repository at ``root`` to ``page_path`` (atomically); ``experiments=False``
    skips ``dvc exp show`` (the section then says so)."""
    found = dvc_experiments(root) if experiments else (None, "Experiments table not requested (--no-experiments).")
    atomic_write_text(page_path, render_page(root, page_path, found))
    return page_path
