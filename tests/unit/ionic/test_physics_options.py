"""Physics and training options of the ionic models, on tiny hand-made salts."""

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from matdisco.core.errors import InputError
from matdisco.ionic.atom_types import type_vocabulary
from matdisco.ionic.data import disjoint_union
from matdisco.ionic.graphs import ion_graph, with_type_id
from matdisco.ionic.models import AdditiveConductivity
from matdisco.ionic.molar_volume import (
    element_counts,
    fit_element_volumes,
    ln_concentration_mol_per_L,
    molar_volume_cm3_per_mol,
)


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


def test_molar_volume_fit_recovers_known_element_volumes():
    salts = [
        "C[NH3+].[O-][N+](=O)[O-]",
        "CC[NH3+].[O-][N+](=O)[O-]",
        "CCC[NH3+].[Cl-]",
        "C[NH2+]C.[Cl-]",
        "CC[NH3+].[Cl-]",
    ]
    known = {"C": 10.0, "H": 4.0, "N": 8.0, "O": 6.0, "Cl": 25.0}
    measured = np.array([sum(n * known[e] for e, n in element_counts(s).items()) for s in salts])
    volumes = fit_element_volumes(salts, measured, alpha=1e-9)
    for salt, v_cm3 in zip(salts, measured):  # C, H, N, O, Cl counts are collinear here: check sums
        assert molar_volume_cm3_per_mol(salt, volumes) == pytest.approx(v_cm3, rel=1e-6)
    assert ln_concentration_mol_per_L(salts[0], volumes) == pytest.approx(np.log(1000.0 / measured[0]))
    with pytest.raises(InputError, match="Br"):
        molar_volume_cm3_per_mol("C[NH3+].[Br-]", volumes)


def test_molar_volume_option_adds_ln_c_exactly():
    salts, vocabulary = _salts()
    graphs = [with_type_id(salt, vocabulary) for salt in salts[:2]]
    for graph, ln_c in zip(graphs, (1.25, -0.5)):
        graph.ln_conc = torch.tensor([ln_c])
    torch.manual_seed(0)
    terms = torch.randn(len(vocabulary), 3)
    plain, with_c = (AdditiveConductivity(n_types=len(vocabulary), molar_volume=flag) for flag in (False, True))
    for model in (plain, with_c):
        model.type_terms.data.copy_(terms)
    batch = Batch.from_data_list(graphs, exclude_keys=["atom_types"])
    point_graph, temperature_K = torch.tensor([0, 0, 1]), torch.tensor([280.0, 320.0, 300.0])
    difference = with_c(batch, point_graph, temperature_K) - plain(batch, point_graph, temperature_K)
    assert torch.allclose(difference, torch.tensor([1.25, 1.25, -0.5]), atol=1e-6)
    with pytest.raises(ValueError, match="ln_conc"):
        with_c(
            Batch.from_data_list([with_type_id(salts[0], vocabulary)], exclude_keys=["atom_types"]),
            point_graph[:1],
            temperature_K[:1],
        )
