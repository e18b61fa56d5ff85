"""Model inputs of the Hubbard U and V models: spin-flip-invariant irreps of occupation matrices.

Per Hubbard site and shell ``l`` (1: O 2p, 2: metal 3d), the two spin channels ``n_up``, ``n_down``
(QE basis) become irreps vectors ``x_up``, ``x_down`` (:mod:`matdisco.hubbard.irreps`), combined
so that swapping the spins (global spin flip, e.g. the other antiferromagnetic sublattice) leaves
the features unchanged:

- ``s = x_up + x_down`` (the total occupation: ``0e + 2e (+ 4e)``);
- ``t = (x_up (x) x_down + x_down (x) x_up) / 2``: e3nn's elementwise tensor product of the two
  channels, kept to even L <= 2l (0e, 2e, 4e); symmetrised, so invariant under the swap.

A site vector holds one block ``[s, t]`` per shell of ``shells``; a site whose Hubbard shell is
another ``l`` has zeros there (species tells the model which block is real). Features rotate with
the crystal (equivariant), the model reduces them to scalars.

Data points are ``torch_geometric.data.Data``: U points carry ``x`` [1, dim] (site irreps),
``z`` [1] (species index), ``scalars`` [1, n_scalars] (U_in when used), ``y`` [1] (eV);
V points carry ``x_i``, ``x_j``, ``z_i``, ``z_j``, ``distance`` [1] (angstrom), ``scalars`` and ``y``.
A ``DataLoader`` of them gives a ``Batch`` with the same fields stacked along dim 0.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from e3nn import o3
from torch_geometric.data import Data

from matdisco.core.errors import InputError
from matdisco.hubbard import keys as K
from matdisco.hubbard.irreps import matrix_irreps, occupation_to_irreps

TARGET = "target_eV"  # column added by select_points: what the model learns (eV)
NEXT, CONVERGED = "next", "converged"  # target modes (see select_points)


@lru_cache(maxsize=None)
def _product(l: int) -> o3.ElementwiseTensorProduct:
    """Weightless elementwise tensor product of two shell-``l`` irreps vectors, in float64."""
    irreps = matrix_irreps(l)
    return o3.ElementwiseTensorProduct(irreps, irreps, filter_ir_out=[ir for _, ir in irreps]).to(torch.float64)


def shell_irreps(l: int) -> o3.Irreps:
    """Irreps of one shell block ``[s, t]``."""
    return matrix_irreps(l) + _product(l).irreps_out


def site_irreps(shells: Sequence[int]) -> o3.Irreps:
    """Irreps of a site vector: one ``[s, t]`` block per shell, in ``shells`` order (not simplified)."""
    out = o3.Irreps("")
    for l in shells:
        out = out + shell_irreps(l)
    return out


def spin_invariant(up: torch.Tensor, down: torch.Tensor, l: int) -> torch.Tensor:
    """``[s, t]`` [..., dim] from the spin channels [..., m, m] of one shell (see module docstring).

    Computed in float64, returned in the dtype of ``up``.
    """
    x_up, x_down = occupation_to_irreps(up.double(), l), occupation_to_irreps(down.double(), l)
    product = _product(l)
    t = 0.5 * (product(x_up, x_down) + product(x_down, x_up))
    return torch.cat([x_up + x_down, t], dim=-1).to(up.dtype)


def site_vector(up: torch.Tensor, down: torch.Tensor, shells: Sequence[int]) -> torch.Tensor:
    """Site vector [..., dim of :func:`site_irreps`] of one site's spin channels [..., m, m], m = 2l + 1."""
    m = up.shape[-1]
    l = (m - 1) // 2
    if l not in shells or up.shape[-2:] != (m, m) or down.shape != up.shape:
        raise InputError(f"occupation matrices of shape {tuple(up.shape)} / {tuple(down.shape)}", expected=f"square, equal, 2l+1 with l in {list(shells)}")
    blocks = []
    for shell in shells:
        if shell == l:
            blocks.append(spin_invariant(up, down, l))
        else:
            blocks.append(up.new_zeros(up.shape[:-2] + (shell_irreps(shell).dim,)))
    return torch.cat(blocks, dim=-1)


def _matrix(flat, m: int, dtype: torch.dtype) -> torch.Tensor:
    return torch.tensor(np.array(flat, dtype=float), dtype=dtype).reshape(m, m)


