"""The results page: one static HTML file built from the committed metrics, plots and result tables.

Everything the page shows is read from files of the repository (``metrics/<study>/*.json``,
``plots/<study>[_*]/**/*.png``, ``results/<study>/*.md``) and from ``dvc exp show --json``; no
study package is imported, so the page builds on a fresh clone before anything is recomputed.
A value that a file does not hold is shown as :data:`NOT_COMPUTED`, never an error. The page has no
scripts and loads nothing from the network: plots are relative links to the committed PNGs.

Per study (:data:`STUDIES`): the headline numbers next to their baselines (tables built by
``<study>_tables``), the published figures of the talk / papers next to ours (:data:`PUBLISHED`),
the plots, the result tables, and every metric of the study (folded).
"""

from __future__ import annotations

import html
import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from matdisco.core.io import atomic_write_text

NOT_COMPUTED = "not computed"
STUDIES = {
    "ionic": "Ionic liquids: conductivity ln(sigma) from atom types and graphs",
    "hubbard": "Hubbard U and V from occupation matrices",
    "motifs": "Amorphous-silicon motifs: a VAE of local environments",
}
"""Study name (folder under metrics/, plots/, results/) -> section heading."""

TALK = "M. Uhrin, talk \u201cMachine learning for materials discovery\u201d"
HUBBARD_PAPER = "M. Uhrin, G. Zadoks, L. Binci, N. Marzari, I. Timrov, npj Comput. Mater. 11, 19 (2025)"
LAAZIRI = "K. Laaziri et al., Phys. Rev. B 60, 13520 (1999), annealed a-Si (experiment)"
DERINGER = "V. L. Deringer et al., J. Phys. Chem. Lett. 9, 2879 (2018), GAP-MD a-Si"
SW_QUENCH = "Stillinger-Weber a-Si quenched fast (as quoted in Deringer et al. 2018)"


@dataclass(frozen=True)
class Published:
    """A published figure and where our counterpart lives: ``ours`` = (metrics file, key path, format)."""

    study: str
    quantity: str
    published: str
    citation: str
    ours: tuple[str, tuple, str]


PUBLISHED = [
    *(
        Published(
            "ionic",
            f"sigma at 298 K of the talk's top prediction {label} (S/m)",
            f"{sigma:.2f}",
            TALK,
            ("metrics/ionic/screening.json", ("talk_reference_pairs", label, "pred_sigma_S_per_m"), "f2"),
        )
        for label, sigma in (
            ("dicyanamide + pyrrolidin-1-ium", 4.39),
            ("dicyanamide + dimethyl(prop-2-enyl)azanium", 3.30),
            ("nitrate + dimethyl(prop-2-enyl)azanium", 2.93),
            ("dicyanamide + dimethyl(propyl)azanium", 2.68),
            ("thiocyanate + pyrrolidin-1-ium", 2.60),
        )
    ),
    Published(
        "hubbard",
        "MARE of U, held-out points (ours: hubbard_u, held-out paths)",
        "3.0 %",
        HUBBARD_PAPER,
        ("metrics/hubbard/hubbard_u_evaluate.json", ("schemes", "by_path", "all", "mare"), "pct"),
    ),
    Published(
        "hubbard",
        "MARE of V, held-out points (ours: hubbard_v, held-out paths)",
        "5.0 %",
        HUBBARD_PAPER,
        ("metrics/hubbard/hubbard_v_evaluate.json", ("schemes", "by_path", "all", "mare"), "pct"),
    ),
    Published(
        "motifs",
        "mean coordination",
        "3.88",
        LAAZIRI,
        ("metrics/motifs/structure.json", ("comparison", "mean_coordination", "ours"), "f2"),
    ),
    Published(
        "motifs",
        "bond-angle standard deviation (degrees)",
        "9.6 - 10.5",
        LAAZIRI,
        ("metrics/motifs/structure.json", ("comparison", "bond_angle_std_deg", "ours"), "f1"),
    ),
    Published(
        "motifs",
        "RDF first peak (Angstrom)",
        "2.35",
        LAAZIRI,
        ("metrics/motifs/structure.json", ("comparison", "rdf_first_peak_angstrom", "ours"), "f3"),
    ),
    Published(
        "motifs",
        "fraction of coordination defects",
        "< 2.0 %",
        DERINGER,
        ("metrics/motifs/structure.json", ("comparison", "fraction_defects", "ours"), "pct"),
    ),
    Published(
        "motifs",
        "fraction of 5-fold atoms",
        "12.0 %",
        SW_QUENCH,
        ("metrics/motifs/structure.json", ("comparison", "fraction_5fold", "ours"), "pct"),
    ),
]
"""The talk's and the papers' figures quoted in the repository (conf/data/ionic.yaml reference_pairs,
conf/data/hubbard.yaml paper_mare, matdisco.motifs.structure.REFERENCES; a test keeps them equal)."""


