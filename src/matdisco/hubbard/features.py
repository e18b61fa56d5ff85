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

from collections.abc import Sequence
from functools import cache

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


@cache
def _product(l: int) -> o3.ElementwiseTensorProduct:
    """Weightless elementwise tensor product of two shell-``l`` irreps vectors, in float64."""
    irreps = matrix_irreps(l)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # e3nn computes its coupling coefficients in the default dtype
    try:
        return o3.ElementwiseTensorProduct(irreps, irreps, filter_ir_out=[ir for _, ir in irreps])
    finally:
        torch.set_default_dtype(previous)


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
        raise InputError(
            f"occupation matrices of shape {tuple(up.shape)} / {tuple(down.shape)}",
            expected=f"square, equal, 2l+1 with l in {list(shells)}",
        )
    blocks = []
    for shell in shells:
        if shell == l:
            blocks.append(spin_invariant(up, down, l))
        else:
            blocks.append(up.new_zeros(up.shape[:-2] + (shell_irreps(shell).dim,)))
    return torch.cat(blocks, dim=-1)


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


def site_vectors(ups: Sequence, downs: Sequence, sizes: Sequence[int], shells: Sequence[int]) -> torch.Tensor:
    """Site vectors [n, dim] of n sites given flattened spin channels and m per site (batched per m, float64)."""
    out = torch.zeros(len(sizes), site_irreps(shells).dim, dtype=torch.float64)
    sizes = np.asarray(sizes, dtype=int)
    for m in np.unique(sizes):
        rows = np.flatnonzero(sizes == m)
        up = torch.tensor(np.array([ups[r] for r in rows], dtype=float)).reshape(-1, m, m)
        down = torch.tensor(np.array([downs[r] for r in rows], dtype=float)).reshape(-1, m, m)
        out[torch.as_tensor(rows)] = site_vector(up, down, shells)
    return out


def _column(table: pd.DataFrame, name: str, dtype) -> torch.Tensor:
    return torch.tensor(table[name].astype(float).to_numpy(), dtype=dtype)


def u_points(
    table: pd.DataFrame, vocabulary: Sequence[str], shells: Sequence[int], use_hubbard_in: bool, dtype=torch.float32
) -> list[Data]:
    """One Data per row of a U table (selected by :func:`select_points`)."""
    z = species_index(table[K.SPECIES].tolist(), vocabulary, "U table")
    if table.empty:
        return []
    x = site_vectors(table[K.OCC_UP].tolist(), table[K.OCC_DOWN].tolist(), table[K.N_ORBITALS].tolist(), shells).to(
        dtype
    )
    scalars = _column(table, K.U_IN, dtype)[:, None] if use_hubbard_in else torch.zeros(len(table), 0, dtype=dtype)
    y = _column(table, TARGET, dtype) if TARGET in table else torch.full((len(table),), float("nan"), dtype=dtype)
    return [
        Data(x=x[k : k + 1], z=torch.tensor([z[k]]), scalars=scalars[k : k + 1], y=y[k : k + 1])
        for k in range(len(table))
    ]


def v_points(
    table: pd.DataFrame, vocabulary: Sequence[str], shells: Sequence[int], use_hubbard_in: bool, dtype=torch.float32
) -> list[Data]:
    """One Data per row of a V table (selected by :func:`select_points`)."""
    z_i = species_index(table[K.SPECIES_I].tolist(), vocabulary, "V table, atom i")
    z_j = species_index(table[K.SPECIES_J].tolist(), vocabulary, "V table, atom j")
    if table.empty:
        return []
    x_i = site_vectors(
        table[K.OCC_I_UP].tolist(), table[K.OCC_I_DOWN].tolist(), table[K.N_ORBITALS_I].tolist(), shells
    ).to(dtype)
    x_j = site_vectors(
        table[K.OCC_J_UP].tolist(), table[K.OCC_J_DOWN].tolist(), table[K.N_ORBITALS_J].tolist(), shells
    ).to(dtype)
    distance = _column(table, K.DISTANCE, dtype)
    scalars = _column(table, K.V_IN, dtype)[:, None] if use_hubbard_in else torch.zeros(len(table), 0, dtype=dtype)
    y = _column(table, TARGET, dtype) if TARGET in table else torch.full((len(table),), float("nan"), dtype=dtype)
    return [
        Data(
            x_i=x_i[k : k + 1],
            x_j=x_j[k : k + 1],
            z_i=torch.tensor([z_i[k]]),
            z_j=torch.tensor([z_j[k]]),
            distance=distance[k : k + 1],
            scalars=scalars[k : k + 1],
            y=y[k : k + 1],
        )
        for k in range(len(table))
    ]
