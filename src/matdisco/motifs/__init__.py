"""Amorphous-silicon motifs: melt-quench MD, environments as Gram matrices, and a generative VAE.

Steps (each ``(cfg) -> dict``, one module each), run as
``python pipelines/<step>.py simulate=md_dataset data=motifs model=motifs_vae``:

- ``simulate``: the committed slow-quench cells plus their LAMMPS spot-check (``md_dataset``; the cells
  themselves come from ``md_slow``), fresh LAMMPS melt-quenches (``md_full``; ``md_quick`` for tests),
  or your own periodic Si cells with ``simulate.source=extxyz simulate.input_glob='path/*.extxyz'``
  (e.g. Deringer's GAP-MD a-Si); writes the cells and a structure report against experiment.
- ``extract``: environments (closest n within r_cut, periodic), Gram entries, split by cell,
  optional permutation augmentation (``conf/data/motifs.yaml``).
- ``train``: the VAE (``conf/model/motifs_vae.yaml``), normalisation statistics stored with it.
- ``evaluate``: reconstruction (Gram MSE, RMSD under O(3) and under rotations only), sample
  distributions against held-out MD (Wasserstein-1), validity, latent plot.
- ``generate``: samples, latent interpolation, inpainting for k known atoms against no-model
  baselines, and vacancy refilling in a held-out cell with the MD potential's energy change.

``bench`` times MD per environment against decoding, and training (``make bench``).
Which RMSD where: O(3) alignment wherever coordinates come from a Gram matrix (it cannot tell
mirror images apart); the rotation-only (Kabsch) value is reported beside it for reconstruction.
"""

from matdisco.motifs.bench import bench
from matdisco.motifs.evaluate import evaluate
from matdisco.motifs.extract import extract
from matdisco.motifs.generate import generate
from matdisco.motifs.simulate import simulate
from matdisco.motifs.train import train

__all__ = ["simulate", "extract", "train", "evaluate", "generate", "bench"]
