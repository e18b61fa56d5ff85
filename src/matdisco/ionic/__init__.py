"""Ionic-liquid conductivity from ILThermo: curation, atom typing, additive and graph models, screening.

Steps: :func:`extract`, :func:`train`, :func:`evaluate`, :func:`generate` (screening of new
anion x cation pairs); :func:`fetch_raw` refills data/raw/ionic; :func:`bench` for ``make bench``.
"""

from matdisco.ionic.evaluation import evaluate
from matdisco.ionic.extraction import extract
from matdisco.ionic.screening import generate
from matdisco.ionic.sources import fetch_raw
from matdisco.ionic.training import train
from matdisco.ionic.benchmark import bench

__all__ = ["bench", "evaluate", "extract", "fetch_raw", "generate", "train"]
