"""The simple predictors every ionic evaluation reports next to the models, fitted on the same
training ILs as the models of each split (closed form, no randomness).

- ``temperature_only``: ln sigma = a + b tau + c tau^2 (tau = T_ref / T - 1, an exact
  reparametrisation of a + b/T + c/T^2), one law for every IL: what temperature alone explains.
- ``ion_identity``: the same temperature terms plus one ridge-penalised shift per cation and per
  anion (one-hot of the ions' InChIKeys); an unseen ion gets the mean shift of the training ions
  of its role: what the names of the ions explain, without chemistry shared between ions.
- ``ridge_additive``: the talk's additive ansatz (per atom type A, B, C) fitted in closed form.

Every baseline is ``predict(train, test, graphs, alpha, t_ref_K) -> test`` with
``pred_ln_sigma``, ``pred_ln_sigma_std`` (0) and ``unseen_atom_types`` added.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from matdisco.ionic import keys
from matdisco.ionic.atom_types import type_vocabulary, unseen_types
from matdisco.ionic.ions import ion_key

TEMPERATURE_ONLY = "temperature_only"
ION_IDENTITY = "ion_identity"
RIDGE = "ridge_additive"


def temperature_terms(temperature_K: np.ndarray, t_ref_K: float) -> np.ndarray:
    """Columns [1, tau, tau^2] [n, 3] with tau = t_ref_K / T - 1 (dimensionless)."""
    tau = t_ref_K / np.asarray(temperature_K, dtype=float) - 1.0
    return np.stack([np.ones_like(tau), tau, tau**2], axis=1)


def ridge_solve(x: np.ndarray, y: np.ndarray, penalty: np.ndarray) -> np.ndarray:
    """Coefficients [p] minimising |x w - y|^2 + sum_j penalty_j w_j^2 (x [n, p], y [n], penalty [p])."""
    return np.linalg.solve(x.T @ x + np.diag(penalty), x.T @ y)


def with_predictions(test: pd.DataFrame, pred_ln_sigma: np.ndarray, unseen: pd.Series | str) -> pd.DataFrame:
    """Copy of ``test`` with pred_ln_sigma [n], a zero pred_ln_sigma_std and the unseen-types labels."""
    out = test.copy()
    out[keys.PRED_LN_SIGMA] = pred_ln_sigma
    out[keys.PRED_LN_SIGMA_STD] = 0.0
    out[keys.UNSEEN_TYPES] = unseen
    return out


def temperature_only_predict(
    train: pd.DataFrame, test: pd.DataFrame, graphs: dict, alpha: float, t_ref_K: float
) -> pd.DataFrame:
    """Least-squares a + b tau + c tau^2 on every training point; the same law for every test IL."""
    coef = ridge_solve(
        temperature_terms(train[keys.TEMPERATURE_K], t_ref_K), train[keys.LN_SIGMA].to_numpy(), np.zeros(3)
    )
    return with_predictions(test, temperature_terms(test[keys.TEMPERATURE_K], t_ref_K) @ coef, "")


def ion_keys(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Canonical cation and anion keys of each row (InChIKeys: resonance forms of an ion share one)."""
    return tuple(
        frame[column].map({s: ion_key(s, f"{column} {s}") for s in frame[column].unique()})
        for column in (keys.CATION_SMILES, keys.ANION_SMILES)
    )


def ion_identity_predict(
    train: pd.DataFrame, test: pd.DataFrame, graphs: dict, alpha: float, t_ref_K: float
) -> pd.DataFrame:
    """Temperature terms (unpenalised) plus a ridge shift per cation and per anion (penalty ``alpha``).

    Test ions absent from ``train`` get the mean shift of the training ions of their role.
    """
    train_cation, train_anion = ion_keys(train)
    cations, anions = sorted(set(train_cation)), sorted(set(train_anion))
    x = np.hstack(
        [
            temperature_terms(train[keys.TEMPERATURE_K], t_ref_K),
            _one_hot(train_cation, cations),
            _one_hot(train_anion, anions),
        ]
    )
    coef = ridge_solve(
        x, train[keys.LN_SIGMA].to_numpy(), np.r_[np.zeros(3), np.full(len(cations) + len(anions), alpha)]
    )
    shift = {
        "cation": dict(zip(cations, coef[3 : 3 + len(cations)])),
        "anion": dict(zip(anions, coef[3 + len(cations) :])),
    }
    test_cation, test_anion = ion_keys(test)
    cation_shift = test_cation.map(shift["cation"]).fillna(float(np.mean(list(shift["cation"].values())))).to_numpy()
    anion_shift = test_anion.map(shift["anion"]).fillna(float(np.mean(list(shift["anion"].values())))).to_numpy()
    pred = temperature_terms(test[keys.TEMPERATURE_K], t_ref_K) @ coef[:3] + cation_shift + anion_shift
    return with_predictions(test, pred, "")


def _one_hot(labels: pd.Series, vocabulary: list[str]) -> np.ndarray:
    """[n, len(vocabulary)] indicator of each row's label."""
    index = {label: j for j, label in enumerate(vocabulary)}
    out = np.zeros((len(labels), len(vocabulary)))
    out[np.arange(len(labels)), [index[label] for label in labels]] = 1.0
    return out


def additive_design(frame: pd.DataFrame, graphs: dict, vocabulary: dict[str, int], t_ref_K: float) -> np.ndarray:
    """Additive-ansatz features [n, 3 len(vocabulary)] per row of ``frame``: type counts n_t, n_t tau,
    n_t tau^2 of its IL's graph (types outside ``vocabulary`` are left out)."""
    counts = np.zeros((len(frame), len(vocabulary)))
    for row, il in enumerate(frame[keys.IL_ID]):
        for label in graphs[il].atom_types:
            if label in vocabulary:
                counts[row, vocabulary[label]] += 1
    tau = temperature_terms(frame[keys.TEMPERATURE_K], t_ref_K)[:, 1:2]
    return np.hstack([counts, counts * tau, counts * tau**2])


def unseen_type_labels(test: pd.DataFrame, graphs: dict, vocabulary: dict[str, int]) -> pd.Series:
    """Per test row: the space-joined atom types of its IL that ``vocabulary`` lacks ("" if none)."""
    unseen = {il: " ".join(unseen_types(graphs[il].atom_types, vocabulary)) for il in test[keys.IL_ID].unique()}
    return test[keys.IL_ID].map(unseen)


def ridge_predict(train: pd.DataFrame, test: pd.DataFrame, graphs: dict, alpha: float, t_ref_K: float) -> pd.DataFrame:
    """Closed-form ridge fit of the additive ansatz on the ``train`` points; predictions for ``test``.

    Features per point: type counts n_t, n_t tau, n_t tau^2; ILs with types unseen in training get NaN.
    """
    vocabulary = type_vocabulary([graphs[il].atom_types for il in train[keys.IL_ID].unique()])
    x = additive_design(train, graphs, vocabulary, t_ref_K)
    coef = ridge_solve(x, train[keys.LN_SIGMA].to_numpy(), np.full(x.shape[1], alpha))
    unseen = unseen_type_labels(test, graphs, vocabulary)
    return with_predictions(
        test, np.where(unseen == "", additive_design(test, graphs, vocabulary, t_ref_K) @ coef, np.nan), unseen
    )


BASELINES = {TEMPERATURE_ONLY: temperature_only_predict, ION_IDENTITY: ion_identity_predict, RIDGE: ridge_predict}
