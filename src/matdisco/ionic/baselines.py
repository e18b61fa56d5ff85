"""The simple predictor every ionic evaluation reports next to the models: a closed-form ridge fit
of the additive ansatz (per-type A, B, C) on the same training ILs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from matdisco.ionic import keys
from matdisco.ionic.atom_types import type_vocabulary

RIDGE = "ridge_additive"


def ridge_predict(points: pd.DataFrame, graphs: dict, train_ils: list[str], test: pd.DataFrame, alpha: float, t_ref_K: float) -> pd.DataFrame:
    """Closed-form ridge fit of the additive ansatz on ``train_ils``; predictions for ``test``.

    Features per point: type counts n_t, n_t tau, n_t tau^2 (tau = t_ref_K / T - 1); ILs with
    types unseen in training get NaN.
    """
    vocabulary = type_vocabulary([graphs[il].atom_types for il in train_ils])

    def design(frame: pd.DataFrame) -> np.ndarray:
        counts = np.zeros((len(frame), len(vocabulary)))
        for row, il in enumerate(frame[keys.IL_ID]):
            for label in graphs[il].atom_types:
                if label in vocabulary:
                    counts[row, vocabulary[label]] += 1
        tau = (t_ref_K / frame[keys.TEMPERATURE_K].to_numpy() - 1.0)[:, None]
        return np.hstack([counts, counts * tau, counts * tau**2])

    train = points[points[keys.IL_ID].isin(train_ils)]
    x = design(train)
    coef = np.linalg.solve(x.T @ x + alpha * np.eye(x.shape[1]), x.T @ train[keys.LN_SIGMA].to_numpy())
    out = test.copy()
    unseen = {il: " ".join(sorted({t for t in graphs[il].atom_types if t not in vocabulary})) for il in test[keys.IL_ID].unique()}
    out[keys.UNSEEN_TYPES] = out[keys.IL_ID].map(unseen)
    out[keys.PRED_LN_SIGMA] = np.where(out[keys.UNSEEN_TYPES] == "", design(test) @ coef, np.nan)
    out[keys.PRED_LN_SIGMA_STD] = 0.0
    return out
