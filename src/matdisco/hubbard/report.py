"""Data report of the Hubbard data set: counts table (markdown) and plots (U/V distributions,
self-consistent convergence paths)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from matdisco.core.io import atomic_write_text  # noqa: E402
from matdisco.core.plots import histogram_comparison, save_figure  # noqa: E402
from matdisco.hubbard import keys as K  # noqa: E402


def counts_table(u: pd.DataFrame, v: pd.DataFrame) -> pd.DataFrame:
    """Per material: paths, iterations, U points per species, V points, converged paths."""
    rows = []
    for material, group in u.groupby(K.MATERIAL):
        pairs = v[v[K.MATERIAL] == material] if not v.empty else v
        row = {
            "material": material,
            "paths": group[K.PATH_ID].nunique(),
            "iterations": group[K.RECORD_ID].nunique(),
            "converged paths": group.loc[group[K.CONVERGED], K.PATH_ID].nunique(),
            "V points": len(pairs),
        }
        row.update({f"U points {s}": int((group[K.SPECIES] == s).sum()) for s in sorted(u[K.SPECIES].unique())})
        rows.append(row)
    table = pd.DataFrame(rows)
    total = {"material": "all", **table.drop(columns="material").sum().to_dict()}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


TARGET_SETTINGS = {  # record settings that set the hp.x values (the targets) -> column label
    "ecutwfc_Ry": "ecutwfc (Ry)",
    "ecutrho_Ry": "ecutrho (Ry)",
    "kpts": "k mesh",
    "qpts": "q mesh",
    "occupations": "occupations",
}


def setting_text(value: Any) -> str:
    """One setting as the report shows it: a mesh ``[4, 4, 4]`` as ``4x4x4``, a number as ``%g``, a
    missing one as ``not recorded``."""
    if value is None:
        return "not recorded"
    if isinstance(value, list | tuple):
        return "x".join(str(n) for n in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def settings_table(records: list[dict]) -> pd.DataFrame:
    """Per material, each distinct combination of ``TARGET_SETTINGS`` among its records, with the number of
    records; two rows for one material mean its records mix settings."""
    rows = [
        {
            "material": record[K.MATERIAL],
            **{label: setting_text((record.get(K.SETTINGS) or {}).get(key)) for key, label in TARGET_SETTINGS.items()},
        }
        for record in records
    ]
    if not rows:
        return pd.DataFrame(columns=["material", *TARGET_SETTINGS.values(), "records"])
    frame = pd.DataFrame(rows)
    return frame.groupby(list(frame.columns)).size().rename("records").reset_index()


def markdown_table(table: pd.DataFrame) -> str:
    """A DataFrame as a GitHub markdown table (no extra dependency)."""
    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "---|" * len(table.columns)
    body = ["| " + " | ".join(str(x) for x in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def convergence_plot(path: Path, u: pd.DataFrame) -> Path:
    """U_out against iteration for every path (metal sites, first site of each path); distorted
    paths dashed and labelled by their distortion, the others by their isotropic strain."""
    metals = u[u[K.SPECIES] != "O"]
    materials = sorted(metals[K.MATERIAL].unique())
    fig, axes = plt.subplots(
        1, max(len(materials), 1), figsize=(3 * max(len(materials), 1), 3), sharey=False, squeeze=False
    )
    for ax, material in zip(axes[0], materials):
        group = metals[metals[K.MATERIAL] == material]
        for _, steps in group.groupby(K.PATH_ID):
            first = steps[steps[K.ATOM_INDEX] == steps[K.ATOM_INDEX].min()].sort_values(K.ITERATION)
            distortion = first[K.DISTORTION].iloc[0] if K.DISTORTION in first else None
            label = distortion or f"{first[K.STRAIN].iloc[0] * 100:+.0f} %"
            ax.plot(
                first[K.ITERATION], first[K.U_OUT], marker="o", ms=3, lw=1, ls="--" if distortion else "-", label=label
            )
        ax.set_title(material, fontsize=9)
        ax.set_xlabel("iteration")
        ax.set_xlim(-0.5, max(1, int(metals[K.ITERATION].max())) + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=6)
    axes[0][0].set_ylabel("U_out (eV)")
    return save_figure(fig, path)


def write_report(
    folder: Path, records: list[dict], failures: list[dict], u: pd.DataFrame, v: pd.DataFrame, summary: dict[str, Any]
) -> Path:
    """Write ``data_report.md`` and the plots into ``folder``; return the markdown path."""
    folder = Path(folder)
    metals = u[u[K.SPECIES] != "O"]
    histogram_comparison(
        folder / "u_by_species.png", {s: g[K.U_OUT].to_numpy() for s, g in u.groupby(K.SPECIES)}, "U_out (eV)", bins=30
    )
    if not v.empty:
        histogram_comparison(
            folder / "v_by_pair.png",
            {f"{a}-{b}": g[K.V_OUT].to_numpy() for (a, b), g in v.groupby([K.SPECIES_I, K.SPECIES_J])},
            "V_out (eV)",
            bins=30,
        )
    convergence_plot(folder / "convergence_paths.png", u)
    per_iteration = metals.groupby(K.ITERATION).size().rename("metal U points").reset_index()
    lines = [
        "# Hubbard data set (DFPT, Quantum ESPRESSO hp.x)",
        "",
        "Summary: " + ", ".join(f"{k} = {v}" for k, v in summary.items()),
        "",
        "## Points per material",
        "",
        markdown_table(counts_table(u, v)),
        "",
        "## DFPT settings per material",
        "",
        "The targets are hp.x's values at these settings (each record's `settings`); a material with two rows",
        "mixes settings.",
        "",
        markdown_table(settings_table(records)),
        "",
        "## Metal U points per iteration",
        "",
        markdown_table(per_iteration),
        "",
        "## U_out (eV) per species",
        "",
        markdown_table(u.groupby(K.SPECIES)[K.U_OUT].describe().round(3).reset_index()),
        "",
    ]
    if not v.empty:
        lines += [
            "## V_out (eV) per pair",
            "",
            markdown_table(v.groupby([K.SPECIES_I, K.SPECIES_J])[K.V_OUT].describe().round(3).reset_index()),
            "",
        ]
    lines += ["## Failed calculations (not in the data set)", ""]
    lines += [f"- {f[K.RECORD_ID]}: {f.get(K.REASON, '')}" for f in failures] or ["- none"]
    lines += ["", "Plots: u_by_species.png, v_by_pair.png, convergence_paths.png", ""]
    return atomic_write_text(folder / "data_report.md", "\n".join(lines))
