"""The ionic modules log each epoch's loss and RMSE once, as the batch values averaged with the
points per batch as weights (what Lightning's on_epoch mean with batch_size gave before)."""

import pytest
import torch

from matdisco.ionic.data import collate, disjoint_union
from matdisco.ionic.graphs import ion_graph, with_type_id
from matdisco.ionic.models import AdditiveConductivity


def test_epoch_metrics_are_point_weighted_means_of_the_batches(monkeypatch):
    salt = disjoint_union([ion_graph("CC[n+]1ccn(C)c1", "element", "c"), ion_graph("F[B-](F)(F)F", "element", "a")])
    vocabulary = {t: i for i, t in enumerate(sorted(set(salt.atom_types)))}
    graph = with_type_id(salt, vocabulary)
    module = AdditiveConductivity(n_types=len(vocabulary), loss="mse")
    batches = [
        collate([(graph, torch.tensor([300.0]), torch.tensor([1.0]))]),
        collate([(graph, torch.tensor([300.0, 320.0, 340.0]), torch.tensor([2.0, 3.0, 4.0]))]),
    ]
    logged = {}
    monkeypatch.setattr(module, "log", lambda name, value, **kwargs: logged.__setitem__(name, value))
    losses = [float(module._step(batch, "val")[0]) for batch in batches]  # terms are zero: pred = 0
    assert logged == {}  # nothing per step
    module.on_validation_epoch_end()
    assert logged["val/loss"] == pytest.approx((1 * losses[0] + 3 * losses[1]) / 4) == pytest.approx((1.0 + 29.0) / 4)
    assert logged["val/rmse"] == pytest.approx((1 * 1.0 + 3 * (29 / 3) ** 0.5) / 4)
    logged.clear()
    module.on_validation_epoch_end()
    assert logged == {}  # sums reset: an epoch without batches logs nothing
