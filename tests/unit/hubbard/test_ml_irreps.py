"""QE real harmonics -> e3nn mapping and the irreps of occupation matrices, in float64."""

import math

import pytest
import torch
from e3nn import o3

from matdisco.hubbard import irreps as I

torch.set_num_threads(1)  # the shared machine is loaded: several threads thrash (conf/config.yaml)

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
    ylmr2_l2 = [
        c2 * q20,
        c2 * math.sqrt(2) * q21 * math.cos(phi),
        c2 * math.sqrt(2) * q21 * math.sin(phi),
        c2 * math.sqrt(2) * q22 * math.cos(2 * phi),
        c2 * math.sqrt(2) * q22 * math.sin(2 * phi),
    ]
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


# Co 3d occupation of LiCoO2 from pw.x (datasets/hubbard/records.jsonl, LiCoO2_strain+0.0pct/iter_0; QE order,
# three decimals). The trigonal axis of the cell is z; the crystal maps onto itself under C3 about z and C2 about x.
LICOO2_CO_3D = [
    [0.958, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.596, 0.0, -0.0, -0.267],
    [0.0, 0.0, 0.596, -0.267, 0.0],
    [0.0, -0.0, -0.267, 0.747, -0.0],
    [0.0, -0.267, 0.0, -0.0, 0.747],
]


def _axis_rotation(axis, angle):
    axis = torch.tensor(axis, dtype=DTYPE) / torch.linalg.norm(torch.tensor(axis, dtype=DTYPE))
    k = torch.tensor([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]], dtype=DTYPE)
    return torch.eye(3, dtype=DTYPE) + math.sin(angle) * k + (1 - math.cos(angle)) * k @ k


def test_real_pw_occupation_is_invariant_under_the_site_symmetry():
    n = torch.tensor(LICOO2_CO_3D, dtype=DTYPE)
    for rotation in (_axis_rotation([0, 0, 1], 2 * math.pi / 3), _axis_rotation([1, 0, 0], math.pi)):
        d = I.wigner_d_qe(2, rotation)
        assert torch.allclose(d @ n @ d.T, n, atol=2e-3)
    # the m = -2..2 order of other codes (xy, yz, z^2, xz, x^2-y^2) read as QE's breaks the symmetry
    wrong = torch.eye(5, dtype=DTYPE)[[4, 2, 0, 1, 3]]
    m = wrong @ n @ wrong.T
    d = I.wigner_d_qe(2, _axis_rotation([0, 0, 1], 2 * math.pi / 3))
    assert (d @ m @ d.T - m).abs().max() > 0.1
