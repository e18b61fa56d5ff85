"""Density lines per IL and molar conductivity with units."""

import numpy as np
import pandas as pd
import pytest

from matdisco.core.errors import InputError
from matdisco.ionic import keys
from matdisco.ionic.density import (
    RAW_DENSITY,
    density_lines,
    fit_density_line,
    molar_conductivity_S_cm2_per_mol,
    molar_mass_g_per_mol,
    near_ambient,
)

EMIM_BF4 = "CC[n+]1ccn(C)c1.F[B-](F)(F)F"


def test_density_line_recovers_a_linear_law():
    temperature_K = np.array([283.15, 298.15, 313.15, 328.15])
    line = fit_density_line(temperature_K, 1.28 - 7e-4 * (temperature_K - 298.15))
    assert line.at(298.15) == pytest.approx(1.28) and line.slope_g_per_cm3_K == pytest.approx(-7e-4)
    assert (line.t_min_K, line.t_max_K, line.n_points) == (283.15, 328.15, 4)


def test_density_line_needs_two_temperatures():
    with pytest.raises(InputError, match="two temperatures"):
        fit_density_line(np.array([298.15, 298.15]), np.array([1.28, 1.281]))


def test_density_lines_use_near_ambient_points_in_kg_per_m3():
    raw = pd.DataFrame(
        {
            keys.RAW_SALT_NAME: ["EMIM BF4"] * 4 + ["single"],
            keys.RAW_TEMPERATURE: [298.15, 308.15, 298.15, 318.15, 298.15],
            keys.RAW_PRESSURE: [101.325, None, 20000.0, 101.3, 101.325],
            RAW_DENSITY: [1280.0, 1273.0, 1290.0, 1266.0, 1000.0],
        }
    )
    lines = density_lines(raw, pressure_max_deviation_kPa=50.0, min_points=2)
    assert set(lines) == {"EMIM BF4"}  # 'single' has one temperature
    assert lines["EMIM BF4"].n_points == 3 and lines["EMIM BF4"].at(298.15) == pytest.approx(1.280, abs=1e-3)


def test_molar_conductivity_of_emim_bf4():
    """EMIM BF4 at 298 K: sigma 1.4 S/m, M 197.97 g/mol, rho 1.28 g/cm^3 -> Lambda 2.17 S cm^2/mol."""
    molar_mass = molar_mass_g_per_mol(EMIM_BF4)
    assert molar_mass == pytest.approx(197.97, abs=0.05)
    assert molar_conductivity_S_cm2_per_mol(1.4, molar_mass, 1.28) == pytest.approx(2.165, abs=0.005)


def test_near_ambient_keeps_rows_within_the_pressure_window_and_reads_missing_as_ambient():
    raw = pd.DataFrame({keys.RAW_PRESSURE: [101.325, 140.0, np.nan, 1000.0, 60.0], "v": [1, 2, 3, 4, 5]})
    assert near_ambient(raw, 50.0)["v"].tolist() == [1, 2, 3, 5]
