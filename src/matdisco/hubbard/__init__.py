"""Hubbard U and V from DFPT (Quantum ESPRESSO hp.x): the campaign that computes the data set,
and the tables the models learn from.

Step functions: ``simulate(cfg)`` (spot-check stored records, or run/resume the campaign) and
``extract(cfg)`` (records -> model-ready tables, splits and the data report).
"""

from matdisco.hubbard.extract import extract
from matdisco.hubbard.simulate import simulate

__all__ = ["extract", "simulate"]


# --- ML steps (U and V models). Imported lazily: the campaign and extract stay free of torch/e3nn.
def train(cfg):
    """``hubbard_train``: see :func:`matdisco.hubbard.training.train`."""
    from matdisco.hubbard.training import train as _train

    return _train(cfg)


def evaluate(cfg):
    """``hubbard_evaluate``: see :func:`matdisco.hubbard.evaluation.evaluate`."""
    from matdisco.hubbard.evaluation import evaluate as _evaluate

    return _evaluate(cfg)


def generate(cfg):
    """``hubbard_generate``: see :func:`matdisco.hubbard.prediction.generate`."""
    from matdisco.hubbard.prediction import generate as _generate

    return _generate(cfg)


def bench(cfg):
    """``make bench`` entry: see :func:`matdisco.hubbard.benchmark.bench`."""
    from matdisco.hubbard.benchmark import bench as _bench

    return _bench(cfg)


__all__ += ["train", "evaluate", "generate", "bench"]
