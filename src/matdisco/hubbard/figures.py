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