@dataclass
class Table:
    """A titled table of already formatted cells (``rows`` [n_rows][len(header)])."""

    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    note: str = ""


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


def fmt(value: object, kind: str = "f3") -> str:
    """A cell: ``f<digits>`` fixed point, ``pct`` percent (value is a fraction), ``int``, ``text``;
    :data:`NOT_COMPUTED` for None, non-finite numbers and values of the wrong type."""
    if value is None or (isinstance(value, bool) and kind != "text"):
        return NOT_COMPUTED
    if kind == "text":
        return str(value)
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return NOT_COMPUTED
    if kind == "pct":
        return f"{100 * value:.1f} %"
    if kind == "int":
        return f"{int(value)}"
    return f"{value:.{int(kind[1:])}f}"


def fmt_pm(mean: object, std: object, digits: int = 3) -> str:
    """``mean +- std`` (std left out when missing); :data:`NOT_COMPUTED` without a mean."""
    if fmt(mean) == NOT_COMPUTED:
        return NOT_COMPUTED
    return fmt(mean, f"f{digits}") + ("" if fmt(std) == NOT_COMPUTED else f" \u00b1 {fmt(std, f'f{digits}')}")


def fmt_interval(entry: object, kind: str = "f3") -> str:
    """``diff [low, high]`` of a paired-difference entry (keys diff, ci_low, ci_high)."""
    diff, low, high = (dig(entry, (key,)) for key in ("diff", "ci_low", "ci_high"))
    if fmt(diff) == NOT_COMPUTED:
        return NOT_COMPUTED
    bounds = (
        f" [{_signed(low, kind)}, {_signed(high, kind)}]"
        if fmt(low) != NOT_COMPUTED and fmt(high) != NOT_COMPUTED
        else ""
    )
    return _signed(diff, kind) + bounds


def _signed(value: float, kind: str) -> str:
    """``fmt`` with an explicit ``+`` on non-negative values."""
    return ("+" if value >= 0 else "") + fmt(value, kind)


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


# ---------------------------------------------------------------- study tables


def ionic_tables(metrics: dict) -> list[Table]:
    """Held-out-IL scores of every model and baseline (``metrics/ionic/evaluate.json``) and the screening summary."""
    evaluate = metrics.get("metrics/ionic/evaluate.json")
    models = dig(evaluate, ("models",)) or {}
    differences_key = next(
        (key for key in (evaluate if isinstance(evaluate, dict) else {}) if key.startswith("out_of_fold_minus_")), None
    )
    reference = differences_key[len("out_of_fold_minus_") :] if differences_key else "the reference model"
    names = sorted(set(models) | {"ionic_additive", "ionic_gnn", "ridge_additive"})
    scores = Table(
        "Held-out ILs: models and baselines (ln sigma, sigma in S/m; lower RMSE is better)",
        [
            "model",
            "role",
            "k-fold RMSE",
            "k-fold MAE",
            "k-fold R\u00b2",
            "out-of-fold RMSE",
            "default-split RMSE",
            f"RMSE minus {reference} [95 % CI, ILs resampled]",
        ],
        note=f"{fmt(dig(evaluate, ('n_points_scored_per_model',)), 'int')} points scored per model (those every model can predict); "
        f"{fmt(dig(evaluate, ('n_ils_excluded_unseen_types',)), 'int')} IL(s) left out for atom types unseen in training.",
    )
    for name in names:
        m = models.get(name, {})
        scores.rows.append(
            [
                name,
                "baseline" if name.startswith("ridge") else "model",
                fmt_pm(dig(m, ("kfold", "rmse_mean")), dig(m, ("kfold", "rmse_std"))),
                fmt(dig(m, ("kfold", "mae_mean"))),
                fmt_pm(dig(m, ("kfold", "r2_mean")), dig(m, ("kfold", "r2_std"))),
                fmt(dig(m, ("out_of_fold", "rmse"))),
                fmt(dig(m, ("default_test", "rmse"))),
                "(reference)"
                if name == reference
                else fmt_interval(dig(evaluate, (differences_key or "", name, "rmse"))),
            ]
        )
    screening = metrics.get("metrics/ionic/screening.json")
    top = Table(
        "Screening of unmeasured cation x anion pairs",
        ["quantity", "value"],
        [
            ["ranking model", fmt(dig(screening, ("model",)), "text")],
            ["candidate pairs", fmt(dig(screening, ("n_pairs",)), "int")],
            ["pairs with atom types unseen in training", fmt(dig(screening, ("n_pairs_with_unseen_types",)), "int")],
            ["top pair", fmt(dig(screening, ("top_pair",)), "text")],
            ["its predicted sigma (S/m)", fmt(dig(screening, ("top_sigma_S_per_m",)), "f2")],
        ],
    )
    return [scores, top]


