"""The additive model's learned coefficients as a table, in the talk's A + B/T + C/T^2 form."""

from __future__ import annotations

import numpy as np
import pandas as pd


def to_inverse_temperature_form(abc_tau: np.ndarray, temperature_reference_K: float) -> np.ndarray:
    """Convert (a, b, c) of a + b tau + c tau^2, tau = T_ref/T - 1, to (A, B, C) of A + B/T + C/T^2.

    ``abc_tau`` [..., 3] dimensionless; returns [..., 3] with A dimensionless, B in K, C in K^2.
    """
    a, b, c = abc_tau[..., 0], abc_tau[..., 1], abc_tau[..., 2]
    t_ref = temperature_reference_K
    return np.stack([a - b + c, t_ref * (b - 2.0 * c), c * t_ref**2], axis=-1)


def parameter_table(abc_tau: np.ndarray, type_labels: list[str], temperature_reference_K: float) -> pd.DataFrame:
    """One row per atom type: a, b, c (tau form) and A, B_K, C_K2 (inverse-temperature form)."""
    abc = to_inverse_temperature_form(abc_tau, temperature_reference_K)
    return pd.DataFrame(
        {
            "atom_type": type_labels,
            "a": abc_tau[:, 0],
            "b": abc_tau[:, 1],
            "c": abc_tau[:, 2],
            "A": abc[:, 0],
            "B_K": abc[:, 1],
            "C_K2": abc[:, 2],
        }
    )