def select_points(table: pd.DataFrame, value_in: str, value_out: str, target: str, key: Sequence[str]) -> pd.DataFrame:
    """Rows the model learns from, with the target column ``target_eV``.

    ``target = "next"``: every iteration, target = hp.x's output of that iteration (U_out / V_out).
    ``target = "converged"``: only the first iteration (iteration 0) of each path, target = the
    output of the path's last iteration (the self-consistent value), for paths whose last iteration
    converged; ``key`` identifies the same site/pair across iterations.
    """
    if table.empty:
        return table.assign(**{TARGET: []})
    if target == NEXT:
        return table.assign(**{TARGET: table[value_out].astype(float)}).reset_index(drop=True)
    if target != CONVERGED:
        raise InputError(f"target {target!r}", expected=f"{NEXT!r} or {CONVERGED!r}")
    last_iteration = table.groupby(K.PATH_ID)[K.ITERATION].transform("max")
    last = table[(table[K.ITERATION] == last_iteration) & table[K.CONVERGED].astype(bool)]
    final = last.set_index([K.PATH_ID, *key])[value_out].rename(TARGET)
    first = table[table[K.ITERATION] == 0].join(final, on=[K.PATH_ID, *key], how="inner")
    return first.reset_index(drop=True)


def species_index(species: Sequence[str], vocabulary: Sequence[str], where: str) -> list[int]:
    """Index of each species in ``vocabulary``; raises naming the unknown species and ``where``."""
    lookup = {s: i for i, s in enumerate(vocabulary)}
    unknown = sorted(set(species) - set(lookup))
    if unknown:
        raise InputError(f"species {', '.join(unknown)} not in the model's vocabulary {list(vocabulary)}", where=where)
    return [lookup[s] for s in species]


def u_points(table: pd.DataFrame, vocabulary: Sequence[str], shells: Sequence[int], use_hubbard_in: bool, dtype=torch.float32) -> list[Data]:
    """One Data per row of a U table (selected by :func:`select_points`)."""
    z = species_index(table[K.SPECIES].tolist(), vocabulary, "U table")
    points = []
    for row, zi in zip(table.itertuples(index=False), z):
        row = row._asdict()
        m = int(row[K.N_ORBITALS])
        x = site_vector(_matrix(row[K.OCC_UP], m, torch.float64), _matrix(row[K.OCC_DOWN], m, torch.float64), shells)
        scalars = [float(row[K.U_IN])] if use_hubbard_in else []
        points.append(Data(
            x=x.to(dtype)[None], z=torch.tensor([zi]), scalars=torch.tensor([scalars], dtype=dtype).reshape(1, len(scalars)),
            y=torch.tensor([float(row.get(TARGET, np.nan))], dtype=dtype),
        ))
    return points


def v_points(table: pd.DataFrame, vocabulary: Sequence[str], shells: Sequence[int], use_hubbard_in: bool, dtype=torch.float32) -> list[Data]:
    """One Data per row of a V table (selected by :func:`select_points`)."""
    z_i = species_index(table[K.SPECIES_I].tolist(), vocabulary, "V table, atom i")
    z_j = species_index(table[K.SPECIES_J].tolist(), vocabulary, "V table, atom j")
    cache: dict[tuple, torch.Tensor] = {}

    def site(record_id, atom, up, down, m):
        key = (record_id, atom)
        if key not in cache:
            cache[key] = site_vector(_matrix(up, m, torch.float64), _matrix(down, m, torch.float64), shells).to(dtype)
        return cache[key]

    points = []
    for row, zi, zj in zip(table.itertuples(index=False), z_i, z_j):
        row = row._asdict()
        x_i = site(row[K.RECORD_ID], row[K.ATOM_I], row[K.OCC_I_UP], row[K.OCC_I_DOWN], int(row[K.N_ORBITALS_I]))
        x_j = site(row[K.RECORD_ID], row[K.ATOM_J_CELL], row[K.OCC_J_UP], row[K.OCC_J_DOWN], int(row[K.N_ORBITALS_J]))
        scalars = [float(row[K.V_IN])] if use_hubbard_in else []
        points.append(Data(
            x_i=x_i[None], x_j=x_j[None], z_i=torch.tensor([zi]), z_j=torch.tensor([zj]),
            distance=torch.tensor([float(row[K.DISTANCE])], dtype=dtype),
            scalars=torch.tensor([scalars], dtype=dtype).reshape(1, len(scalars)),
            y=torch.tensor([float(row.get(TARGET, np.nan))], dtype=dtype),
        ))
    return points