HUBBARD_VARIANTS = ("hubbard_u", "hubbard_v", "hubbard_u_converged", "hubbard_v_converged")
HUBBARD_SCHEMES = {"by_path": "held-out paths", "lomo": "leave one material out"}


def hubbard_tables(metrics: dict) -> list[Table]:
    """Per model variant and held-out scheme: the model's MAE / MARE next to every baseline's MARE and the paper's."""
    files = {
        key.rsplit("/", 1)[-1][: -len("_evaluate.json")]: value
        for key, value in metrics.items()
        if key.startswith("metrics/hubbard/") and key.endswith("_evaluate.json")
    }
    variants = sorted(set(files) | set(HUBBARD_VARIANTS))
    baselines = sorted(
        {
            name
            for data in files.values()
            for entry in (dig(data, ("schemes",)) or {}).values()
            if isinstance(entry, dict)
            for name in (entry.get("baselines") or {})
        }
    )
    table = Table(
        "Held-out errors of U and V (eV); MARE = mean absolute relative error",
        [
            "model",
            "held out",
            "n",
            "model MAE (eV)",
            "model MARE",
            "baseline MARE: species mean",
            *(f"baseline MARE: {name}" for name in baselines),
            "paper MARE",
        ],
        note="Targets are the values at this data set's DFPT settings, not the paper's; baselines are fitted on the same training "
        "rows and scored on the same test rows.",
    )
    for variant in variants:
        data = files.get(variant)
        for scheme, label in HUBBARD_SCHEMES.items():
            entry = dig(data, ("schemes", scheme))
            table.rows.append(
                [
                    variant,
                    label,
                    fmt(dig(entry, ("all", "n")), "int"),
                    fmt(dig(entry, ("all", "mae_eV"))),
                    fmt(dig(entry, ("all", "mare")), "pct"),
                    fmt(dig(entry, ("baseline_species_mean", "mare")), "pct"),
                    *(fmt(dig(entry, ("baselines", name, "mare")), "pct") for name in baselines),
                    fmt(dig(data, ("paper_mare",)), "pct"),
                ]
            )
    return [table]


MOTIFS_RECONSTRUCTION = ("model", "mean_environment", "nearest_training_environment")


def motifs_tables(metrics: dict) -> list[Table]:
    """Reconstruction against the no-model baselines, samples against MD, inpainting against placement baselines."""
    evaluate = metrics.get("metrics/motifs/evaluate.json")
    comparison = dig(evaluate, ("reconstruction_vs_baselines",)) or {}
    reconstruction = Table(
        "Reconstruction of held-out environments: RMSD after O(3) alignment about the centre (Angstrom, median / p90)",
        ["predictor", "role", "label-free RMSD", "fixed-label RMSD", "decoded invalid"],
    )
    for name in list(MOTIFS_RECONSTRUCTION) + sorted(set(comparison) - set(MOTIFS_RECONSTRUCTION)):
        row = comparison.get(name, {})
        reconstruction.rows.append(
            [
                name,
                "model" if name == "model" else "baseline",
                _median_p90(row, "rmsd_label_free_all_angstrom"),
                _median_p90(row, "rmsd_fixed_label_all_angstrom"),
                fmt(dig(row, ("fraction_invalid",)), "pct"),
            ]
        )
    samples = Table(
        "Samples z ~ N(0, 1) against held-out MD: Wasserstein-1 distances (lower is better)",
        ["environments", "distances (Angstrom)", "all angles (deg)", "bond angles (deg)", "invalid"],
        note="MD train vs MD test is the floor: two sets of real environments differ this much.",
    )
    for name, label in (
        ("samples", "VAE samples"),
        ("samples_spectral_only", "VAE samples, spectral decoding"),
        ("md_train_vs_test", "MD train vs MD test (baseline)"),
    ):
        row = dig(evaluate, (name,))
        samples.rows.append(
            [
                label,
                fmt(dig(row, ("w1_distance_angstrom",))),
                fmt(dig(row, ("w1_angle_deg",)), "f2"),
                fmt(dig(row, ("w1_bond_angle_deg",)), "f2"),
                fmt(dig(row, ("fraction_invalid",)), "pct"),
            ]
        )
    inpainting = dig(metrics.get("metrics/motifs/generate.json"), ("inpainting",)) or {}
    inpaint = Table(
        "Inpainting: missing atoms placed from k known ones, RMSD of the placed atoms (Angstrom, median)",
        ["known atoms", "environments", "model", "baseline: random", "baseline: mean placement", "model beats random"],
    )
    for name in sorted(inpainting, key=lambda k: (len(k), k)) or [NOT_COMPUTED]:
        row = inpainting.get(name, {})
        inpaint.rows.append(
            [
                name.lstrip("k"),
                fmt(dig(row, ("n_environments",)), "int"),
                fmt(dig(row, ("model_rmsd_angstrom_median",))),
                fmt(dig(row, ("random_baseline_rmsd_angstrom_median",))),
                fmt(dig(row, ("mean_baseline_rmsd_angstrom_median",))),
                fmt(dig(row, ("fraction_model_beats_random",)), "pct"),
            ]
        )
    return [reconstruction, samples, inpaint]


