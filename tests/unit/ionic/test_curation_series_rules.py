"""Curation series rules on hand-made series: solid branch, source consistency, plausibility, glassy."""

import numpy as np
import pandas as pd

from matdisco.ionic import keys
from matdisco.ionic.curation import (
    curate,
    dataset_and_source,
    glassy_ils,
    implausible_datasets,
    inconsistent_sources,
    solid_branch,
)

SOLID = {"gap_ln": 3.0, "gap_per_K": 0.1, "n_reference": 5, "min_span_K": 5.0, "default_activation_K": 7000.0}
SOURCE = {"window_K": 10.0, "offset_ln": 2.3, "spread_ln": 1.0, "min_ils": 2}
PLAUSIBILITY = {"sigma_high_S_per_m": 8.0, "activation_max_K": 6000.0, "min_span_K": 5.0}


def series(il: str, temperature_K, sigma_S_per_m, dataset: int = 0, source: int = 0) -> pd.DataFrame:
    """Curated-layout points of one IL."""
    n = len(temperature_K)
    return pd.DataFrame(
        {
            keys.IL_ID: il,
            keys.SALT_NAME: il,
            keys.TEMPERATURE_K: np.asarray(temperature_K, float),
            keys.SIGMA_S_PER_M: np.asarray(sigma_S_per_m, float),
            keys.DATASET: dataset,
            keys.SOURCE: source,
        },
        index=range(n),
    )


def vft_sigma_S_per_m(temperature_K):
    """A glass-forming liquid: ln sigma = 5 - 700 / (T - 160 K)."""
    return np.exp(5.0 - 700.0 / (np.asarray(temperature_K, float) - 160.0))


def stack(*frames) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True)


def test_solid_branch_far_below_the_liquid_is_dropped():
    """EMIM PF6 case: liquid measured from 299 K, a solid branch at 253-294 K about 1e-5 S/m, up to
    46 K below the coldest liquid point; every solid point goes, no liquid point does."""
    liquid = series(
        "EMIM PF6",
        np.arange(299.0, 424.0, 10.0),
        np.exp(1.5 - 3000.0 * (1 / np.arange(299.0, 424.0, 10.0) - 1 / 350.0)),
    )
    solid = series("EMIM PF6", [253.0, 263.0, 273.0, 283.0, 294.0], [1e-6, 2e-6, 5e-6, 1e-5, 7e-4], dataset=1)
    points = stack(liquid, solid)
    drop = solid_branch(points, **SOLID)
    assert drop.sum() == 5 and set(points.loc[drop, keys.TEMPERATURE_K]) == {253.0, 263.0, 273.0, 283.0, 294.0}


def test_solid_branch_keeps_a_dense_supercooled_liquid_with_vft_curvature():
    """A glass former measured from 400 K down to 200 K (ln sigma falls 12 units, steepening) is one liquid."""
    temperature_K = np.arange(200.0, 401.0, 5.0)
    assert not solid_branch(series("glass former", temperature_K, vft_sigma_S_per_m(temperature_K)), **SOLID).any()


def test_solid_branch_crystal_8_ln_below_a_liquid_35_K_warmer():
    """EMIM BF4 case: crystal at 203-228 K, 6-8 ln below the supercooled liquid measured down to 238 K.
    The worst-case bound gap + 0.3/K * dT (13.5 ln at 35 K) would keep it; this rule does not."""
    liquid_T = np.arange(238.0, 354.0, 5.0)
    liquid = series("EMIM BF4", liquid_T, vft_sigma_S_per_m(liquid_T))
    crystal_T = np.array([203.0, 213.0, 223.0, 228.0])
    crystal = series("EMIM BF4", crystal_T, vft_sigma_S_per_m(crystal_T) * np.exp(-8.0), dataset=1)
    drop = solid_branch(stack(liquid, crystal), **SOLID)
    assert drop.sum() == 4 and not drop.iloc[: len(liquid)].any()


def test_source_with_a_constant_factor_is_dropped_with_its_single_salts():
    """One source holds single points of four salts, 1000x below the independent series of two of
    them; the source goes, with the two salts resting only on it."""
    T = np.arange(288.0, 319.0, 5.0)
    independent = [
        series(il, T, [0.3] * len(T), dataset=i, source=i) for i, il in enumerate(["DEME NTf2", "DEME BF4"], start=1)
    ]
    low = [
        series(il, [298.1], [3e-4], dataset=10 + i, source=9)
        for i, il in enumerate(["DEME NTf2", "DEME BF4", "A", "B"])
    ]
    points = stack(*independent, *low)
    drop, lines = inconsistent_sources(points, **SOURCE)
    assert set(points.loc[drop, keys.IL_ID]) == {"DEME NTf2", "DEME BF4", "A", "B"} and drop.sum() == 4
    assert len(lines) == 1 and "factor 0.001" in lines[0]
    assert set(points.loc[~drop, keys.IL_ID]) == {"DEME NTf2", "DEME BF4"}


def test_source_disagreeing_by_different_factors_is_kept():
    """Offsets of -7 and +0 ln are not one factor: the source is kept (scatter is not a unit error)."""
    T = np.arange(288.0, 319.0, 5.0)
    independent = [series(il, T, [0.3] * len(T), dataset=i, source=i) for i, il in enumerate(["X", "Y"], start=1)]
    other = [series("X", [298.1], [3e-4], dataset=10, source=9), series("Y", [298.1], [0.3], dataset=11, source=9)]
    drop, lines = inconsistent_sources(stack(*independent, *other), **SOURCE)
    assert not drop.any() and lines == []


