"""The same seeds give the same melt-quench cells, bit for bit, whatever process ran them."""

from __future__ import annotations

import numpy as np

from matdisco.motifs.md import MeltQuench, melt_quench_cells

TINY = MeltQuench(
    repeats=3,
    melt_time_ps=2.0,
    quench_start_temperature_K=1800.0,
    quench_rate_K_per_ps=300.0,
    anneal_time_ps=1.0,
    minimise=False,
)


def test_same_seeds_give_identical_cells_whatever_ran_before():
    """EDIP in a reused process gave other cells for the same seed: each cell gets a fresh process."""
    first = [atoms.positions.tobytes() for atoms, _ in melt_quench_cells(TINY, [11, 22], 1, progress=False)]
    again = [atoms.positions.tobytes() for atoms, _ in melt_quench_cells(TINY, [33, 22], 2, progress=False)]
    assert first[1] == again[1]


def test_different_seeds_give_different_cells():
    cells = melt_quench_cells(TINY, [11, 22], 2, progress=False)
    assert not np.allclose(cells[0][0].positions, cells[1][0].positions)