def _median_p90(row: dict, stem: str) -> str:
    """``median / p90`` of ``<stem>_median`` and ``<stem>_p90`` in ``row``."""
    median, p90 = fmt(dig(row, (f"{stem}_median",)), "f2"), fmt(dig(row, (f"{stem}_p90",)), "f2")
    return NOT_COMPUTED if median == NOT_COMPUTED else f"{median} / {p90}"


STUDY_TABLES = {"ionic": ionic_tables, "hubbard": hubbard_tables, "motifs": motifs_tables}


def published_table(study: str, metrics: dict) -> Table:
    """The published figures of ``study`` (:data:`PUBLISHED`) next to ours."""
    table = Table("Published figures next to ours", ["quantity", "published", "ours", "source"])
    for item in (p for p in PUBLISHED if p.study == study):
        file, path, kind = item.ours
        table.rows.append(
            [item.quantity, item.published, ours_cell(dig(metrics.get(file), path[:-1]), path[-1], kind), item.citation]
        )
    return table


def ours_cell(entry: object, key: str, kind: str) -> str:
    """``entry[key]`` formatted, with ``(rank r of n)`` when the entry ranks it; without a value, the
    entry's ``status`` (why there is none) or :data:`NOT_COMPUTED`."""
    value = fmt(dig(entry, (key,)), kind)
    if value == NOT_COMPUTED:
        status = dig(entry, ("status",))
        return status if isinstance(status, str) else NOT_COMPUTED
    rank, of = dig(entry, ("rank",)), dig(entry, ("of",))
    return value + (f" (rank {fmt(rank, 'int')} of {fmt(of, 'int')})" if fmt(rank, "int") != NOT_COMPUTED else "")


# ---------------------------------------------------------------- files of a study and experiments


def study_files(root: Path, study: str) -> dict[str, list[Path]]:
    """PNG plots (``plots/<study>`` and ``plots/<study>_*``, recursive), result tables and reports
    (``results/<study>/*.md`` and the .md files of those plot folders) and metrics files
    (``metrics/<study>/*.json``) of ``study``, sorted."""
    plot_dirs = [
        folder for folder in (root / "plots" / study, *sorted((root / "plots").glob(f"{study}_*"))) if folder.is_dir()
    ]
    return {
        "plots": sorted(path for folder in plot_dirs for path in folder.rglob("*.png")),
        "tables": sorted(
            [*(root / "results" / study).glob("*.md"), *(path for folder in plot_dirs for path in folder.rglob("*.md"))]
        ),
        "metrics": sorted((root / "metrics" / study).glob("*.json")),
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


def render_study(root: Path, page_dir: Path, study: str, metrics: dict) -> str:
    """The section of one study: headline tables, published figures, plots, result tables, all metrics."""
    files = study_files(root, study)
    parts = [f'<section id="{study}">\n<h2>{html.escape(STUDIES[study])}</h2>\n']
    parts += [render_table(table) for table in STUDY_TABLES[study](metrics)]
    parts.append(render_table(published_table(study, metrics)))
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
    nav = "".join(f'<a href="#{study}">{study}</a>' for study in STUDIES) + '<a href="#experiments">experiments</a>'
    body = "".join(render_study(root, page_path.parent, study, metrics) for study in STUDIES)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        f"<title>matdisco results</title><style>{STYLE}</style></head>\n<body>\n<h1>matdisco results</h1>\n"
        "<p>Built by <code>matdisco report</code> from the committed <code>metrics/</code>, <code>plots/</code> and "
        "<code>results/</code> of this repository. Cells marked <em>not computed</em> are values the metrics files do not hold "
        "(run <code>make pipeline</code>).</p>\n"
        f"<nav>{nav}</nav>\n{body}{render_experiments(*experiments)}</body></html>\n"
    )


def write_report(root: Path, page_path: Path, experiments: bool = True) -> Path:
    """Write the page for the repository at ``root`` to ``page_path`` (atomically); ``experiments=False``
    skips ``dvc exp show`` (the section then says so)."""
    found = dvc_experiments(root) if experiments else (None, "Experiments table not requested (--no-experiments).")
    atomic_write_text(page_path, render_page(root, page_path, found))
    return page_path
