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


def test_same_seed_gives_identical_cells_in_one_process():
    """EDIP reads one double past its cutoff tables (md.fresh_pages_for_large_blocks): before the heap's mmap
    threshold was fixed, the second LAMMPS instance of a process read garbage there and quenched another cell."""
    from matdisco.motifs.md import melt_quench

    first, again = (melt_quench(TINY, 22)[0].positions.tobytes() for _ in range(2))
    assert first == again
