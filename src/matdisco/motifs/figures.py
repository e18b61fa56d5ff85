"""Figures of the motifs family (written atomically through ``core.plots.save_figure``)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from matdisco.core.plots import save_figure


def structure_figure(
    path: str | Path,
    rdfs: dict[str, tuple[np.ndarray, np.ndarray]],
    angles: dict[str, np.ndarray],
    coordinations: dict[str, np.ndarray],
    reference_peak_angstrom: float,
) -> Path:
    """RDF g(r), bond-angle histogram and coordination fractions of every cell, one colour per cell.

    rdfs: name -> (r (B,) Angstrom, g (B,)); angles: name -> degrees (m,); coordinations: name -> (N,) ints.
    """
    fig, (ax_rdf, ax_angle, ax_cn) = plt.subplots(1, 3, figsize=(14, 4))
    for name, (r, g) in rdfs.items():
        ax_rdf.plot(r, g, lw=1, label=name)
    ax_rdf.axvline(reference_peak_angstrom, color="black", ls="--", lw=0.8, label="expt. first peak")
    ax_rdf.set(xlabel="r (Angstrom)", ylabel="g(r)", title="radial distribution")
    for name, values in angles.items():
        ax_angle.hist(values, bins=np.linspace(40, 180, 71), density=True, histtype="step", label=name)
    ax_angle.set(xlabel="bond angle (degrees)", ylabel="density", title="bond angles")
    folds = np.arange(2, 7)
    width = 0.8 / max(1, len(coordinations))
    for k, (name, cn) in enumerate(coordinations.items()):
        ax_cn.bar(folds + k * width, [np.mean(cn == f) for f in folds], width=width, label=name)
    ax_cn.set(xlabel="coordination", ylabel="fraction of atoms", yscale="log", title="coordination")
    ax_rdf.legend(fontsize=7)
    return save_figure(fig, path)


def latent_figure(path: str | Path, latent_2d: np.ndarray, colour: np.ndarray, colour_label: str) -> Path:
    """Scatter of environments in the first two principal components of the latent means (N, 2)."""
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    points = ax.scatter(latent_2d[:, 0], latent_2d[:, 1], c=colour, s=4, cmap="viridis", alpha=0.7)
    fig.colorbar(points, ax=ax, label=colour_label)
    ax.set(xlabel="latent PC 1", ylabel="latent PC 2", title="held-out environments in latent space")
    return save_figure(fig, path)


def strip_figure(path: str | Path, frames: np.ndarray, bond_cutoff_angstrom: float, title: str) -> Path:
    """One panel per frame (F, n, 3): x-y projection of the centre (black) and neighbours, bonds drawn."""
    n_frames = len(frames)
    fig, axes = plt.subplots(1, n_frames, figsize=(1.8 * n_frames, 2.2), squeeze=False)
    limit = float(np.abs(frames[..., :2]).max()) * 1.1
    colours = plt.cm.tab10(np.arange(frames.shape[1]) % 10)
    for k, (ax, coords) in enumerate(zip(axes[0], frames)):
        for x, y in coords[np.linalg.norm(coords, axis=1) < bond_cutoff_angstrom][:, :2]:
            ax.plot([0, x], [0, y], color="grey", lw=1)
        ax.scatter(coords[:, 0], coords[:, 1], c=colours, s=np.clip(25 + 5 * coords[:, 2], 5, None))  # larger = nearer
        ax.scatter([0], [0], color="black", s=30)
        ax.set(
            xlim=(-limit, limit),
            ylim=(-limit, limit),
            xticks=[],
            yticks=[],
            aspect="equal",
            title=f"{k / max(1, n_frames - 1):.2f}",
        )
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)
