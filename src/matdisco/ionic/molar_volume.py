"""Additive molar volumes and ion concentration c = rho / M of ionic liquids.

sigma = Lambda * c: a model with ``molar_volume`` predicts ln Lambda and adds ln c. The molar volume
V_m = M / rho (cm^3/mol) is fitted as a sum of per-element volumes (explicit H) on the ILs with a
density line (:mod:`matdisco.ionic.density`, evaluated at ``temperature_K``), so c exists for any
salt of known elements, measured or not: c = 1000 / V_m in mol/L, and the models add
ln(c / 1 mol L^-1) (about 1-1.6 for ionic liquids).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import torch
from omegaconf import DictConfig
from rdkit import Chem
from torch_geometric.data import Data

from matdisco.core.errors import InputError
from matdisco.core.metrics import mean_abs_relative_error
from matdisco.ionic import keys
from matdisco.ionic.baselines import ridge_solve
from matdisco.ionic.density import DensityLine, molar_mass_g_per_mol
from matdisco.ionic.ions import ion_mol


def element_counts(salt_smiles: str) -> Counter:
    """Atoms per element of one formula unit ('.'-joined SMILES), hydrogens made explicit."""
    return Counter(atom.GetSymbol() for atom in Chem.AddHs(ion_mol(salt_smiles, "salt")).GetAtoms())


def count_matrix(salts: list[str], elements: list[str]) -> np.ndarray:
    """[n_salts, n_elements] atom counts of each salt over ``elements``."""
    counts = [element_counts(s) for s in salts]
    return np.array([[c.get(e, 0) for e in elements] for c in counts], dtype=float)


def fit_element_volumes(salts: list[str], molar_volume_cm3_per_mol: np.ndarray, alpha: float) -> dict[str, float]:
    """Element -> volume (cm^3/mol) minimising |counts v - V_m|^2 + alpha |v|^2 over ``salts``."""
    elements = sorted(set().union(*(element_counts(s) for s in salts)))
    volumes = ridge_solve(
        count_matrix(salts, elements), np.asarray(molar_volume_cm3_per_mol, float), np.full(len(elements), alpha)
    )
    return dict(zip(elements, volumes.tolist()))


def molar_volume_cm3_per_mol(salt_smiles: str, volumes: dict[str, float]) -> float:
    """Additive V_m (cm^3/mol) of one salt; :class:`InputError` for an element without a volume."""
    counts = element_counts(salt_smiles)
    missing = sorted(set(counts) - set(volumes))
    if missing:
        raise InputError(
            f"no molar-volume term for element(s) {' '.join(missing)}",
            where=f"salt {salt_smiles}",
            expected=f"elements of the density-fitted salts: {' '.join(sorted(volumes))}",
        )
    return float(sum(n * volumes[e] for e, n in counts.items()))


def ln_concentration_mol_per_L(salt_smiles: str, volumes: dict[str, float]) -> float:
    """ln(c / 1 mol L^-1) with c = 1000 / V_m (V_m in cm^3/mol)."""
    return float(np.log(1000.0 / molar_volume_cm3_per_mol(salt_smiles, volumes)))


def measured_molar_volumes(points: pd.DataFrame, lines: dict[str, DensityLine], temperature_K: float) -> pd.Series:
    """Salt SMILES -> measured V_m = M / rho(temperature_K) (cm^3/mol) for the ILs of ``points``
    whose salt name has a density line."""
    ils = points.drop_duplicates(keys.IL_ID)
    measured = {
        salt: molar_mass_g_per_mol(salt) / float(lines[name].at(temperature_K))
        for name, salt in zip(ils[keys.SALT_NAME], ils[keys.SALT_SMILES])
        if name in lines
    }
    return pd.Series(measured, name="molar_volume_cm3_per_mol")


def grouped_volume_errors(measured: pd.Series, alpha: float, n_folds: int, seed: int) -> dict[str, float]:
    """Held-out error of the additive volume fit, ILs split into ``n_folds`` folds (seeded): RMSE
    (cm^3/mol), mean absolute relative error and RMSE of ln c; salts with an element unseen in a fold's
    training salts are skipped."""
    salts = np.array(measured.index)
    fold = np.random.default_rng(seed).permutation(len(salts)) % n_folds
    true, pred = [], []
    for k in range(n_folds):
        volumes = fit_element_volumes(list(salts[fold != k]), measured.to_numpy()[fold != k], alpha)
        for salt in salts[fold == k]:
            if set(element_counts(salt)) <= set(volumes):
                true.append(measured[salt])
                pred.append(molar_volume_cm3_per_mol(salt, volumes))
    true, pred = np.array(true), np.array(pred)
    return {
        "n_salts": len(true),
        "rmse_cm3_per_mol": float(np.sqrt(np.mean((pred - true) ** 2))),
        "mean_abs_relative_error": mean_abs_relative_error(true, pred),
        "rmse_ln_c": float(np.sqrt(np.mean(np.log(true / pred) ** 2))),
    }


def concentration_model(
    settings: DictConfig, seed: int, points: pd.DataFrame, lines: dict[str, DensityLine]
) -> tuple[dict[str, float], dict]:
    """Element volumes fitted on every IL of ``points`` with a density line (``settings``: the section
    ``data.density.molar_volume``), and their IL-grouped held-out errors (folds drawn from ``seed``)."""
    measured = measured_molar_volumes(points, lines, float(settings.temperature_K))
    alpha = float(settings.alpha)
    volumes = fit_element_volumes(list(measured.index), measured.to_numpy(), alpha)
    errors = grouped_volume_errors(measured, alpha, int(settings.n_folds), seed)
    return volumes, {**errors, "volumes_cm3_per_mol": volumes}


def attach_ln_concentration(
    graphs: dict[str, Data], points: pd.DataFrame, volumes: dict[str, float]
) -> dict[str, Data]:
    """Give every IL's graph ``ln_conc`` [1]: ln(c / 1 mol L^-1) from the additive molar volume; NaN
    for a salt with an element no density-fitted salt has (a molar-volume model then predicts NaN for
    it, and the evaluation leaves it out as it does ILs with unseen atom types)."""
    salts = points.drop_duplicates(keys.IL_ID).set_index(keys.IL_ID)[keys.SALT_SMILES]
    for il, graph in graphs.items():
        known = set(element_counts(salts[il])) <= set(volumes)
        value = ln_concentration_mol_per_L(salts[il], volumes) if known else float("nan")
        graph.ln_conc = torch.tensor([value], dtype=torch.float32)
    return graphs
