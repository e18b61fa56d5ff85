"""Hubbard U and V from DFPT (Quantum ESPRESSO hp.x): the campaign that computes the data set,
and the tables the models learn from.

Step functions: ``simulate(cfg)`` (spot-check stored records, or run/resume the campaign) and
``extract(cfg)`` (records -> model-ready tables, splits and the data report).
"""

from matdisco.hubbard.extract import extract
from matdisco.hubbard.simulate import simulate

__all__ = ["extract", "simulate"]
