"""Equivariant Lightning modules for Hubbard U (per site) and V (per pair), in eV.

Inputs are the spin-flip-invariant irreps of :mod:`matdisco.hubbard.features` plus scalars
(species one-hot, optionally U_in / V_in, for V a Gaussian radial basis of the distance). A
:class:`ScalarNet` maps them to one scalar: a linear layer into the hidden irreps, then
``n_layers`` residual blocks of a fully connected tensor product of the hidden features with
themselves followed by a gated nonlinearity (SiLU on scalars, sigmoid gates on the l > 0
channels), then a linear layer onto ``0e``. Every operation is equivariant, so the output is
invariant under rotations of the occupation matrices.

The prediction is ``prior + scale * net(...)``. The prior is a line per species (V: per ordered
species pair) in the scalar inputs, ``prior_eV[group] . (1, U_in or V_in when used, distance for V)``,
fitted on the training rows (``baselines.linear_prior``: the pooled linear baseline), and ``scale_eV``
is the spread of the training targets around it, so the network learns a dimensionless correction
to a line and U_in acts on the output directly, not only through the network's nonlinearities. The
correction starts at zero (the network's last layer is zero; ``zero_init_correction``), so an
untrained model is its prior; with the schedule's full sanity check (``num_sanity_val_steps: -1``)
the prior competes with every epoch for the best validation score (``core.training.RestoreBestWeights``).
All sizes come from ``conf/model/hubbard_{u,v}.yaml``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytorch_lightning as pl
import torch
from e3nn import o3
from e3nn.nn import Gate
from torch import nn

from matdisco.hubbard.features import site_irreps


class ScalarNet(nn.Module):
    """Irreps ``irreps_in`` -> one invariant scalar through gated tensor-product blocks."""

    def __init__(self, irreps_in: o3.Irreps, hidden_irreps: str, n_layers: int):
        super().__init__()
        hidden = o3.Irreps(hidden_irreps).simplify().sort().irreps
        scalars = o3.Irreps([(mul, ir) for mul, ir in hidden if ir.l == 0])
        gated = o3.Irreps([(mul, ir) for mul, ir in hidden if ir.l > 0])
        self.lin_in = o3.Linear(o3.Irreps(irreps_in), hidden)
        self.tps = nn.ModuleList()
        self.gates = nn.ModuleList()
        for _ in range(n_layers):
            gate = Gate(scalars, [nn.functional.silu], o3.Irreps(f"{gated.num_irreps}x0e"), [torch.sigmoid], gated)
            self.tps.append(o3.FullyConnectedTensorProduct(hidden, hidden, gate.irreps_in))
            self.gates.append(gate)
        self.lin_out = o3.Linear(hidden, o3.Irreps("0e"))

    def zero_output(self) -> None:
        """Zero the last layer: the network outputs 0 until trained."""
        with torch.no_grad():
            for parameter in self.lin_out.parameters():
                parameter.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[n, irreps_in.dim] -> [n]."""
        h = self.lin_in(x)
        for tp, gate in zip(self.tps, self.gates):
            h = h + gate(tp(h, h))
        return self.lin_out(h)[:, 0]


class HubbardModule(pl.LightningModule):
    """Shared optimiser, loss, prior line and output scaling; subclasses build the inputs of :class:`ScalarNet`."""

    n_geometric_inputs = 0  # prior line inputs besides the constant and value_in (V: the distance)

    def __init__(
        self,
        species: Sequence[str],
        shells: Sequence[int] = (1, 2),
        hidden_irreps: str = "16x0e+8x2e+4x4e",
        n_layers: int = 2,
        use_hubbard_in: bool = True,
        lr: float = 3e-3,
        weight_decay: float = 1e-5,
        prior_eV: Sequence[Sequence[float]] | None = None,
        scale_eV: float = 1.0,
        zero_init_correction: bool = True,
    ):
        super().__init__()
        self.species = list(species)
        self.shells = [int(l) for l in shells]
        self.use_hubbard_in = bool(use_hubbard_in)
        self.hidden_irreps = hidden_irreps
        self.n_layers = int(n_layers)
        self.lr = lr
        self.weight_decay = weight_decay
        self.scale = float(scale_eV)
        self.zero_init_correction = bool(zero_init_correction)
        self.site_irreps = site_irreps(self.shells)
        self.n_scalars = 1 if self.use_hubbard_in else 0
        shape = (self.n_prior_groups(), 1 + self.n_scalars + self.n_geometric_inputs)
        prior = torch.zeros(shape) if prior_eV is None else torch.tensor(prior_eV, dtype=torch.get_default_dtype())
        if tuple(prior.shape) != shape:
            raise ValueError(f"prior_eV has shape {tuple(prior.shape)}, expected {shape} (groups, 1 + line inputs)")
        self.register_buffer("prior", prior)

    def correction_net(self, irreps_in: o3.Irreps) -> ScalarNet:
        """The network of the correction to the prior, its last layer zeroed when ``zero_init_correction``
        (an untrained model is then its prior; false keeps e3nn's random initialisation)."""
        net = ScalarNet(irreps_in, self.hidden_irreps, self.n_layers)
        if self.zero_init_correction:
            net.zero_output()
        return net

    def one_hot(self, z: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        return nn.functional.one_hot(z, len(self.species)).to(dtype)

    def n_prior_groups(self) -> int:
        """Rows of the prior: one per species (U)."""
        return len(self.species)

    def prior_group(self, batch) -> torch.Tensor:
        """Each point's row of the prior [n]: its species index."""
        return batch.z

    def line_inputs(self, batch) -> torch.Tensor:
        """The prior line's inputs [n, 1 + n_scalars]: 1, then U_in (V_in) when used."""
        ones = torch.ones(batch.scalars.shape[0], 1, dtype=batch.scalars.dtype)
        return torch.cat([ones, batch.scalars], dim=-1)

    def prior_value_eV(self, batch) -> torch.Tensor:
        """The prior line's value [n] in eV."""
        inputs = self.line_inputs(batch)
        return torch.sum(self.prior.to(inputs.dtype)[self.prior_group(batch)] * inputs, dim=-1)

    def predict_eV(self, batch) -> torch.Tensor:
        """Predicted U or V [n] in eV."""
        raise NotImplementedError

    def forward(self, batch) -> torch.Tensor:
        return self.predict_eV(batch)

    def _step(self, batch, stage: str) -> torch.Tensor:
        pred = self(batch)
        loss = torch.mean(((pred - batch.y) / self.scale) ** 2)
        n = len(batch.y)
        self.log(f"{stage}/loss", loss, batch_size=n, prog_bar=stage == "val", on_epoch=True, on_step=False)
        self.log(f"{stage}/mae_eV", torch.mean(torch.abs(pred - batch.y)), batch_size=n, on_epoch=True, on_step=False)
        return loss

    def training_step(self, batch, batch_idx):
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx):
        return self._step(batch, "val")

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)


