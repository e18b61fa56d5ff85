"""The committed-cells path of motifs_simulate: the slow protocol fills a data set folder one cell
at a time (resumable), the pipeline reads it back and re-runs the spot-check cell, and a stored
spot-check cell that LAMMPS no longer reproduces stops the stage."""

import pytest
from ase.io import read, write

from matdisco.core.errors import InputError

TINY = (
    "simulate.repeats=2",
    "simulate.n_cells=2",
    "simulate.melt_time_ps=1",
    "simulate.quench_start_temperature_K=1800",
    "simulate.quench_rate_K_per_ps=600",
    "simulate.hot_anneal_temperature_K=700",
    "simulate.hot_anneal_time_ps=0.5",
    "simulate.anneal_time_ps=0.5",
    "simulate.spotcheck.melt_time_ps=0.5",
    "simulate.spotcheck.anneal_time_ps=0.2",
)


def test_slow_cells_are_resumable_and_read_back_with_a_spotcheck(make_cfg, tmp_path):
    from matdisco.motifs import simulate

    dataset = tmp_path / "asi"
    slow = make_cfg("simulate=md_slow", "data=motifs", "model=motifs_vae", f"simulate.dataset={dataset}", *TINY)
    simulate(slow)
    cells = sorted(p.name for p in dataset.glob("cell_*.extxyz"))
    assert cells == ["cell_000.extxyz", "cell_001.extxyz"] and (dataset / "spotcheck" / "cell_000.extxyz").is_file()
    stamp = (dataset / "cell_000.extxyz").stat().st_mtime_ns
    simulate(slow)  # nothing left to compute: the cell files are not rewritten
    assert (dataset / "cell_000.extxyz").stat().st_mtime_ns == stamp
    stored = read(dataset / "cell_001.extxyz")
    assert (
        stored.info["potential"] == "edip+sw_vink" and stored.info["seed"] > 0 and "sw_vink" in stored.info["protocol"]
    )

    pipeline = make_cfg("simulate=md_dataset", "data=motifs", "model=motifs_vae", f"simulate.dataset={dataset}", *TINY)
    result = simulate(pipeline)
    assert result["n_cells"] == 2

    spot = read(dataset / "spotcheck" / "cell_000.extxyz")
    spot.positions[0] += 0.1
    write(dataset / "spotcheck" / "cell_000.extxyz", spot, format="extxyz")
    with pytest.raises(InputError, match="spot-check cell re-ran"):
        simulate(pipeline)
