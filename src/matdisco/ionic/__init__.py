"""Ionic-liquid conductivity from ILThermo: curation, atom typing, additive and graph models, screening.

Steps: :func:`extract`, :func:`train`, :func:`evaluate`, :func:`generate` (screening of new
anion x cation pairs); :func:`fetch_raw` refills data/raw/ionic; :func:`bench` for ``make bench``.
"""

from matdisco.ionic.bench import bench
from matdisco.ionic.evaluate import evaluate
from matdisco.ionic.extract import extract
from matdisco.ionic.generate import generate
from matdisco.ionic.sources import fetch_raw
from matdisco.ionic.train import train

__all__ = ["bench", "evaluate", "extract", "fetch_raw", "generate", "train"]
