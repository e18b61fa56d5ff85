"""Amorphous-silicon motifs: melt-quench MD, environments as Gram matrices, and a generative VAE.

Steps (each ``(cfg) -> dict``): ``simulate`` (LAMMPS melt-quench, structure report), ``extract``
(environments, Gram entries, augmentation, split by cell), ``train`` (the VAE), ``evaluate``
(reconstruction, sample distributions, validity), ``generate`` (samples, interpolation,
inpainting, vacancy refilling); ``bench`` for ``make bench``.
"""

from matdisco.motifs.steps import bench, evaluate, extract, generate, simulate, train

__all__ = ["simulate", "extract", "train", "evaluate", "generate", "bench"]
