"""Plots that people would rather look at than read; written atomically as PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from matdisco.core.io import atomic_path  # noqa: E402


def save_figure(fig: plt.Figure, path: str | Path, dpi: int = 130) -> Path:
    """Save ``fig`` to ``path`` atomically and close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def parity_plot(
    path: str | Path,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    quantity: str,
    groups: Sequence[str] | None = None,
    title: str | None = None,
) -> Path:
    """Predicted against true values, one colour per group (e.g. model or species), with y = x."""
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    fig, ax = plt.subplots(figsize=(5, 5))
    labels = np.asarray(groups) if groups is not None else np.full(len(y_true), "")
    for label in dict.fromkeys(labels):
        mask = labels == label
        ax.scatter(y_true[mask], y_pred[mask], s=8, alpha=0.6, label=str(label) or None)
    low = float(min(y_true.min(), y_pred.min()))
    high = float(max(y_true.max(), y_pred.max()))
    ax.plot([low, high], [low, high], color="black", lw=1)
    ax.set_xlabel(f"true {quantity}")
    ax.set_ylabel(f"predicted {quantity}")
    if groups is not None:
        ax.legend(fontsize=8, markerscale=2)
    if title:
        ax.set_title(title)
    return save_figure(fig, path)


def histogram_comparison(
    path: str | Path, samples: dict[str, np.ndarray], quantity: str, bins: int = 60, title: str | None = None
) -> Path:
    """Overlaid normalised histograms of several samples of one quantity."""
    fig, ax = plt.subplots(figsize=(6, 4))
    finite = [np.asarray(v, dtype=float)[np.isfinite(v)] for v in samples.values()]
    edges = np.histogram_bin_edges(np.concatenate(finite), bins=bins)
    for (label, _), values in zip(samples.items(), finite):
        ax.hist(values, bins=edges, density=True, histtype="step", lw=1.5, label=label)
    ax.set_xlabel(quantity)
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return save_figure(fig, path)