def test_implausible_series_high_sigma_and_steep():
    """C6mim Br case: 8-29 S/m rising 3.6x over 15 K (E_a/R about 7000 K) is dropped; a fluid
    liquid reaching 14 S/m with E_a/R = 2800 K (BMIM DCA at 468 K) is kept."""
    T = np.array([318.0, 323.0, 328.0, 333.0])
    steep = series("C6mim Br", T, 8.0 * np.exp(-7000.0 * (1 / T - 1 / 318.0)), dataset=1)
    T2 = np.arange(400.0, 470.0, 10.0)
    fluid = series("BMIM DCA", T2, 14.0 * np.exp(-2800.0 * (1 / T2 - 1 / 468.0)), dataset=2)
    drop = implausible_datasets(stack(steep, fluid), **PLAUSIBILITY)
    assert drop.sum() == 4 and set(stack(steep, fluid).loc[drop, keys.IL_ID]) == {"C6mim Br"}


def test_glassy_ils_are_those_that_never_reach_the_fluid_regime():
    points = stack(series("EMIM tyrosinate", [298.15], [4e-6]), series("EMIM BF4", [298.15, 320.0], [5e-4, 1.4]))
    assert list(points.loc[glassy_ils(points, 1e-3), keys.IL_ID]) == ["EMIM tyrosinate"]


def test_sources_are_runs_of_data_sets_with_one_signature():
    """Consecutive single points at 298.10 K form one source; a series with another grid starts a new one."""
    raw = pd.DataFrame(
        {
            keys.RAW_SALT_NAME: ["a", "b", "c", "c", "d"],
            keys.RAW_TEMPERATURE: [298.1, 298.1, 300.0, 310.0, 298.1],
            keys.RAW_PRESSURE: [101.325, 101.325, 101.325, 101.325, None],
        }
    )
    dataset, source = dataset_and_source(raw)
    assert list(dataset) == [1, 2, 3, 3, 4] and list(source) == [1, 1, 2, 2, 3]


def test_each_series_rule_is_reported_with_its_salts():
    """curate() lists the salts each configured series rule drops, and glassy salts stay out of the table."""
    rows = [
        (4e-6, 101.325, 298.15, "1-ethyl-3-methylimidazolium tetrafluoroborate"),
        (2.8, 101.325, 298.15, "1-ethyl-3-methylimidazolium dicyanamide"),
    ]
    ec = pd.DataFrame(rows, columns=[keys.RAW_SIGMA, keys.RAW_PRESSURE, keys.RAW_TEMPERATURE, keys.RAW_SALT_NAME])
    tables = {
        "electrical_conductivity.csv": ec,
        "cationInfo.csv": pd.DataFrame({"name": ["1-ethyl-3-methylimidazolium"], "smiles": ["CC[n+]1ccn(C)c1"]}),
        "anionInfo.csv": pd.DataFrame(
            {"name": ["tetrafluoroborate", "dicyanamide"], "smiles": ["F[B-](F)(F)F", "N#C[N-]C#N"]}
        ),
        "compounds.csv": pd.DataFrame({"id": [], "name": [], "smiles": []}),
    }
    rules = {"pressure_max_deviation_kPa": 50.0, "sigma_max_S_per_m": 30.0, "temperature_range_K": [200.0, 500.0]}
    points, _, report = curate(tables, rules | {"glassy": {"sigma_max_S_per_m": 1e-3}, "solid": SOLID})
    assert list(points[keys.SALT_NAME]) == ["1-ethyl-3-methylimidazolium dicyanamide"]
    assert report.rule_lists["glassy class (kept out of the liquid-law table)"] == {
        "1-ethyl-3-methylimidazolium tetrafluoroborate": 1
    }
    assert "glassy class" in report.as_markdown()


def test_curated_names_come_from_the_checked_table_by_ion_key():
    """The propyl cation, drawn in another resonance form than salty's row, is named propyl, not butyl."""
    ec = pd.DataFrame(
        [(0.5, 101.325, 298.15, "1-methyl-3-propylimidazolium tetrafluoroborate")],
        columns=[keys.RAW_SIGMA, keys.RAW_PRESSURE, keys.RAW_TEMPERATURE, keys.RAW_SALT_NAME],
    )
    tables = {
        "electrical_conductivity.csv": ec,
        "cationInfo.csv": pd.DataFrame(
            {
                "name": ["1-butyl-3-methyl-1H-imidazolium", "1-methyl-3-propylimidazolium"],
                "smiles": ["Cn1c[n+](cc1)CCC", "CCCn1cc[n+](C)c1"],
            }
        ),
        "anionInfo.csv": pd.DataFrame({"name": ["tetrafluoroborate"], "smiles": ["F[B-](F)(F)F"]}),
        "compounds.csv": pd.DataFrame({"id": [], "name": [], "smiles": []}),
    }
    rules = {"pressure_max_deviation_kPa": 50.0, "sigma_max_S_per_m": 30.0, "temperature_range_K": [200.0, 500.0]}
    points, _, _ = curate(tables, rules)
    assert list(points[keys.CATION_NAME]) == ["1-methyl-3-propylimidazolium"]
