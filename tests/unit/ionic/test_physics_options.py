"""Physics and training options of the ionic models, on tiny hand-made salts."""

import torch
from torch_geometric.data import Batch

from matdisco.ionic.atom_types import type_vocabulary
from matdisco.ionic.data import disjoint_union
from matdisco.ionic.graphs import ion_graph, with_type_id
from matdisco.ionic.models import AdditiveConductivity


def _salts():
    """Three element-typed salts with different C/H/N/O counts, and their vocabulary (C, H, N, O)."""
    nitrate = ion_graph("[O-][N+](=O)[O-]", "element", "nitrate")
    cations = [ion_graph(s, "element", s) for s in ("C[NH3+]", "CC[NH3+]", "CCC[NH3+]", "C[NH2+]C")]
    salts = [disjoint_union([cation, nitrate]) for cation in cations]
    return salts, type_vocabulary([salt.atom_types for salt in salts])


def test_closed_form_init_recovers_known_additive_terms():
    salts, vocabulary = _salts()
    true_terms = torch.tensor([[0.3, -1.0, 0.5], [-0.1, 0.2, 0.1], [0.8, -0.5, 0.0], [-0.4, 0.3, -0.2]])
    temperature_K = torch.tensor([260.0, 298.15, 340.0, 400.0])
    model = AdditiveConductivity(n_types=len(vocabulary), temperature_reference_K=298.15, init_ridge_alpha=1e-9)
    items = []
    for salt in salts:
        graph = with_type_id(salt, vocabulary)
        abc = true_terms[graph.type_id].sum(dim=0)
        tau = model.tau(temperature_K)
        items.append((graph, temperature_K, abc[0] + abc[1] * tau + abc[2] * tau**2))
    model.initialise_closed_form(items)
    for graph, t, ln_sigma in items:  # the fit reproduces every point (terms are not unique: C, N, H collinear)
        pred = model(_batch(graph), torch.zeros(len(t), dtype=torch.long), t)
        assert torch.allclose(pred, ln_sigma, atol=1e-4)


def test_closed_form_init_is_off_by_default():
    salts, vocabulary = _salts()
    model = AdditiveConductivity(n_types=len(vocabulary))
    model.initialise_closed_form([(with_type_id(salts[0], vocabulary), torch.tensor([300.0]), torch.tensor([1.0]))])
    assert torch.equal(model.type_terms, torch.zeros(len(vocabulary), 3))


def _batch(graph):
    """A one-graph PyG batch."""
    return Batch.from_data_list([graph], exclude_keys=["atom_types"])
