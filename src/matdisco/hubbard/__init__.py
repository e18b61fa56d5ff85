"""Hubbard U and V from DFPT (Quantum ESPRESSO hp.x): the campaign that computes the data set, the
tables the models learn from, the U and V models and their use for the next pw.x input.

Step functions (each ``(cfg) -> dict``): ``simulate`` (spot-check stored records, or run/resume the
campaign), ``extract`` (records -> model-ready tables, splits and the data report), ``train``,
``evaluate`` (every model variant of ``data.evaluate.variants``), ``generate`` (settings ``data.generate``) and
``bench`` (``make bench``). Imported eagerly: a step module is named like its function, and a
submodule imported after the package would replace the function's name with the module.
"""

from matdisco.hubbard.bench import bench
from matdisco.hubbard.evaluate import evaluate
from matdisco.hubbard.extract import extract
from matdisco.hubbard.generate import generate
from matdisco.hubbard.simulate import simulate
from matdisco.hubbard.train import train

__all__ = ["bench", "evaluate", "extract", "generate", "simulate", "train"]
