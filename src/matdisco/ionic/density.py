"""Densities of pure ILs and molar conductivity Lambda = sigma M / rho.

Data: salty-ilthermo's ``density.csv`` (ILThermo specific densities in kg/m^3, 31k points). Each
IL gets a straight line rho(T) in g/cm^3 fitted to its near-ambient points (the density of a liquid
falls almost linearly with T over 100-200 K, by about 6e-4 g/cm^3/K). Molar conductivity in
S cm^2/mol: Lambda = sigma [S/cm] * M [g/mol] / rho [g/cm^3] = 0.01 * sigma_S_per_m * M / rho.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from omegaconf import DictConfig
from rdkit.Chem import Descriptors

from matdisco.core.errors import InputError
from matdisco.ionic import keys
from matdisco.ionic.ions import ion_mol
from matdisco.ionic.sources import package_file

DENSITY_FILE = ("salty-ilthermo", "salty/data/density.csv")
RAW_DENSITY = "Specific density, kg/m<SUP>3</SUP>"
AMBIENT_PRESSURE_KPA = 101.325


@dataclass(frozen=True)
class DensityLine:
    """rho(T) = rho_ref_g_per_cm3 + slope_g_per_cm3_K * (T - t_ref_K), valid on [t_min_K, t_max_K]."""

    rho_ref_g_per_cm3: float
    slope_g_per_cm3_K: float
    t_ref_K: float
    t_min_K: float
    t_max_K: float
    n_points: int

    def at(self, temperature_K: np.ndarray | float) -> np.ndarray:
        """Density in g/cm^3 at ``temperature_K`` (linear, extrapolated outside the measured range)."""
        return self.rho_ref_g_per_cm3 + self.slope_g_per_cm3_K * (np.asarray(temperature_K, float) - self.t_ref_K)


def fit_density_line(temperature_K: np.ndarray, rho_g_per_cm3: np.ndarray) -> DensityLine:
    """Least-squares line through one IL's (T, rho) points; needs two distinct temperatures."""
    temperature_K, rho_g_per_cm3 = np.asarray(temperature_K, float), np.asarray(rho_g_per_cm3, float)
    if np.unique(temperature_K).size < 2:
        raise InputError("density line needs points at two temperatures or more", expected=">= 2 distinct temperatures")
    t_ref = float(temperature_K.mean())
    slope, intercept = np.polyfit(temperature_K - t_ref, rho_g_per_cm3, 1)
    return DensityLine(
        float(intercept),
        float(slope),
        t_ref,
        float(temperature_K.min()),
        float(temperature_K.max()),
        len(temperature_K),
    )


def near_ambient(raw: pd.DataFrame, pressure_max_deviation_kPa: float) -> pd.DataFrame:
    """Rows of an ILThermo table within ``pressure_max_deviation_kPa`` of 101.325 kPa (missing = ambient)."""
    pressure_kPa = raw[keys.RAW_PRESSURE].fillna(AMBIENT_PRESSURE_KPA)
    return raw[(pressure_kPa - AMBIENT_PRESSURE_KPA).abs() <= pressure_max_deviation_kPa]


def density_lines(raw: pd.DataFrame, pressure_max_deviation_kPa: float, min_points: int) -> dict[str, DensityLine]:
    """Salt name -> :class:`DensityLine` from density.csv rows within ``pressure_max_deviation_kPa``
    of ambient (missing pressure = ambient) for salts with ``min_points`` distinct temperatures."""
    near = near_ambient(raw, pressure_max_deviation_kPa)
    near = near[near[RAW_DENSITY].gt(0)]
    lines = {}
    for name, rows in near.groupby(keys.RAW_SALT_NAME):
        if rows[keys.RAW_TEMPERATURE].nunique() >= min_points:
            lines[str(name)] = fit_density_line(
                rows[keys.RAW_TEMPERATURE].to_numpy(), rows[RAW_DENSITY].to_numpy() / 1000.0
            )
    return lines


def molar_mass_g_per_mol(salt_smiles: str) -> float:
    """Molar mass (g/mol) of one formula unit given as a '.'-joined salt SMILES."""
    return float(Descriptors.MolWt(ion_mol(salt_smiles, "salt")))


def molar_conductivity_S_cm2_per_mol(sigma_S_per_m, molar_mass_g_per_mol: float, rho_g_per_cm3):
    """Lambda (S cm^2/mol) = 0.01 * sigma (S/m) * M (g/mol) / rho (g/cm^3); arrays broadcast."""
    return 0.01 * np.asarray(sigma_S_per_m, float) * molar_mass_g_per_mol / np.asarray(rho_g_per_cm3, float)


def snapshot_density_lines(density: DictConfig) -> dict[str, DensityLine]:
    """Salt name -> density line from the shipped density.csv; ``density``: the section ``data.density``."""
    raw = pd.read_csv(package_file(*DENSITY_FILE))
    return density_lines(raw, float(density.pressure_max_deviation_kPa), int(density.min_points))
