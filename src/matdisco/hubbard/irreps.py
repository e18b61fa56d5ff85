"""Occupation matrices in Quantum ESPRESSO's real-harmonic basis -> e3nn irreducible representations.

QE's convention (subroutine ``ylmr2``, used for the atomic wavefunctions that the Hubbard
projectors are built from): z is the polar axis, ``Y_{l,0} = c Q_{l0}(cos t)``, then for
m = 1..l the pair ``c sqrt2 Q_lm cos(m phi)``, ``c sqrt2 Q_lm sin(m phi)``, where ``Q_lm``
carries the Condon-Shortley phase (-1)^m (``Q(1,1) = -sin t / sqrt2``). As Cartesian
polynomials (up to one positive factor per l):

====  ==================================================================
 l    QE order of the m index (row/column of pw.x's occupation matrix)
====  ==================================================================
 1    ``z``, ``-x``, ``-y``
 2    ``3z^2 - r^2``, ``-xz``, ``-yz``, ``x^2 - y^2``, ``xy``
====  ==================================================================

(pw.x labels these ``pz, px, py`` and ``dz2, dxz, dyz, dx2-y2, dxy``; the minus signs of the
m = 1 pair are the Condon-Shortley phase and flip the sign of some off-diagonal elements.)

e3nn (0.5+, ``o3.spherical_harmonics``) uses y as the polar axis; its components are
l = 1: ``x, y, z``; l = 2: ``xz, xy, y^2 - (x^2 + z^2)/2, yz, (z^2 - x^2)/2`` (each with its
normalisation). :func:`qe_to_e3nn` gives the orthogonal matrix ``C`` with
``Y_qe(r) = C @ Y_e3nn(r)``. For l = 1 it is a signed permutation; for l = 2 the ``3z^2 - r^2`` and
``x^2 - y^2`` functions are mixtures of e3nn's components 2 and 4 (angles of 120 degrees).

Rotations: if the crystal is rotated by ``R`` (Cartesian, r -> R r), an occupation matrix
transforms as ``n -> D n D^T`` with ``Y(R r) = D(R) Y(r)``; in QE's basis
``D_qe(R) = C D_e3nn(R) C^T`` (:func:`wigner_d_qe`). A symmetric (2l+1) x (2l+1) matrix in
e3nn's basis splits into the even irreps of l x l: ``0e + 2e`` (l = 1) and ``0e + 2e + 4e``
(l = 2), via Clebsch-Gordan coefficients (``o3.wigner_3j``) scaled to an orthonormal map, so the
Frobenius norm of the matrix equals the norm of its irreps vector. Tests:
``tests/unit/hubbard/test_ml_irreps.py`` (explicit polynomials on random points, rotations).
"""

from __future__ import annotations

import math
from functools import cache

import torch
from e3nn import o3

from matdisco.core.errors import InputError


def qe_real_harmonics(l: int, xyz: torch.Tensor) -> torch.Tensor:
    """QE's real harmonics of degree ``l`` (1 or 2) at unit vectors ``xyz`` [..., 3] -> [..., 2l+1].

    Explicit polynomials, orthonormal on the unit sphere (integral of Y_m Y_m' = delta), in QE's
    m order and signs. Independent of e3nn: the reference the mapping is checked against.
    """
    x, y, z = xyz.unbind(-1)
    if l == 1:
        c = math.sqrt(3.0 / (4.0 * math.pi))
        return c * torch.stack([z, -x, -y], dim=-1)
    if l == 2:
        c = math.sqrt(15.0 / (4.0 * math.pi))
        return torch.stack(
            [
                math.sqrt(5.0 / (16.0 * math.pi)) * (3.0 * z**2 - (x**2 + y**2 + z**2)),
                -c * x * z,
                -c * y * z,
                0.5 * c * (x**2 - y**2),
                c * x * y,
            ],
            dim=-1,
        )
    raise InputError(f"angular momentum l = {l}", expected="1 (p) or 2 (d)")


