"""Hubbard U/V models: invariance under rotations with and without parity (float64, 1e-10 eV), spin-flip
invariance, a tiny model trains."""

import pytest
import pytorch_lightning as pl
import torch
from e3nn import o3
from torch_geometric.data import Batch, Data
from torch_geometric.loader import DataLoader

from matdisco.hubbard.features import site_irreps, site_vector, spin_invariant
from matdisco.hubbard.irreps import wigner_d_qe
from matdisco.hubbard.models import HubbardU, HubbardV

torch.set_num_threads(1)  # the shared machine is loaded: several threads thrash (conf/config.yaml)

DTYPE = torch.float64
SHELLS = (1, 2)
SPECIES = ["Co", "O"]
SMALL = dict(shells=SHELLS, hidden_irreps="4x0e+2x2e+1x4e", n_layers=2)


def _occupation(l: int, gen: torch.Generator) -> torch.Tensor:
    a = torch.randn(2 * l + 1, 2 * l + 1, generator=gen, dtype=DTYPE)
    return 0.1 * (a @ a.T) + 0.5 * torch.eye(2 * l + 1, dtype=DTYPE)


def _rotate(n: torch.Tensor, rotation: torch.Tensor) -> torch.Tensor:
    d = wigner_d_qe((n.shape[-1] - 1) // 2, rotation)
    return d @ n @ d.T


def _u_batch(sites, z, u_in):
    return Batch.from_data_list(
        [
            Data(
                x=site_vector(up, down, SHELLS)[None],
                z=torch.tensor([zi]),
                scalars=torch.tensor([[ui]], dtype=DTYPE),
                y=torch.zeros(1, dtype=DTYPE),
            )
            for (up, down), zi, ui in zip(sites, z, u_in)
        ]
    )


def _v_batch(pairs, distance):
    return Batch.from_data_list(
        [
            Data(
                x_i=site_vector(*si, SHELLS)[None],
                x_j=site_vector(*sj, SHELLS)[None],
                z_i=torch.tensor([0]),
                z_j=torch.tensor([1]),
                distance=torch.tensor([d], dtype=DTYPE),
                scalars=torch.tensor([[0.5]], dtype=DTYPE),
                y=torch.zeros(1, dtype=DTYPE),
            )
            for (si, sj), d in zip(pairs, distance)
        ]
    )


@pytest.fixture
def sites():
    gen = torch.Generator().manual_seed(0)
    return [
        (_occupation(2, gen), _occupation(2, gen)),
        (_occupation(1, gen), _occupation(1, gen)),
        (_occupation(2, gen), _occupation(2, gen)),
    ]


def test_site_features_have_the_declared_irreps(sites):
    x = site_vector(*sites[0], SHELLS)
    assert x.shape == (site_irreps(SHELLS).dim,)


@pytest.fixture(autouse=True)
def float64_default():
    """float64 as torch's default dtype during each test: e3nn builds its so(3) generators (hence every
    Wigner D) and coupling coefficients in the default dtype, so in float32 invariance stops near 1e-7."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(DTYPE)
    yield
    torch.set_default_dtype(previous)


def _group_elements(n: int = 6, seed: int = 1) -> list[torch.Tensor]:
    """``n`` random rotations and the same with parity (det -1), float64, as e3nn's assert_equivariant draws."""
    torch.manual_seed(seed)
    rotations = [o3.rand_matrix(dtype=DTYPE) for _ in range(n)]
    return rotations + [-r for r in rotations]


def _rotate_site(site, element):
    """Occupations of a site after ``element``: an l shell's matrix goes to D n D^T with D of the proper
    part (inversion multiplies D by (-1)^l, which cancels in D n D^T)."""
    proper = element * torch.sign(torch.linalg.det(element))
    return tuple(_rotate(n, proper) for n in site)


def test_site_features_rotate_with_the_irreps_d(sites):
    for element in _group_elements():
        for up, down in sites[:1]:
            x = site_vector(up, down, SHELLS)
            x_rot = site_vector(*_rotate_site((up, down), element), SHELLS)
            d = site_irreps(SHELLS).D_from_matrix(element).to(DTYPE)
            assert torch.allclose(x_rot, d @ x, atol=1e-12, rtol=0), "irreps (with their parity) do not rotate x"


def _randomise_output(model, seed):
    """A random last layer (a new model's is zero), so the network's part of the prediction is not zero."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.net.lin_out.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=gen, dtype=parameter.dtype))
    return model


def test_u_model_rotation_parity_and_spin_flip_invariant(sites):
    torch.manual_seed(2)
    model = _randomise_output(HubbardU(SPECIES, prior_eV=[[6.0, 0.5], [8.0, 0.0]], scale_eV=1.5, **SMALL), 12).eval()
    z, u_in = [0, 1, 0], [0.0, 0.0, 4.0]
    with torch.no_grad():
        base = model(_u_batch(sites, z, u_in))
        flipped = model(_u_batch([(d, u) for u, d in sites], z, u_in))
        for element in _group_elements():
            rotated = model(_u_batch([_rotate_site(s, element) for s in sites], z, u_in))
            assert torch.allclose(rotated, base, atol=1e-10, rtol=0)
    assert base.abs().max() > 1.0  # not trivially zero
    assert torch.allclose(flipped, base, atol=1e-10, rtol=0)
    # the prediction does see the anisotropy: changing an off-diagonal element changes it
    up, down = sites[0]
    bumped = up.clone()
    bumped[1, 4] += 0.05
    bumped[4, 1] += 0.05
    with torch.no_grad():
        changed = model(_u_batch([(bumped, down)], [0], [0.0]))
    assert not torch.allclose(changed, base[:1], atol=1e-9)


def test_v_model_rotation_parity_and_spin_flip_invariant(sites):
    torch.manual_seed(3)
    model = _randomise_output(HubbardV(SPECIES, n_rbf=4, prior_eV=[[1.0, 0.2, -0.1]] * 4, scale_eV=0.3, **SMALL), 13)
    model.eval()
    pairs = [(sites[0], sites[1]), (sites[2], sites[1])]
    distance = [1.9, 2.1]
    flip = lambda s: (s[1], s[0])  # noqa: E731
    with torch.no_grad():
        base = model(_v_batch(pairs, distance))
        flipped = model(_v_batch([(flip(a), flip(b)) for a, b in pairs], distance))
        for element in _group_elements():
            rotated = model(
                _v_batch([(_rotate_site(a, element), _rotate_site(b, element)) for a, b in pairs], distance)
            )
            assert torch.allclose(rotated, base, atol=1e-10, rtol=0)
    assert torch.allclose(flipped, base, atol=1e-10, rtol=0)


def test_an_untrained_u_model_is_its_prior_line(sites):
    model = HubbardU(SPECIES, prior_eV=[[6.0, 0.5], [8.0, -0.25]], scale_eV=1.5, **SMALL).eval()
    with torch.no_grad():
        pred = model(_u_batch(sites, [0, 1, 0], [2.0, 4.0, 0.0]))
    torch.testing.assert_close(pred, torch.tensor([7.0, 7.0, 6.0], dtype=DTYPE))


def test_without_zero_init_the_untrained_correction_is_not_zero(sites):
    """``zero_init_correction=False`` keeps e3nn's random last layer (the ablation's random_init)."""
    torch.manual_seed(4)
    model = HubbardU(SPECIES, prior_eV=[[6.0, 0.5], [8.0, -0.25]], scale_eV=1.5, zero_init_correction=False, **SMALL)
    with torch.no_grad():
        pred = model.eval()(_u_batch(sites, [0, 1, 0], [2.0, 4.0, 0.0]))
    assert (pred - torch.tensor([7.0, 7.0, 6.0], dtype=DTYPE)).abs().min() > 1e-6
    assert model.hparams.zero_init_correction is False


def test_an_untrained_v_model_is_the_prior_line_of_its_pair(sites):
    # rows: (Co, Co), (Co, O), (O, Co), (O, O) with SPECIES = [Co, O]; the batch's pairs are (Co, O)
    prior = [[0.0, 0.0, 0.0], [1.0, 0.5, -0.2], [9.0, 9.0, 9.0], [9.0, 9.0, 9.0]]
    model = HubbardV(SPECIES, n_rbf=4, prior_eV=prior, scale_eV=0.3, **SMALL).eval()
    batch = _v_batch([(sites[0], sites[1]), (sites[2], sites[1])], [2.0, 2.5])
    batch.scalars = torch.tensor([[0.4], [0.0]], dtype=DTYPE)
    with torch.no_grad():
        pred = model(batch)
    torch.testing.assert_close(pred, torch.tensor([1.0 + 0.2 - 0.4, 1.0 - 0.5], dtype=DTYPE))


def test_a_prior_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="prior_eV has shape"):
        HubbardV(SPECIES, n_rbf=4, prior_eV=[[1.0, 0.5, 0.1]] * 2, **SMALL)


def test_spin_invariant_block_is_symmetric_in_the_spins(sites):
    up, down = sites[0]
    assert torch.allclose(spin_invariant(up, down, 2), spin_invariant(down, up, 2), atol=1e-12)


def test_tiny_u_model_trains():
    pl.seed_everything(0, verbose=False)
    gen = torch.Generator().manual_seed(5)
    points = []
    for _ in range(16):
        up, down = _occupation(2, gen), _occupation(2, gen)
        target = 4.0 + 3.0 * float(torch.trace(up + down) - 5.0)  # synthetic: U from the total occupation
        points.append(
            Data(
                x=site_vector(up, down, SHELLS).float()[None],
                z=torch.tensor([0]),
                scalars=torch.zeros(1, 1),
                y=torch.tensor([target], dtype=torch.float32),
            )
        )
    model = HubbardU(SPECIES, prior_eV=[[4.0, 0.0], [0.0, 0.0]], scale_eV=1.0, lr=2e-2, **SMALL)
    loader = DataLoader(points, batch_size=16, shuffle=False)
    batch = Batch.from_data_list(points)
    with torch.no_grad():
        before = torch.mean((model(batch) - batch.y) ** 2).item()
    trainer = pl.Trainer(
        max_epochs=25, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False
    )
    trainer.fit(model, train_dataloaders=loader)
    with torch.no_grad():
        after = torch.mean((model(batch) - batch.y) ** 2).item()
    assert after < 0.3 * before


def test_batched_table_features_match_single_site(sites):
    import pandas as pd

    from matdisco.hubbard import keys as K
    from matdisco.hubbard.features import u_points

    rows = pd.DataFrame(
        [
            {
                K.SPECIES: s,
                K.N_ORBITALS: up.shape[0],
                K.OCC_UP: up.flatten().tolist(),
                K.OCC_DOWN: down.flatten().tolist(),
                K.U_IN: 1.0,
            }
            for s, (up, down) in zip(["Co", "O", "Co"], sites)
        ]
    )
    points = u_points(rows, SPECIES, SHELLS, True, dtype=DTYPE)
    for point, (up, down) in zip(points, sites):
        assert torch.allclose(point.x[0], site_vector(up, down, SHELLS), atol=1e-12)
    assert [int(p.z) for p in points] == [0, 1, 0] and torch.isnan(points[0].y).all()
