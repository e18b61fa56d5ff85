"""Plots of the Hubbard model evaluation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from matdisco.core.plots import save_figure
from matdisco.hubbard.features import TARGET
from matdisco.hubbard.scoring import GROUP, PRED, PRED_STD


def parity_by_species(path: Path, rows: pd.DataFrame, label: str, title: str) -> Path:
    """One parity panel per species group, predicted against DFPT (eV)."""
    import matplotlib.pyplot as plt

    groups = sorted(rows[GROUP].unique())
    fig, axes = plt.subplots(1, len(groups), figsize=(4 * len(groups), 4), squeeze=False)
    for ax, group in zip(axes[0], groups):
        part = rows[rows[GROUP] == group]
        ax.errorbar(part[TARGET], part[PRED], yerr=part[PRED_STD], fmt="o", ms=4, alpha=0.7, lw=0.8)
        low = float(min(part[TARGET].min(), part[PRED].min())) - 0.05
        high = float(max(part[TARGET].max(), part[PRED].max())) + 0.05
        ax.plot([low, high], [low, high], color="black", lw=1)
        ax.set_xlabel(f"DFPT {label} (eV)")
        ax.set_ylabel(f"predicted {label} (eV)")
        ax.set_title(f"{group} (n={len(part)})")
    fig.suptitle(title)
    return save_figure(fig, path)


def convergence_plot(path: Path, rows: list[dict]) -> Path:
    """U of the metal, U of O and V (eV, mean over the cell's sites/pairs) against ecutwfc (Ry) for
    every material of the cutoff scan (rows of :func:`matdisco.hubbard.convergence.scan_table`)."""
    import matplotlib.pyplot as plt

    quantities = (("u_metal_eV", "U metal (eV)"), ("u_oxygen_eV", "U O (eV)"), ("v_eV", "V (eV)"))
    fig, axes = plt.subplots(1, len(quantities), figsize=(4.5 * len(quantities), 4), squeeze=False)
    cutoff_rows = [r for r in rows if r["scan"] == "cutoff" and r["status"] == "ok"]
    for ax, (key, label) in zip(axes[0], quantities):
        for material in dict.fromkeys(r["material"] for r in cutoff_rows):
            series = [r for r in cutoff_rows if r["material"] == material and r.get(key)]
            ax.plot([r["ecutwfc_Ry"] for r in series], [sum(r[key]) / 2 for r in series], "o-", ms=4, label=material)
        ax.set_xlabel("ecutwfc (Ry), ecutrho = 8 ecutwfc")
        ax.set_ylabel(label)
    axes[0][0].legend(fontsize=8)
    fig.suptitle("DFPT cutoff scan, iteration 0 of each ideal cell")
    return save_figure(fig, path)
