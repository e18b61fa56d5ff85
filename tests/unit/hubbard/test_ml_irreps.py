"""QE real harmonics -> e3nn mapping and the irreps of occupation matrices, in float64."""

import math

import pytest
import torch
from e3nn import o3

from matdisco.hubbard import irreps as I

DTYPE = torch.float64


def _points(n: int = 200, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    xyz = torch.randn(n, 3, generator=gen, dtype=DTYPE)
    return xyz / xyz.norm(dim=-1, keepdim=True)


def _fit(basis_a: torch.Tensor, basis_b: torch.Tensor) -> torch.Tensor:
    """Least-squares A with basis_a = basis_b @ A.T (rows: points)."""
    return torch.linalg.lstsq(basis_b, basis_a).solution.T


@pytest.mark.parametrize("l", [1, 2])
def test_qe_harmonics_are_orthonormal_on_the_sphere(l):
    # Monte-Carlo-free check: Lebedev-like exactness is not needed, a large random sample suffices to 1e-2.
    xyz = _points(200_000, seed=1)
    y = I.qe_real_harmonics(l, xyz)
    gram = 4 * math.pi * (y.T @ y) / len(xyz)
    assert torch.allclose(gram, torch.eye(2 * l + 1, dtype=DTYPE), atol=2e-2)


def test_qe_order_matches_ylmr2_polynomials():
    # Values of QE's ylmr2 (Condon-Shortley Q_lm, cos/sin pairs) written out at one direction.
    x, y, z = 0.48, -0.6, 0.64  # unit vector
    xyz = torch.tensor([[x, y, z]], dtype=DTYPE)
    cost, phi = z, math.atan2(y, x)
    sint = math.sqrt(1 - cost**2)
    q11 = -sint / math.sqrt(2)
    q21 = cost * math.sqrt(3) * q11
    q22 = -math.sqrt(3) / math.sqrt(4) * sint * q11
    c1, c2 = math.sqrt(3 / (4 * math.pi)), math.sqrt(5 / (4 * math.pi))
    ylmr2_l1 = [c1 * cost, c1 * math.sqrt(2) * q11 * math.cos(phi), c1 * math.sqrt(2) * q11 * math.sin(phi)]
    q20 = 0.5 * (3 * cost**2 - 1)
    ylmr2_l2 = [c2 * q20, c2 * math.sqrt(2) * q21 * math.cos(phi), c2 * math.sqrt(2) * q21 * math.sin(phi),
                c2 * math.sqrt(2) * q22 * math.cos(2 * phi), c2 * math.sqrt(2) * q22 * math.sin(2 * phi)]
    assert torch.allclose(I.qe_real_harmonics(1, xyz)[0], torch.tensor(ylmr2_l1, dtype=DTYPE), atol=1e-12)
    assert torch.allclose(I.qe_real_harmonics(2, xyz)[0], torch.tensor(ylmr2_l2, dtype=DTYPE), atol=1e-12)


@pytest.mark.parametrize("l", [1, 2])
def test_mapping_matches_explicit_harmonics(l):
    xyz = _points()
    y_qe = I.qe_real_harmonics(l, xyz)
    y_e3nn = o3.spherical_harmonics(l, xyz, normalize=True, normalization="integral")
    c = I.qe_to_e3nn(l, DTYPE)
    assert torch.allclose(y_qe, y_e3nn @ c.T, atol=1e-12)
    assert torch.allclose(c @ c.T, torch.eye(2 * l + 1, dtype=DTYPE), atol=1e-12)
    # and the table is the least-squares fit (no other orthogonal map would do)
    assert torch.allclose(_fit(y_qe, y_e3nn), c, atol=1e-10)


@pytest.mark.parametrize("l", [1, 2])
def test_wigner_d_of_qe_harmonics(l):
    torch.manual_seed(3)
    rotation = o3.rand_matrix(dtype=DTYPE)
    xyz = _points()
    d = I.wigner_d_qe(l, rotation)
    # Y_qe(R r) = D Y_qe(r), D fitted from the explicit polynomials alone
    fitted = _fit(I.qe_real_harmonics(l, xyz @ rotation.T), I.qe_real_harmonics(l, xyz))
    assert torch.allclose(fitted, d, atol=1e-10)


@pytest.mark.parametrize("l, irreps", [(1, "0e+2e"), (2, "0e+2e+4e")])
def test_rotated_matrix_gives_rotated_irreps(l, irreps):
    torch.manual_seed(4)
    assert I.matrix_irreps(l) == o3.Irreps(irreps)
    a = torch.randn(2 * l + 1, 2 * l + 1, dtype=DTYPE)
    n = a @ a.T
    rotation = o3.rand_matrix(dtype=DTYPE)
    d = I.wigner_d_qe(l, rotation)
    x = I.occupation_to_irreps(n, l)
    x_rot = I.occupation_to_irreps(d @ n @ d.T, l)
    d_irreps = I.matrix_irreps(l).D_from_matrix(rotation).to(DTYPE)
    assert torch.allclose(x_rot, d_irreps @ x, atol=1e-10)
    # orthonormal and invertible
    assert torch.allclose(x.norm(), n.norm(), atol=1e-10)
    assert torch.allclose(I.irreps_to_occupation(x, l), n, atol=1e-10)
    # the scalar is the trace / sqrt(2l+1)
    assert torch.allclose(x[0], torch.trace(n) / math.sqrt(2 * l + 1), atol=1e-10)


def test_wrong_shape_names_expectation():
    with pytest.raises(Exception, match="5, 5"):
        I.occupation_to_irreps(torch.zeros(3, 3), 2)