_S3 = math.sqrt(3.0) / 2.0
_QE_TO_E3NN = {
    # rows: QE functions; columns: e3nn components (x, y, z)
    1: ((0.0, 0.0, 1.0), (-1.0, 0.0, 0.0), (0.0, -1.0, 0.0)),
    # columns: e3nn (xz, xy, y^2-(x^2+z^2)/2, yz, (z^2-x^2)/2)
    2: (
        (0.0, 0.0, -0.5, 0.0, _S3),  # 3z^2 - r^2
        (-1.0, 0.0, 0.0, 0.0, 0.0),  # -xz
        (0.0, 0.0, 0.0, -1.0, 0.0),  # -yz
        (0.0, 0.0, -_S3, 0.0, -0.5),  # x^2 - y^2
        (0.0, 1.0, 0.0, 0.0, 0.0),  # xy
    ),
}


def qe_to_e3nn(l: int, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Orthogonal ``C`` [2l+1, 2l+1] with ``Y_qe = C @ Y_e3nn`` (same normalisation on both sides)."""
    if l not in _QE_TO_E3NN:
        raise InputError(f"angular momentum l = {l}", expected="1 (p) or 2 (d)")
    return torch.tensor(_QE_TO_E3NN[l], dtype=dtype or torch.get_default_dtype())


def wigner_d_qe(l: int, rotation: torch.Tensor) -> torch.Tensor:
    """Wigner-D of QE's real harmonics: ``Y_qe(R r) = D @ Y_qe(r)`` for the Cartesian rotation ``R`` [3, 3]."""
    c = qe_to_e3nn(l, rotation.dtype)
    return c @ o3.Irrep(l, (-1) ** l).D_from_matrix(rotation) @ c.T


def matrix_irreps(l: int) -> o3.Irreps:
    """Irreps of a symmetric (2l+1) x (2l+1) matrix of a shell of angular momentum ``l``."""
    return o3.Irreps([(1, (big_l, 1)) for big_l in range(0, 2 * l + 1, 2)])


@cache
def _coupling(l: int) -> torch.Tensor:
    """Orthonormal map [dim irreps, 2l+1, 2l+1] (float64) from an e3nn-basis matrix to its even irreps."""
    blocks = [
        math.sqrt(2 * big_l + 1) * o3.wigner_3j(l, l, big_l, dtype=torch.float64).permute(2, 0, 1)
        for big_l in range(0, 2 * l + 1, 2)
    ]
    return torch.cat(blocks, dim=0)


def to_e3nn_basis(matrix: torch.Tensor, l: int) -> torch.Tensor:
    """Matrix [..., m, m] in QE's basis -> the same operator in e3nn's basis (``C^T n C``)."""
    c = qe_to_e3nn(l, matrix.dtype)
    return c.T @ matrix @ c


def occupation_to_irreps(matrix: torch.Tensor, l: int) -> torch.Tensor:
    """Occupation matrix [..., m, m] (QE basis, m = 2l+1) -> irreps vector [..., dim] of :func:`matrix_irreps`.

    The matrix is symmetrised first (pw.x prints three decimals, so tiny asymmetries occur).
    """
    m = 2 * l + 1
    if matrix.shape[-2:] != (m, m):
        raise InputError(f"occupation matrix of shape {tuple(matrix.shape)}", expected=f"(..., {m}, {m}) for l = {l}")
    symmetric = 0.5 * (matrix + matrix.transpose(-1, -2))
    e3 = to_e3nn_basis(symmetric, l)
    return torch.einsum("kij,...ij->...k", _coupling(l).to(matrix.dtype), e3)


def irreps_to_occupation(vector: torch.Tensor, l: int) -> torch.Tensor:
    """Inverse of :func:`occupation_to_irreps` for symmetric matrices: irreps [..., dim] -> [..., m, m] (QE basis)."""
    e3 = torch.einsum("kij,...k->...ij", _coupling(l).to(vector.dtype), vector)
    c = qe_to_e3nn(l, vector.dtype)
    return c @ e3 @ c.T
