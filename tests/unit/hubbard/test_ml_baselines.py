"""Each Hubbard baseline on a tiny hand-made table whose right answer is known."""

import numpy as np
import pandas as pd
import pytest

from matdisco.hubbard import keys as K
from matdisco.hubbard.baselines import (
    LINEAR,
    LINEAR_APPLIED,
    LINEAR_POOLED,
    MATERIAL_SPECIES_MEAN,
    NEAREST,
    NEAREST_POOLED,
    PERSISTENCE,
    SPECIES_MEAN,
    baseline_predictions,
    distinct_rows,
    linear_prior,
    prior_groups,
)
from matdisco.hubbard.data import TABLES
from matdisco.hubbard.features import TARGET


def _u_rows(entries):
    """entries: (material, species, strain, iteration, u_in, target, occupation scale)."""
    rows = []
    for k, (material, species, strain, iteration, u_in, target, scale) in enumerate(entries):
        occ = (scale * np.eye(5)).ravel().tolist()
        rows.append(
            {
                K.RECORD_ID: f"{material}/{strain}/iter_{iteration}",
                K.PATH_ID: f"{material}/{strain}",
                K.MATERIAL: material,
                K.SPECIES: species,
                K.LABEL: species,
                K.STRAIN: strain,
                K.ITERATION: iteration,
                K.ATOM_INDEX: k + 1,
                K.N_ORBITALS: 5,
                K.OCC_UP: occ,
                K.OCC_DOWN: occ,
                K.U_IN: u_in,
                TARGET: target,
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture
def u_train():
    # Co in A: target = 1 + 0.5 U_in exactly; Co in B: constant 6; O in A: 8 and 10.
    return _u_rows(
        [
            ("A", "Co", 0.00, 1, 4.0, 3.0, 0.5),
            ("A", "Co", 0.01, 1, 6.0, 4.0, 0.6),
            ("A", "Co", 0.02, 1, 8.0, 5.0, 0.7),
            ("A", "Co", 0.03, 1, 10.0, 6.0, 0.8),
            ("B", "Co", 0.00, 1, 6.0, 6.0, 0.5),
            ("A", "O", 0.00, 1, 8.0, 8.0, 0.9),
            ("A", "O", 0.01, 1, 8.0, 10.0, 0.95),
        ]
    )


def test_u_baselines_match_hand_computed_values(u_train):
    test = _u_rows(
        [("A", "Co", 0.04, 1, 12.0, 7.0, 0.71), ("B", "Co", 0.01, 0, 5.0, 6.5, 0.5), ("A", "O", 0.02, 2, 9.0, 9.0, 0.9)]
    )
    pred = baseline_predictions(u_train, test, TABLES["u"])
    co_mean = (3 + 4 + 5 + 6 + 6) / 5
    np.testing.assert_allclose(pred[SPECIES_MEAN], [co_mean, co_mean, 9.0])
    np.testing.assert_allclose(pred[MATERIAL_SPECIES_MEAN], [4.5, 6.0, 9.0])
    # Co/A: exact line 1 + 0.5 * 12 = 7; Co/B and O/A have too few rows: (material, species) mean.
    np.testing.assert_allclose(pred[LINEAR], [7.0, 6.0, 9.0])
    # nearest by strain and occupation eigenvalues (same material, species, label): occ 0.71 is closest to 0.7 (target 5).
    np.testing.assert_allclose(pred[NEAREST], [5.0, 6.0, 8.0])
    # persistence: U_in where iteration >= 1, undefined at iteration 0.
    assert (
        pred[PERSISTENCE].iloc[0] == 12.0 and np.isnan(pred[PERSISTENCE].iloc[1]) and pred[PERSISTENCE].iloc[2] == 9.0
    )


def test_persistence_skips_parameters_not_applied(u_train):
    test = _u_rows([("A", "O", 0.0, 1, 0.0, 8.6, 0.9), ("A", "Co", 0.0, 2, 8.0, 8.1, 0.5)])
    pred = baseline_predictions(u_train, test, TABLES["u"])
    assert np.isnan(pred[PERSISTENCE].iloc[0]) and pred[PERSISTENCE].iloc[1] == 8.0


def test_baselines_fall_back_for_unseen_material_and_species(u_train):
    test = _u_rows([("C", "Co", 0.0, 1, 5.0, 5.0, 0.5), ("C", "Ni", 0.0, 1, 5.0, 5.0, 0.5)])
    pred = baseline_predictions(u_train, test, TABLES["u"])
    co_mean, overall = (3 + 4 + 5 + 6 + 6) / 5, u_train[TARGET].mean()
    for name in (SPECIES_MEAN, MATERIAL_SPECIES_MEAN, LINEAR, NEAREST):
        np.testing.assert_allclose(pred[name], [co_mean, overall], err_msg=name)


@pytest.fixture
def two_materials():
    # Co over A and B: target = 2 + 0.5 U_in exactly; O in A: 8 and 10 (too few rows for a line).
    return _u_rows(
        [
            ("A", "Co", 0.00, 1, 2.0, 3.0, 0.50),
            ("A", "Co", 0.01, 1, 4.0, 4.0, 0.60),
            ("B", "Co", 0.00, 1, 6.0, 5.0, 0.70),
            ("B", "Co", 0.01, 1, 8.0, 6.0, 0.80),
            ("A", "O", 0.00, 1, 8.0, 8.0, 0.90),
            ("A", "O", 0.01, 1, 8.0, 10.0, 0.95),
        ]
    )


def test_pooled_baselines_use_the_inputs_for_an_unseen_material(two_materials):
    """Leave-one-material-out: the held-out material C has no rows, so the per-material line and nearest
    neighbour fall back to the species mean; the pooled ones fit Co over A and B and find the nearest
    Co row of any material."""
    test = _u_rows([("C", "Co", 0.00, 1, 10.0, 7.0, 0.79), ("C", "O", 0.00, 1, 8.0, 8.5, 0.9)])
    pred = baseline_predictions(two_materials, test, TABLES["u"])
    np.testing.assert_allclose(pred[LINEAR], [4.5, 9.0])  # no C rows: species mean
    np.testing.assert_allclose(pred[LINEAR_POOLED], [2.0 + 0.5 * 10.0, 9.0])  # Co: 2 + 0.5 U_in over A and B
    np.testing.assert_allclose(pred[NEAREST], [4.5, 9.0])
    np.testing.assert_allclose(pred[NEAREST_POOLED], [6.0, 8.0])  # occupation 0.79 is nearest B's 0.8


def test_applied_line_holds_iteration_zero_and_the_loop_where_one_line_cannot():
    """Co over A and B: iteration 0 (U_in = 0) gives 8 and 10; later iterations give U_out = U_in exactly.
    One line in U_in cannot hold both (least squares over all six rows); the line with the applied term can:
    it predicts 9 at U_in = 0 and U_in itself once applied, for a material it never saw."""
    train = _u_rows(
        [
            ("A", "Co", 0.0, 0, 0.0, 8.0, 0.50),
            ("A", "Co", 0.0, 1, 8.0, 8.0, 0.55),
            ("A", "Co", 0.0, 2, 7.5, 7.5, 0.60),
            ("B", "Co", 0.0, 0, 0.0, 10.0, 0.70),
            ("B", "Co", 0.0, 1, 10.0, 10.0, 0.75),
            ("B", "Co", 0.0, 2, 9.5, 9.5, 0.80),
        ]
    )
    test = _u_rows([("C", "Co", 0.0, 0, 0.0, 7.0, 0.5), ("C", "Co", 0.0, 1, 7.0, 7.1, 0.5)])
    pred = baseline_predictions(train, test, TABLES["u"])
    np.testing.assert_allclose(pred[LINEAR_APPLIED], [9.0, 7.0], atol=1e-9)
    design = np.column_stack([np.ones(6), train[K.U_IN]])
    slope_line = np.linalg.lstsq(design, train[TARGET], rcond=None)[0]
    np.testing.assert_allclose(pred[LINEAR_POOLED], [slope_line[0], slope_line[0] + 7.0 * slope_line[1]])
    assert abs(pred[LINEAR_POOLED].iloc[1] - 7.1) > 1.0  # the one line misses the applied row by over 1 eV


def test_applied_line_falls_back_to_the_line_without_applied_training_rows(two_materials):
    """Every Co training row of ``two_materials`` has an input applied: the applied term is not
    identifiable, so the baseline is the plain pooled line."""
    test = _u_rows([("C", "Co", 0.00, 1, 10.0, 7.0, 0.79), ("C", "O", 0.00, 1, 8.0, 8.5, 0.9)])
    pred = baseline_predictions(two_materials, test, TABLES["u"])
    np.testing.assert_allclose(pred[LINEAR_APPLIED], pred[LINEAR_POOLED])


def test_model_prior_is_the_pooled_line_with_mean_fallbacks(two_materials):
    """The models' prior: Co's pooled line (2 + 0.5 U_in, the linear_pooled baseline's), O's mean,
    Ni (no rows) the overall mean; without U_in, each species' mean. The scale is the spread of the
    targets around the prior (only O's rows deviate: +-1)."""
    vocabulary = ["Co", "Ni", "O"]
    prior, scale = linear_prior(two_materials, TABLES["u"], vocabulary, use_value_in=True, min_scale_eV=0.01)
    overall = two_materials[TARGET].mean()
    np.testing.assert_allclose(prior, [[2.0, 0.5], [overall, 0.0], [9.0, 0.0]], atol=1e-12)
    np.testing.assert_allclose(scale, np.sqrt(2 / 6))
    means, _ = linear_prior(two_materials, TABLES["u"], vocabulary, use_value_in=False, min_scale_eV=0.01)
    np.testing.assert_allclose(means, [[4.5], [overall], [9.0]])
    assert prior_groups(["Co", "O"], "v") == [("Co", "Co"), ("Co", "O"), ("O", "Co"), ("O", "O")]


def test_v_linear_uses_v_in_and_distance():
    rows = []
    for k, (v_in, d) in enumerate([(1.0, 2.0), (1.5, 2.1), (2.0, 1.9), (1.2, 2.3), (0.8, 2.0), (1.7, 1.8), (1.1, 2.2)]):
        occ = (0.5 * np.eye(5)).ravel().tolist()
        rows.append(
            {
                K.RECORD_ID: f"r{k}",
                K.PATH_ID: f"p{k}",
                K.MATERIAL: "A",
                K.SPECIES_I: "Co",
                K.SPECIES_J: "O",
                K.STRAIN: 0.0,
                K.ITERATION: 1,
                K.DISTANCE: d,
                K.V_IN: v_in,
                TARGET: 0.3 + 0.8 * v_in - 0.2 * d,
                K.N_ORBITALS_I: 5,
                K.N_ORBITALS_J: 5,
                K.OCC_I_UP: occ,
                K.OCC_I_DOWN: occ,
                K.OCC_J_UP: occ,
                K.OCC_J_DOWN: occ,
            }
        )
    table = pd.DataFrame(rows)
    pred = baseline_predictions(table.iloc[:6], table.iloc[6:], TABLES["v"])
    np.testing.assert_allclose(pred[LINEAR], [0.3 + 0.8 * 1.1 - 0.2 * 2.2])
    np.testing.assert_allclose(pred[PERSISTENCE], [1.1])
    # the V model's prior: the same line for the (Co, O) pair, the pair mean for the others (none: overall mean)
    prior, _ = linear_prior(table.iloc[:6], TABLES["v"], ["Co", "O"], use_value_in=True, min_scale_eV=0.01)
    np.testing.assert_allclose(prior[1], [0.3, 0.8, -0.2], atol=1e-12)
    assert prior[0][1:] == [0.0, 0.0] and prior[2][1:] == [0.0, 0.0]


def test_distinct_rows_counts_equivalent_sites_once(u_train):
    rows = _u_rows(
        [
            ("A", "Co", 0.0, 1, 4.0, 3.0001, 0.5),
            ("A", "Co", 0.0, 1, 4.0, 3.0002, 0.5),
            ("A", "Co", 0.0, 1, 4.0, 3.2, 0.5),
            ("A", "O", 0.0, 1, 4.0, 3.0001, 0.5),
        ]
    )
    kept = distinct_rows(rows, TABLES["u"])
    assert list(kept.index) == [0, 2, 3]
