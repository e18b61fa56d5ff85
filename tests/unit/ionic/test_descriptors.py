"""The descriptor GBM baseline (``gbm_descriptors``) on tiny hand-made salts."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from rdkit.Chem import Descriptors

from matdisco.ionic import keys
from matdisco.ionic.descriptors import GbmDescriptors, GbmSettings, IonFeatures, non_constant_columns

CATIONS = ["CCn1cc[n+](C)c1", "CCCCn1cc[n+](C)c1", "CCCCCCn1cc[n+](C)c1", "CCCC[N+]1(C)CCCC1"]
ANIONS = ["F[B-](F)(F)F", "N#C[N-]C#N", "O=S(=O)(C(F)(F)F)[N-]S(=O)(=O)C(F)(F)F"]
TEMPERATURES_K = np.linspace(280.0, 360.0, 9)
SETTINGS = GbmSettings(
    learning_rate=0.1,
    max_iter=200,
    max_leaf_nodes=8,
    min_samples_leaf=3,
    morgan_radius=2,
    morgan_bits=64,
    n_threads=1,
    seed=0,
)


def _points() -> pd.DataFrame:
    """Every cation x anion, 9 temperatures; ln sigma falls with the cation's carbons, rises with the anion index."""
    rows = []
    for i, cation in enumerate(CATIONS):
        for j, anion in enumerate(ANIONS):
            for t in TEMPERATURES_K:
                rows.append((f"{i}{j}", cation, anion, t, 1.0 - 0.8 * i + 0.7 * j - 2000.0 * (1.0 / t - 1.0 / 298.15)))
    return pd.DataFrame(
        rows, columns=[keys.IL_ID, keys.CATION_SMILES, keys.ANION_SMILES, keys.TEMPERATURE_K, keys.LN_SIGMA]
    )


def test_design_holds_every_descriptor_and_fingerprint_of_each_ion_then_inverse_temperature():
    features = IonFeatures(morgan_radius=2, morgan_bits=64)
    x = features.design([CATIONS[0]], [ANIONS[0]], np.array([250.0]))
    per_ion = len(Descriptors.descList) + 64
    assert x.shape == (1, 2 * per_ion + 2)
    assert x[0, -2:] == pytest.approx([4.0, 16.0])
    assert x[0, 0] == pytest.approx(features.of(CATIONS[0])[0]) and x[0, per_ion] == pytest.approx(
        features.of(ANIONS[0])[0]
    )
    assert x[0, per_ion - 64 : per_ion].sum() > 0, "the Morgan counts of the cation are not all zero"


def test_constant_columns_are_dropped_and_nan_counts_as_a_value():
    x = np.array([[1.0, np.nan, 2.0, np.nan], [1.0, np.nan, 3.0, 5.0]])
    assert non_constant_columns(x).tolist() == [2, 3]


def test_gbm_learns_the_ion_trend_and_is_deterministic():
    points = _points()
    held_out = points[keys.IL_ID] == "11"  # BMIM DCA: both ions seen in other salts
    train, test = points[~held_out], points[held_out]
    predict = GbmDescriptors(SETTINGS, IonFeatures(2, 64))
    first = predict(train, test, {}, 1.0, 298.15)[keys.PRED_LN_SIGMA].to_numpy()
    second = predict(train, test, {}, 1.0, 298.15)[keys.PRED_LN_SIGMA].to_numpy()
    assert first.tolist() == second.tolist()
    truth = test[keys.LN_SIGMA].to_numpy()
    mean_only = np.sqrt(np.mean((train[keys.LN_SIGMA].mean() - truth) ** 2))
    assert np.sqrt(np.mean((first - truth) ** 2)) < 0.5 * mean_only
    assert np.all(np.diff(first) > 0), "conductivity rises with temperature along the held-out series"


def test_gbm_predictions_do_not_depend_on_the_thread_count():
    """Reproducible across machines with other core counts: the fit is bitwise the same on 1 and 2 threads."""
    points = _points()
    held_out = points[keys.IL_ID] == "11"
    train, test = points[~held_out], points[held_out]
    runs = []
    for n_threads in (1, 2):
        predict = GbmDescriptors(replace(SETTINGS, n_threads=n_threads), IonFeatures(2, 64))
        runs.append(predict(train, test, {}, 1.0, 298.15)[keys.PRED_LN_SIGMA].to_numpy())
    assert runs[0].tolist() == runs[1].tolist()
