"""Growth of complete cells from environments: box, proposers, acceptance, relaxation, diamond order."""

import numpy as np
import pytest
from ase.build import bulk
from scipy.spatial.transform import Rotation

from matdisco.motifs.baselines import IDEAL_TETRAHEDRON
from matdisco.motifs.growth import (
    EnvironmentProposer,
    GrowthSettings,
    Relaxation,
    TetrahedralProposer,
    box_length_angstrom,
    grow_cell,
    random_cell,
    relax_cell,
)
from matdisco.motifs.md import density_g_cm3
from matdisco.motifs.sampling import conditional_sample_infill
from matdisco.motifs.structure import coordination, fraction_all_staggered, pairs

BOND = 2.35
TETRAHEDRAL_DEG = np.degrees(np.arccos(-1.0 / 3.0))


def angles_deg(vectors: np.ndarray) -> np.ndarray:
    units = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    a, b = np.triu_indices(len(units), k=1)
    return np.degrees(np.arccos(np.clip(np.sum(units[a] * units[b], axis=1), -1, 1)))


def min_distance(atoms) -> float:
    _, _, vectors = pairs(atoms, 3.0)
    return float(np.linalg.norm(vectors, axis=1).min())


@pytest.mark.parametrize("n_known", [0, 1, 2, 3])
def test_tetrahedral_proposer_completes_a_tetrahedron(n_known):
    rng = np.random.default_rng(0)
    known = BOND * IDEAL_TETRAHEDRON[:n_known] @ Rotation.random(random_state=1).as_matrix().T
    proposed = TetrahedralProposer(BOND).propose(known, 4 - n_known, rng)
    assert proposed.shape == (4 - n_known, 3)
    assert np.allclose(np.linalg.norm(proposed, axis=1), BOND)
    assert np.allclose(angles_deg(np.vstack([known, proposed])), TETRAHEDRAL_DEG, atol=1e-6)


def test_one_known_bond_leaves_the_torsion_random():
    known = np.array([[0.0, 0.0, BOND]])
    first = TetrahedralProposer(BOND).propose(known, 3, np.random.default_rng(0))
    second = TetrahedralProposer(BOND).propose(known, 3, np.random.default_rng(1))
    assert not np.allclose(first, second)


def test_environment_proposer_keeps_the_learned_shape():
    """Candidates that are all tetrahedra (randomly turned): every proposal completes a tetrahedron."""
    rotations = Rotation.random(50, random_state=2).as_matrix()
    candidates = BOND * np.einsum("ad,sed->sae", IDEAL_TETRAHEDRON, rotations)
    known = BOND * IDEAL_TETRAHEDRON[:2]
    proposed = EnvironmentProposer(candidates, n_best=5).propose(known, 2, np.random.default_rng(3))
    assert np.allclose(angles_deg(np.vstack([known, proposed])), TETRAHEDRAL_DEG, atol=1e-6)


def test_conditional_sample_draws_from_the_best_fitting_candidates():
    """Of a good candidate and a bad one (the missing atoms elsewhere), n_best=1 always returns the good one."""
    good = BOND * IDEAL_TETRAHEDRON
    bad = 1.3 * good  # no atom at the known atom's distance
    known = good[[0]]
    for seed in range(5):
        infilled = conditional_sample_infill(known[None], np.stack([bad, good]), 1, np.random.default_rng(seed))[0]
        assert infilled.shape == (3, 3)
        assert np.allclose(np.sort(np.linalg.norm(infilled, axis=1)), BOND)


def test_grown_cell_fills_the_box_at_the_density_with_no_close_atoms():
    settings = GrowthSettings(n_atoms=64, density_g_cm3=2.28)
    atoms, info = grow_cell(TetrahedralProposer(BOND), settings, np.random.default_rng(4))
    assert len(atoms) == 64
    assert density_g_cm3(atoms) == pytest.approx(2.28, rel=1e-9)
    assert atoms.cell.lengths() == pytest.approx([box_length_angstrom(64, 2.28)] * 3)
    assert info["n_grown"] + info["n_hole_atoms"] == 64 and info["n_grown"] > 32
    assert min_distance(atoms) >= settings.min_distance_angstrom - 0.5  # hole atoms go to the largest hole
    grown_cn = coordination(atoms, settings.bond_cutoff_angstrom)
    assert np.mean(grown_cn == 4) > 0.3


def test_growth_is_seeded():
    settings = GrowthSettings(n_atoms=32)
    a, _ = grow_cell(TetrahedralProposer(BOND), settings, np.random.default_rng(5))
    b, _ = grow_cell(TetrahedralProposer(BOND), settings, np.random.default_rng(5))
    assert np.array_equal(a.positions, b.positions)


def test_random_cell_keeps_the_minimum_distance():
    atoms = random_cell(GrowthSettings(n_atoms=64, min_distance_angstrom=2.0), np.random.default_rng(6))
    assert len(atoms) == 64 and min_distance(atoms) >= 2.0


def test_relaxation_lowers_the_energy():
    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(2)
    atoms.rattle(0.2, seed=7)
    relaxation = Relaxation(potential="sw_vink", anneal_time_ps=0.2)
    from matdisco.motifs.md import potential_energy

    start = potential_energy(atoms, "sw_vink")
    relaxed, info = relax_cell(atoms, relaxation, 0.2, seed=8)
    assert info["energy_eV"] < start and info["relax_cpu_s"] > 0 and len(relaxed) == len(atoms)


def test_all_staggered_share_tells_diamond_from_disorder():
    diamond = bulk("Si", "diamond", a=5.43, cubic=True).repeat(2)
    assert fraction_all_staggered(diamond, 2.85) == 1.0
    rattled = diamond.copy()
    rattled.rattle(0.25, seed=9)
    assert fraction_all_staggered(rattled, 2.85) < 0.5
    assert fraction_all_staggered(random_cell(GrowthSettings(n_atoms=64), np.random.default_rng(10)), 2.85) < 0.05
