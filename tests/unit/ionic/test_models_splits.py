"""Grouped splits never share an IL; the additive model sums per-atom-type terms as by hand."""

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from matdisco.ionic.atom_types import type_vocabulary
from matdisco.ionic.data import disjoint_union
from matdisco.ionic.graphs import EDGE_DIM, NODE_DIM, ion_graph, with_type_id
from matdisco.ionic.models import AdditiveConductivity, GraphConductivity
from matdisco.ionic.params_table import to_inverse_temperature_form
from matdisco.ionic.splits import assert_disjoint, grouped_splits, named_splits


def test_grouped_splits_are_disjoint_cover_and_are_seeded():
    ils = [f"IL{i:03d}" for i in range(60)] * 3  # repeated ids: points of the same IL
    splits = grouped_splits(ils, n_test=10, val_fraction=0.1, n_folds=5, seed=3)
    for name, split in named_splits(splits):
        assert_disjoint(split, name)
        assert sorted(split["train"] + split["val"] + split["test"]) == sorted(set(ils))
    held_out = [il for fold in splits["folds"] for il in fold["test"]]
    assert sorted(held_out) == sorted(set(ils))
    assert len(splits["default"]["test"]) == 10
    assert grouped_splits(ils, 10, 0.1, 5, seed=3) == splits
    assert grouped_splits(ils, 10, 0.1, 5, seed=4) != splits


def test_assert_disjoint_catches_leakage():
    with pytest.raises(ValueError, match="both train and test"):
        assert_disjoint({"train": ["a", "b"], "val": [], "test": ["b"]}, "bad")


def test_additive_sum_equals_hand_computation():
    cation = ion_graph("C[NH3+]", "element", "methylammonium")  # C, N, 6 H
    anion = ion_graph("[O-][N+](=O)[O-]", "element", "nitrate")  # N, 3 O
    salt = disjoint_union([cation, anion])
    vocabulary = type_vocabulary([salt.atom_types])  # C=0, H=1, N=2, O=3
    model = AdditiveConductivity(n_types=len(vocabulary), temperature_reference_K=300.0)
    terms = torch.tensor([[0.1, 0.2, 0.3], [-0.05, 0.01, 0.0], [0.4, -0.3, 0.2], [-0.2, 0.1, -0.1]])
    with torch.no_grad():
        model.type_terms.copy_(terms)
    counts = {"C": 1, "H": 6, "N": 2, "O": 3}
    temperature = 350.0
    tau = 300.0 / temperature - 1.0
    expected = sum(
        n * (terms[vocabulary[t], 0] + terms[vocabulary[t], 1] * tau + terms[vocabulary[t], 2] * tau**2)
        for t, n in counts.items()
    )
    batch = Batch.from_data_list([with_type_id(salt, vocabulary)], exclude_keys=["atom_types"])
    pred = model(batch, torch.tensor([0]), torch.tensor([temperature]))
    assert pred.item() == pytest.approx(float(expected), abs=1e-6)  # float32 sums


def test_unseen_type_is_refused_by_the_additive_model():
    graph = with_type_id(ion_graph("C[NH3+]", "element", "x"), {"C": 0, "H": 1})
    model = AdditiveConductivity(n_types=2)
    with pytest.raises(ValueError, match="unseen"):
        model(Batch.from_data_list([graph], exclude_keys=["atom_types"]), torch.tensor([0]), torch.tensor([300.0]))


def test_tau_form_converts_exactly_to_inverse_temperature_form():
    rng = np.random.default_rng(0)
    abc_tau = rng.normal(size=(4, 3))
    abc = to_inverse_temperature_form(abc_tau, 298.15)
    for temperature in (250.0, 298.15, 400.0):
        tau = 298.15 / temperature - 1.0
        lhs = abc_tau[:, 0] + abc_tau[:, 1] * tau + abc_tau[:, 2] * tau**2
        rhs = abc[:, 0] + abc[:, 1] / temperature + abc[:, 2] / temperature**2
        np.testing.assert_allclose(lhs, rhs, rtol=1e-10)


def test_il_weighting_gives_every_il_the_same_total_weight():
    model = AdditiveConductivity(n_types=1, weighting="il")
    point_graph = torch.tensor([0, 0, 0, 0, 1, 2, 2])
    weights = model.point_weights(point_graph)
    assert weights.sum().item() == pytest.approx(1.0)
    per_il = torch.zeros(3).index_add_(0, point_graph, weights)
    assert torch.allclose(per_il, torch.full((3,), 1 / 3))
    flat = AdditiveConductivity(n_types=1, weighting="point").point_weights(point_graph)
    assert torch.allclose(flat, torch.full((7,), 1 / 7))


def test_terms_l2_adds_the_mean_squared_atom_terms_to_the_training_loss():
    salt = disjoint_union(
        [ion_graph("CC[n+]1ccn(C)c1", "element", "EMIM"), ion_graph("F[B-](F)(F)F", "element", "BF4")]
    )
    batch = Batch.from_data_list([salt], exclude_keys=["atom_types"])
    step = (batch, torch.tensor([0, 0]), torch.tensor([280.0, 320.0]), torch.tensor([-0.5, 0.4]))
    losses = []
    for terms_l2 in (0.0, 0.5):
        torch.manual_seed(0)
        model = GraphConductivity(node_dim=NODE_DIM, edge_dim=EDGE_DIM, hidden=8, n_layers=1, l2=0.0, terms_l2=terms_l2)
        torch.nn.init.normal_(model.head[-1].weight)  # non-zero atom terms
        losses.append(model.training_step(step, 0))
    atom_terms = model.atom_terms(batch)
    assert (atom_terms**2).mean().item() > 0.01
    assert (losses[1] - losses[0]).item() == pytest.approx(0.5 * (atom_terms**2).mean().item(), rel=1e-5)


def test_a_split_override_that_train_cannot_apply_is_refused(make_cfg, tiny_ionic):
    # issue 28 case 2: data.split.n_test=100000 on train trained on extract's split as if nothing was said
    from matdisco.core.errors import ConfigError
    from matdisco.ionic import extract
    from matdisco.ionic.data import load_splits

    data = ("data.source=csv", f"data.csv_path={tiny_ionic.user_csv}", *tiny_ionic.run_overrides)
    extract(make_cfg(*data))
    assert load_splits(make_cfg(*data))["default"]["test"]  # the settings extract ran with
    for override, message in (
        ("data.split.n_test=100000", r"data\.split\.n_test=100000 asks for 100000 test ILs, the split holds 2"),
        ("data.split.n_folds=3", r"data\.split\.n_folds=3 asks for 3 folds, the split holds 2"),
        ("data.split.val_fraction=0.5", r"data\.split\.val_fraction=0\.5 asks for \d+ validation ILs"),
    ):
        with pytest.raises(ConfigError, match=message + r".*splits\.json.*pipelines/extract\.py"):
            load_splits(make_cfg(*data, override))
