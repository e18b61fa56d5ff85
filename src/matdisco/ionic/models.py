"""Lightning modules for ln(sigma) of ionic liquids with the talk's per-atom temperature law.

Both models predict, for every atom i, three numbers (A_i, B_i, C_i) and sum them over the
formula unit:  ln(sigma / 1 S m^-1) = sum_i [A_i + B_i tau + C_i tau^2],  tau = T_ref / T - 1.
``tau`` is 1/T shifted and scaled for conditioning; it is an exact reparametrisation of
A + B/T + C/T^2 (see :func:`matdisco.ionic.params_table.to_inverse_temperature_form`).

- :class:`AdditiveConductivity`: (A, B, C) is a learned vector per atom type (the talk's ansatz).
- :class:`GraphConductivity`: (A, B, C) comes from each atom's environment through message passing
  on the molecular graph (GINE layers), so chemically similar atoms share strength.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch import nn
from torch_geometric.nn import GINEConv
from torch_geometric.utils import scatter


def temperature_law(abc: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    """ln sigma [n] from summed coefficients ``abc`` [n, 3] and scaled inverse temperature ``tau`` [n]."""
    return abc[:, 0] + abc[:, 1] * tau + abc[:, 2] * tau**2


class ConductivityModule(pl.LightningModule):
    """Shared loss, regularisation, optimiser and the temperature law; subclasses give atom terms.

    Batches are ``(graphs, point_graph, temperature_K, ln_sigma)``: a PyG ``Batch`` of formula
    units, the graph index of each point [n_points] (long), temperature in K [n_points], target
    ln(sigma / 1 S m^-1) [n_points].

    ``weighting``: ``point`` (every measurement counts once) or ``il`` (every IL counts once, its
    points sharing a weight of 1 / n_points, so ILs measured at many temperatures do not dominate).
    ``terms_l2``: penalty on the mean squared per-atom (A, B, C) of the batch; it keeps atom terms
    that the data do not constrain (B and C of atoms only seen at one temperature) near zero.
    ``molar_volume``: the atom terms give ln Lambda and the graph's ``ln_conc`` [n_graphs]
    (ln(c / 1 mol L^-1), :mod:`matdisco.ionic.molar_volume`) is added to A: sigma = Lambda c.
    """

    def __init__(
        self,
        lr: float,
        l2: float,
        loss: str,
        huber_delta: float,
        temperature_reference_K: float,
        weighting: str,
        terms_l2: float = 0.0,
        molar_volume: bool = False,
    ):
        super().__init__()
        if loss not in ("mse", "huber"):
            raise ValueError(f"model.loss must be 'mse' or 'huber', got {loss!r}")
        if weighting not in ("point", "il"):
            raise ValueError(f"model.weighting must be 'point' or 'il', got {weighting!r}")
        self.molar_volume = molar_volume
        self.lr = lr
        self.l2 = l2
        self.terms_l2 = terms_l2
        self.weighting = weighting
        self.temperature_reference_K = temperature_reference_K
        self.criterion = (
            nn.MSELoss(reduction="none") if loss == "mse" else nn.HuberLoss(reduction="none", delta=huber_delta)
        )
        self._epoch_sums: dict[str, list] = {}  # stage -> [sum loss * n, sum rmse * n, n] over the epoch's batches

    def point_weights(self, point_graph: torch.Tensor) -> torch.Tensor:
        """Weight of each point in the loss [n_points], summing to 1."""
        if self.weighting == "point":
            return torch.full(point_graph.shape, 1.0 / len(point_graph))
        per_graph = torch.bincount(point_graph).float()
        weights = 1.0 / per_graph[point_graph]
        return weights / weights.sum()

    def atom_terms(self, graphs) -> torch.Tensor:
        """(A, B, C) of every atom, [n_atoms, 3]."""
        raise NotImplementedError

    def graph_terms(self, graphs) -> torch.Tensor:
        """(A, B, C) of each graph, [n_graphs, 3]: atom terms summed (+ ln c on A with ``molar_volume``)."""
        return self._sum_over_graphs(self.atom_terms(graphs), graphs)

    def _sum_over_graphs(self, atom_terms: torch.Tensor, graphs) -> torch.Tensor:
        """Per-atom terms [n_atoms, 3] summed per graph -> [n_graphs, 3], plus ``ln_conc`` on A when
        ``molar_volume``."""
        terms = scatter(atom_terms, graphs.batch, dim=0, dim_size=graphs.num_graphs, reduce="sum")
        if not self.molar_volume:
            return terms
        if getattr(graphs, "ln_conc", None) is None:
            raise ValueError("model.molar_volume=true needs graphs with ln_conc (molar_volume.attach_ln_concentration)")
        return terms + torch.nn.functional.pad(graphs.ln_conc[:, None], (0, 2))

    def tau(self, temperature_K: torch.Tensor) -> torch.Tensor:
        """Scaled inverse temperature T_ref / T - 1 (dimensionless)."""
        return self.temperature_reference_K / temperature_K - 1.0

    def forward(self, graphs, point_graph: torch.Tensor, temperature_K: torch.Tensor) -> torch.Tensor:
        """Predicted ln sigma of each point [n_points]."""
        return self.predict_from_terms(self.atom_terms(graphs), graphs, point_graph, temperature_K)

    def predict_from_terms(
        self, atom_terms: torch.Tensor, graphs, point_graph: torch.Tensor, temperature_K: torch.Tensor
    ) -> torch.Tensor:
        """ln sigma of each point [n_points] from per-atom terms [n_atoms, 3]: summed per graph, then
        the temperature law at each point's temperature (K); ``point_graph`` [n_points] indexes graphs."""
        return temperature_law(self._sum_over_graphs(atom_terms, graphs)[point_graph], self.tau(temperature_K))

    def _step(self, batch, stage: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Weighted data loss of the batch and its per-atom terms [n_atoms, 3]."""
        graphs, point_graph, temperature_K, target = batch
        atom_terms = self.atom_terms(graphs)
        pred = self.predict_from_terms(atom_terms, graphs, point_graph, temperature_K)
        loss = (self.point_weights(point_graph) * self.criterion(pred, target)).sum()
        rmse = torch.sqrt(torch.mean((pred - target) ** 2))
        sums = self._epoch_sums.setdefault(stage, [0.0, 0.0, 0])
        n = len(target)
        sums[0], sums[1], sums[2] = sums[0] + float(loss.detach()) * n, sums[1] + float(rmse.detach()) * n, sums[2] + n
        return loss, atom_terms

    def _log_epoch(self, stage: str) -> None:
        """Log ``<stage>/loss`` and ``<stage>/rmse``: the batch values averaged over the epoch,
        weighted by points per batch (what ``self.log(..., on_epoch=True, batch_size=n)`` gives),
        at one ``self.log`` per epoch instead of two per step (they were ~28 % of an additive epoch)."""
        loss_sum, rmse_sum, n = self._epoch_sums.pop(stage, (0.0, 0.0, 0))
        if n:
            self.log(f"{stage}/loss", loss_sum / n, prog_bar=stage == "val")
            self.log(f"{stage}/rmse", rmse_sum / n)

    def on_train_epoch_end(self) -> None:
        self._log_epoch("train")

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")

    def training_step(self, batch, batch_idx):
        loss, atom_terms = self._step(batch, "train")
        penalty = self.l2 * sum((p**2).sum() for p in self.parameters())
        return loss + penalty + self.terms_l2 * (atom_terms**2).mean()

    def validation_step(self, batch, batch_idx):
        self._step(batch, "val")

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)


class AdditiveConductivity(ConductivityModule):
    """The talk's ansatz: one (A, B, C) per atom type. Unseen types (index -1) are refused.

    ``init_ridge_alpha``: when set, :meth:`initialise_closed_form` starts training from the
    closed-form ridge fit of the ansatz (penalty ``alpha`` on the per-type terms, squared error
    summed over points, as the ``ridge_additive`` baseline); with ``trainer.max_epochs=0`` the model
    is that fit. ``None``: terms start at zero.
    """

    needs_known_types = True

    def __init__(
        self,
        n_types: int,
        lr: float = 0.02,
        l2: float = 1e-4,
        loss: str = "huber",
        huber_delta: float = 1.0,
        temperature_reference_K: float = 298.15,
        weighting: str = "point",
        init_ridge_alpha: float | None = None,
        molar_volume: bool = False,
    ):
        super().__init__(lr, l2, loss, huber_delta, temperature_reference_K, weighting, molar_volume=molar_volume)
        self.save_hyperparameters()
        self.init_ridge_alpha = init_ridge_alpha
        self.type_terms = nn.Parameter(torch.zeros(n_types, 3))

    def initialise_closed_form(self, items) -> None:
        """Set ``type_terms`` [n_types, 3] to the ridge fit on ``items`` (``ILPoints`` items: graph
        with ``type_id``, temperature_K [k], ln_sigma [k]); no-op when ``init_ridge_alpha`` is None."""
        if self.init_ridge_alpha is None:
            return
        n_types = self.type_terms.shape[0]
        rows, targets = [], []
        for graph, temperature_K, ln_sigma in items:
            counts = torch.bincount(graph.type_id, minlength=n_types).double()
            tau = self.tau(temperature_K.double())
            rows.append(torch.cat([counts * tau[:, None] ** k for k in range(3)], dim=1))
            offset = float(graph.ln_conc) if self.molar_volume else 0.0
            targets.append(ln_sigma.double() - offset)
        x, y = torch.cat(rows), torch.cat(targets)
        gram = x.T @ x + float(self.init_ridge_alpha) * torch.eye(3 * n_types, dtype=torch.float64)
        coef = torch.linalg.solve(gram, x.T @ y)
        with torch.no_grad():
            self.type_terms.copy_(coef.reshape(3, n_types).T.float())

    def atom_terms(self, graphs) -> torch.Tensor:
        if bool((graphs.type_id < 0).any()):
            raise ValueError(
                "atom types unseen in training have no additive parameters; flag these ILs instead of predicting"
            )
        return self.type_terms[graphs.type_id]


class GraphConductivity(ConductivityModule):
    """Message-passing network: node encoder, ``n_layers`` residual GINE layers, head to (A, B, C).

    With ``linear_skip`` the atom terms also get a linear map of the atom's own features: an
    additive model over the feature one-hots, which the message passing corrects with context.
    """

    def __init__(
        self,
        node_dim: int,
        edge_dim: int,
        hidden: int = 64,
        n_layers: int = 3,
        dropout: float = 0.0,
        lr: float = 0.003,
        l2: float = 1e-6,
        loss: str = "huber",
        huber_delta: float = 1.0,
        temperature_reference_K: float = 298.15,
        weighting: str = "point",
        linear_skip: bool = False,
        terms_l2: float = 0.0,
        molar_volume: bool = False,
    ):
        super().__init__(lr, l2, loss, huber_delta, temperature_reference_K, weighting, terms_l2, molar_volume)
        self.save_hyperparameters()
        self.skip = nn.Linear(node_dim, 3, bias=False) if linear_skip else None
        if self.skip is not None:
            nn.init.zeros_(self.skip.weight)
        self.encode = nn.Linear(node_dim, hidden)
        self.layers = nn.ModuleList(
            GINEConv(nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden)), edge_dim=edge_dim)
            for _ in range(n_layers)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(n_layers))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 3))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def atom_terms(self, graphs) -> torch.Tensor:
        h = self.encode(graphs.x)
        for layer, norm in zip(self.layers, self.norms):
            h = h + self.dropout(torch.nn.functional.silu(norm(layer(h, graphs.edge_index, graphs.edge_attr))))
        terms = self.head(h)
        return terms + self.skip(graphs.x) if self.skip is not None else terms
