"""Bad user cells are refused before anything is written: the stored cells and the structure
metrics stay byte-identical (issue: a 2-atom cell crashed, and a 20 A box of 4 atoms passed, after
the good cells had been replaced)."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.io import write

from matdisco.core.errors import InputError

A_SI = 5.431


def _good_cells(folder, n=2):
    rng = np.random.default_rng(0)
    for k in range(n):
        cell = bulk("Si", "diamond", a=A_SI, cubic=True).repeat(2)
        cell.positions += rng.normal(scale=0.05, size=cell.positions.shape)
        write(folder / f"good_{k}.extxyz", cell, format="extxyz")


def _snapshot(root):
    return {
        p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and "logs" not in p.parts
    }


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (Atoms("Si2", positions=[[0, 0, 0], [1.2, 1.2, 1.2]], cell=[5.4] * 3, pbc=True), "2 atoms"),
        (
            Atoms("Si4", positions=[[0, 0, 0], [2.35, 0, 0], [0, 2.35, 0], [0, 0, 2.35]], cell=[20.0] * 3, pbc=True),
            "atoms",
        ),
        (bulk("Si", "diamond", a=A_SI * 1.25, cubic=True).repeat(2), "density"),
    ],
)
def test_a_bad_cell_is_refused_before_the_good_cells_are_replaced(make_cfg, tmp_path, cell, message):
    from matdisco.motifs import simulate

    user = tmp_path / "user"
    user.mkdir()
    _good_cells(user)
    good = make_cfg(
        "simulate=md_quick",
        "data=motifs",
        "model=motifs_vae",
        "simulate.source=extxyz",
        f"simulate.input_glob={user}/good_*.extxyz",
    )
    simulate(good)
    before = _snapshot(tmp_path / "processed") | _snapshot(tmp_path / "metrics")
    write(user / "bad.extxyz", cell, format="extxyz")
    bad = make_cfg(
        "simulate=md_quick",
        "data=motifs",
        "model=motifs_vae",
        "simulate.source=extxyz",
        f"simulate.input_glob={user}/*.extxyz",
    )
    with pytest.raises(InputError, match=message) as error:
        simulate(bad)
    assert "bad.extxyz" in str(error.value)
    assert _snapshot(tmp_path / "processed") | _snapshot(tmp_path / "metrics") == before


def test_an_atom_short_of_neighbours_within_the_cutoff_is_refused(make_cfg, tmp_path):
    from matdisco.motifs import simulate

    user = tmp_path / "user"
    user.mkdir()
    _good_cells(user, n=1)
    cfg = make_cfg(
        "simulate=md_quick",
        "data=motifs",
        "model=motifs_vae",
        "simulate.source=extxyz",
        f"simulate.input_glob={user}/*.extxyz",
        "data.n_neighbours=30",
    )
    with pytest.raises(InputError, match="fewer than 30 neighbours"):
        simulate(cfg)