class HubbardU(HubbardModule):
    """On-site U of one Hubbard site from its occupations (+ species, + U_in)."""

    def __init__(
        self,
        species: Sequence[str],
        shells: Sequence[int] = (1, 2),
        hidden_irreps: str = "16x0e+8x2e+4x4e",
        n_layers: int = 2,
        use_hubbard_in: bool = True,
        lr: float = 3e-3,
        weight_decay: float = 1e-5,
        prior_eV: Sequence[Sequence[float]] | None = None,
        scale_eV: float = 1.0,
        zero_init_correction: bool = True,
    ):
        super().__init__(
            species,
            shells=shells,
            hidden_irreps=hidden_irreps,
            n_layers=n_layers,
            use_hubbard_in=use_hubbard_in,
            lr=lr,
            weight_decay=weight_decay,
            prior_eV=prior_eV,
            scale_eV=scale_eV,
            zero_init_correction=zero_init_correction,
        )
        self.save_hyperparameters()
        irreps_in = self.site_irreps + o3.Irreps(f"{len(self.species) + self.n_scalars}x0e")
        self.net = self.correction_net(irreps_in)

    def predict_eV(self, batch) -> torch.Tensor:
        x = torch.cat([batch.x, self.one_hot(batch.z, batch.x.dtype), batch.scalars], dim=-1)
        return self.prior_value_eV(batch) + self.scale * self.net(x)


class HubbardV(HubbardModule):
    """Inter-site V of a pair from both sites' occupations and species, the distance (+ V_in)."""

    n_geometric_inputs = 1  # the distance

    def __init__(
        self,
        species: Sequence[str],
        n_rbf: int = 8,
        r_min_angstrom: float = 1.5,
        r_max_angstrom: float = 3.5,
        shells: Sequence[int] = (1, 2),
        hidden_irreps: str = "16x0e+8x2e+4x4e",
        n_layers: int = 2,
        use_hubbard_in: bool = True,
        lr: float = 3e-3,
        weight_decay: float = 1e-5,
        prior_eV: Sequence[Sequence[float]] | None = None,
        scale_eV: float = 1.0,
        zero_init_correction: bool = True,
    ):
        super().__init__(
            species,
            shells=shells,
            hidden_irreps=hidden_irreps,
            n_layers=n_layers,
            use_hubbard_in=use_hubbard_in,
            lr=lr,
            weight_decay=weight_decay,
            prior_eV=prior_eV,
            scale_eV=scale_eV,
            zero_init_correction=zero_init_correction,
        )
        self.save_hyperparameters()
        self.register_buffer("centers", torch.linspace(r_min_angstrom, r_max_angstrom, n_rbf))
        self.width = (r_max_angstrom - r_min_angstrom) / max(n_rbf - 1, 1)
        n_scalar = 2 * len(self.species) + n_rbf + self.n_scalars
        irreps_in = self.site_irreps + self.site_irreps + o3.Irreps(f"{n_scalar}x0e")
        self.net = self.correction_net(irreps_in)

    def n_prior_groups(self) -> int:
        """Rows of the prior: one per ordered species pair (i, j)."""
        return len(self.species) ** 2

    def prior_group(self, batch) -> torch.Tensor:
        """Each pair's row of the prior [n]: z_i * n_species + z_j."""
        return batch.z_i * len(self.species) + batch.z_j

    def line_inputs(self, batch) -> torch.Tensor:
        """The prior line's inputs [n, 2 + n_scalars]: 1, V_in when used, the distance (angstrom)."""
        inputs = super().line_inputs(batch)
        return torch.cat([inputs, batch.distance[:, None].to(inputs.dtype)], dim=-1)

    def radial(self, distance: torch.Tensor) -> torch.Tensor:
        """Gaussian radial basis [n, n_rbf] of distances [n] in angstrom."""
        return torch.exp(-(((distance[:, None] - self.centers.to(distance.dtype)) / self.width) ** 2))

    def predict_eV(self, batch) -> torch.Tensor:
        dtype = batch.x_i.dtype
        x = torch.cat(
            [
                batch.x_i,
                batch.x_j,
                self.one_hot(batch.z_i, dtype),
                self.one_hot(batch.z_j, dtype),
                self.radial(batch.distance),
                batch.scalars,
            ],
            dim=-1,
        )
        return self.prior_value_eV(batch) + self.scale * self.net(x)
