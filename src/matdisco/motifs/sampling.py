"""Generation with a trained motif VAE: sampling, latent interpolation, inpainting (atom infilling).

Coordinates are (…, n, 3) in Angstrom relative to the centre atom; Gram entries are Angstrom^2
unless called normalised. Every decoded environment is defined up to O(3) (see ``geometry``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import torch
from ase import Atoms

from matdisco.core.errors import ConfigError
from matdisco.motifs.baselines import tetrahedral_baseline
from matdisco.motifs.environments import GramNormaliser, gram_full, gram_upper, upper_indices
from matdisco.motifs.geometry import align, coordinates_from_gram, hungarian_match, matched_rmsd, procrustes, rmsd
from matdisco.motifs.models import MotifVAE


def decode_normalised(model: MotifVAE, z: np.ndarray) -> np.ndarray:
    """Normalised Gram entries (B, P) decoded from latent points z (B, latent_dim)."""
    with torch.no_grad():
        return model.decode(torch.as_tensor(z, dtype=torch.float32)).double().numpy()


def decode(
    model: MotifVAE, normaliser: GramNormaliser, z: np.ndarray, restore_norms: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Latent points z (B, latent_dim) -> coordinates (B, n, 3) and discarded spectrum fraction (B,).

    ``restore_norms``: see :func:`~matdisco.motifs.geometry.coordinates_from_gram`.
    """
    return coordinates_from_gram(
        gram_full(normaliser.denormalise(decode_normalised(model, z))), restore_norms=restore_norms
    )


def encode_posterior(model: MotifVAE, normaliser: GramNormaliser, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means and variances (B, latent_dim) of Gram entries ``upper`` (B, P) in Angstrom^2."""
    with torch.no_grad():
        mu, logvar = model.encode(torch.as_tensor(normaliser.normalise(upper), dtype=torch.float32))
    return mu.double().numpy(), logvar.exp().double().numpy()


def encode_mean(model: MotifVAE, normaliser: GramNormaliser, upper: np.ndarray) -> np.ndarray:
    """Posterior means (B, latent_dim) of Gram entries ``upper`` (B, P) in Angstrom^2."""
    return encode_posterior(model, normaliser, upper)[0]


LATENT_DENSITIES = ("standard_normal", "aggregate_gaussian")


@dataclass(frozen=True)
class LatentDensity:
    """Gaussian density that samples are drawn from: ``kind``, mean (d,), covariance (d, d)."""

    kind: str
    mean: np.ndarray
    covariance: np.ndarray

    @classmethod
    def standard_normal(cls, dim: int) -> LatentDensity:
        """The VAE prior N(0, 1) in ``dim`` dimensions."""
        return cls("standard_normal", np.zeros(dim), np.eye(dim))

    def draw(self, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        """Latent points (n_samples, d)."""
        return rng.multivariate_normal(self.mean, self.covariance, size=n_samples, method="cholesky")


def latent_density(model: MotifVAE, normaliser: GramNormaliser, train_upper: np.ndarray, kind: str) -> LatentDensity:
    """The density samples come from: ``standard_normal`` (the VAE prior N(0, 1)) or ``aggregate_gaussian``.

    ``aggregate_gaussian`` is the full-covariance Gaussian with the mean and covariance of the
    aggregate posterior of the training environments ``train_upper`` (N, P) (Angstrom^2): the
    covariance of the posterior means plus the mean posterior variance. It puts samples where the
    decoder was trained, not in the holes that N(0, 1) leaves between them.
    """
    dim = int(model.hparams.latent_dim)
    if kind == "standard_normal":
        return LatentDensity.standard_normal(dim)
    if kind == "aggregate_gaussian":
        mu, variance = encode_posterior(model, normaliser, train_upper)
        covariance = np.cov(mu, rowvar=False).reshape(dim, dim) + np.diag(variance.mean(axis=0))
        return LatentDensity(kind, mu.mean(axis=0), covariance)
    raise ConfigError(f"data.evaluate.latent_density must be one of {LATENT_DENSITIES}, got {kind!r}")


def sample(
    model: MotifVAE,
    normaliser: GramNormaliser,
    density: LatentDensity,
    n_samples: int,
    rng: np.random.Generator,
    restore_norms: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Decode ``n_samples`` draws from ``density``: coordinates (n_samples, n, 3), discarded fraction (n_samples,)."""
    return decode(model, normaliser, density.draw(n_samples, rng), restore_norms)


def interpolate(
    model: MotifVAE,
    normaliser: GramNormaliser,
    start: np.ndarray,
    end: np.ndarray,
    n_frames: int,
    restore_norms: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Straight latent path between the posterior means of two environments (n, 3) each.

    Returns frames (n_frames, n, 3) and discarded fractions (n_frames,). The first frame is
    aligned (O(3)) to ``start``, each later frame to the one before, so the path has no jumps
    from the arbitrary orientation that the Gram matrix leaves free.
    """
    z_start, z_end = encode_mean(model, normaliser, gram_upper(np.stack([start, end])))
    weights = np.linspace(0.0, 1.0, n_frames)[:, None]
    frames, discarded = decode(model, normaliser, (1 - weights) * z_start + weights * z_end, restore_norms)
    previous = start
    for k in range(n_frames):
        frames[k] = align(frames[k], previous)
        previous = frames[k]
    return frames, discarded


INPAINT_STARTS = ("noise", "tetrahedral")


@dataclass(frozen=True)
class InpaintSettings:
    """Optimisation of the latent point (Adam steps and rate, noise restarts per slot choice, prior
    weight), the decoding of the result (``restore_norms``, see ``coordinates_from_gram``) and the
    start of the unknown entries: ``noise`` (N(0, 1), normalised) or ``tetrahedral`` (the Gram of the
    known atoms plus their :func:`~matdisco.motifs.baselines.tetrahedral_baseline` completion, with
    its bond cutoff, bond length and mean neighbour distance in Angstrom)."""

    steps: int = 300
    lr: float = 0.05
    n_restarts: int = 2
    prior_weight: float = 1e-3
    restore_norms: bool = True
    start: str = "noise"
    bond_cutoff_angstrom: float = 2.85
    bond_length_angstrom: float = 2.35
    radius_angstrom: float = 3.0

    def __post_init__(self):
        if self.start not in INPAINT_STARTS:
            raise ConfigError(f"data.generate.inpaint.start must be one of {INPAINT_STARTS}, got {self.start!r}")

    def missing_start(self, known: np.ndarray, n_missing: int) -> np.ndarray | None:
        """Start positions (B, n_missing, 3) of the missing atoms for known (B, k, 3); None for the noise start."""
        if self.start == "noise":
            return None
        return tetrahedral_baseline(
            known, n_missing, self.bond_cutoff_angstrom, self.bond_length_angstrom, self.radius_angstrom
        )


def slot_choices(n_neighbours: int, n_known: int) -> np.ndarray:
    """Every placement of k ordered known atoms among n labels, keeping their order: (C(n, k), k) labels."""
    return np.array(list(itertools.combinations(range(n_neighbours), n_known)), dtype=np.int64)


def inpaint(
    model: MotifVAE, normaliser: GramNormaliser, known: np.ndarray, settings: InpaintSettings, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Complete environments from their known atoms, as in the talk, for every choice of their labels.

    known (B, k, 3), in the order of the ordering rule (nearest first). The labels of the missing
    atoms are unknown, so every placement of the known atoms among the n labels that keeps their
    order is tried (:func:`slot_choices`). For each, G^I holds the exact known entries and, elsewhere,
    N(0, 1) noise (normalised units; ``settings.start`` = noise, ``n_restarts`` draws) or the entries
    of the tetrahedral completion placed in the free slots (``tetrahedral``, one try per slot
    choice); z^I = encoder mean of G^I; then Adam on z minimises the
    masked mismatch between decoded and known normalised entries + ``prior_weight`` * mean(z^2)
    (keeps z on the learned manifold). Of all slot choices and ``n_restarts`` noise draws the
    smallest masked mismatch wins. The decoded environment is aligned (O(3)) on its known atoms to
    ``known``, so the infilled atoms lie in the frame of the input. For a model trained with a
    within-shell loss the mismatch is the least over the within-shell relabellings of G^I and its
    mask (its decoder chooses its own labels), and the decoded atoms are mapped back accordingly.

    Returns ``infilled`` (B, n-k, 3), ``decoded`` (B, n, 3) aligned with the known atoms first,
    ``known_rmsd`` (B,) of the decoded known atoms in Angstrom, ``loss`` (B,) final masked mismatch.
    """
    n_env, n_known = known.shape[:2]
    n = normaliser.n_neighbours
    missing_start = settings.missing_start(known, n - n_known)
    slots = np.tile(slot_choices(n, n_known), (1 if missing_start is not None else settings.n_restarts, 1))
    n_tries = len(slots)
    placed = np.zeros((n_env, n_tries, n, 3))
    placed[:, np.arange(n_tries)[:, None], slots] = known[:, None]
    if missing_start is not None:
        placed[:, np.arange(n_tries)[:, None], _missing_labels(slots, n)] = missing_start[:, None]
    labelled = np.zeros((n_tries, n), dtype=bool)
    labelled[np.arange(n_tries)[:, None], slots] = True
    rows, cols = upper_indices(n)
    mask = np.broadcast_to(labelled[:, rows] & labelled[:, cols], (n_env, n_tries, len(rows))).reshape(
        n_env * n_tries, -1
    )
    start = normaliser.normalise(gram_upper(placed)).reshape(n_env * n_tries, -1)
    if missing_start is None:
        start[~mask] = rng.standard_normal(int((~mask).sum()))
    z = _optimise_latent(model, start, mask, settings)
    with torch.no_grad():
        loss, relabelling = _masked_loss(model, z, torch.as_tensor(start, dtype=torch.float32), torch.as_tensor(mask))
    loss = loss.numpy()
    best = np.argmin(loss.reshape(n_env, n_tries), axis=1)
    chosen = np.arange(n_env) * n_tries + best
    coords, _ = decode(model, normaliser, z[chosen].numpy().astype(np.float64), settings.restore_norms)
    order = np.concatenate([slots[best], _missing_labels(slots[best], n)], axis=1)
    if (
        model.label_perms is not None
    ):  # decoded atom a stands for placed atom perm[a]: placed label s is decoded atom perm^-1[s]
        inverse = np.argsort(model.label_perms.numpy()[relabelling.numpy()[chosen]], axis=1)
        order = np.take_along_axis(inverse, order, axis=1)
    coords = np.take_along_axis(coords, order[..., None], axis=1)
    decoded = coords @ procrustes(coords[:, :n_known], known, proper=False)
    return {
        "infilled": decoded[:, n_known:],
        "decoded": decoded,
        "known_rmsd": rmsd(decoded[:, :n_known], known),
        "loss": loss[chosen],
    }


MAX_ASSIGNMENTS = 5040  # k known atoms onto n candidate labels: n! / (n - k)!; 4 neighbours: at most 24


def n_label_choices(n_neighbours: int, n_known: int) -> int:
    """Ordered choices of ``n_known`` of ``n_neighbours`` labels, n! / (n - k)!."""
    return math.perm(n_neighbours, n_known)


def conditional_mean_infill(
    known: np.ndarray, candidates: np.ndarray, n_best: int, chunk_size: int = 16
) -> dict[str, np.ndarray]:
    """Missing atoms as the mean over the candidate environments that fit the known atoms best.

    known (B, k, 3) in Angstrom; candidates (S, n, 3), e.g. decoded latent draws (the VAE's density
    conditioned on the known atoms by selection) or training environments (a nearest-neighbour
    baseline). Fit: :func:`best_fitting`. Of the ``n_best`` best candidates, each is aligned (O(3)
    Procrustes) on its chosen atoms to ``known``; its other n - k atoms, matched (Hungarian) to those
    of the best candidate, are averaged. Returns ``infilled`` (B, n-k, 3) and ``fit`` (B,) of the best.
    """
    fits, top, chosen = best_fitting(known, candidates, n_best, chunk_size)
    rest = _aligned_rest(known, candidates, top, chosen)
    for b in range(len(known)):
        for j in range(1, n_best):
            rest[b, j] = rest[b, j][hungarian_match(rest[b, j], rest[b, 0])]
    return {"infilled": rest.mean(axis=1), "fit": fits[np.arange(len(known)), top[:, 0]]}


def conditional_sample_infill(
    known: np.ndarray,
    candidates: np.ndarray,
    n_best: int,
    rng: np.random.Generator,
    blocks: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Missing atoms (B, n-k, 3) of one of the ``n_best`` best-fitting candidates (:func:`best_fitting`), drawn
    uniformly per environment and aligned on its chosen atoms to ``known`` (B, k, 3): a draw from the
    candidates' density conditioned on the known atoms by selection, where the conditional mean averages.
    ``blocks``: :func:`candidate_blocks` of ``candidates`` for k, when the caller keeps them."""
    _, top, chosen = best_fitting(known, candidates, n_best, blocks=blocks)
    pick = rng.integers(top.shape[1], size=len(known))[:, None]
    rest = _aligned_rest(
        known, candidates, np.take_along_axis(top, pick, axis=1), np.take_along_axis(chosen, pick[..., None], axis=1)
    )
    return rest[:, 0]


def candidate_blocks(candidates: np.ndarray, n_known: int) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered choice of ``n_known`` of the n labels (A, k) and the k x k Gram blocks of the candidates
    (S, n, 3) at those labels, flattened (S, A, k * k), Angstrom^2."""
    n = candidates.shape[1]
    if n_label_choices(n, n_known) > MAX_ASSIGNMENTS:
        raise ConfigError(
            f"conditional-mean inpainting tries {n_label_choices(n, n_known)} label choices of {n_known} of {n} "
            f"atoms, more than {MAX_ASSIGNMENTS}: use data.generate.inpaint.method=optimise for this shell"
        )
    choices = np.array(list(itertools.permutations(range(n), n_known)), dtype=np.int64)  # (A, k)
    gram = np.einsum("sad,sbd->sab", candidates, candidates)
    return choices, gram[:, choices[:, :, None], choices[:, None, :]].reshape(len(candidates), len(choices), -1)


def best_fitting(
    known: np.ndarray,
    candidates: np.ndarray,
    n_best: int,
    chunk_size: int = 16,
    blocks: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The candidates (S, n, 3) whose atoms fit known (B, k, 3) best, O(3)- and label-free.

    Fit of candidate s to environment b = least squared mismatch (Angstrom^4) of the k x k Gram of the
    known atoms with the Gram block of k candidate atoms, over every ordered choice of those k labels
    (``blocks``: :func:`candidate_blocks`, computed here when None). Returns fits (B, S), the ``n_best``
    best candidates per environment (B, n_best) and their chosen labels (B, n_best, k), in the order of
    the known atoms.
    """
    n_env, n_known = known.shape[:2]
    choices, grams = blocks if blocks is not None else candidate_blocks(candidates, n_known)
    target = np.einsum("bad,bcd->bac", known, known).reshape(n_env, 1, 1, -1)
    fits, best_choice = np.empty((n_env, len(candidates))), np.empty((n_env, len(candidates)), dtype=np.int64)
    for start in range(0, n_env, chunk_size):
        mismatch = np.sum((grams[None] - target[start : start + chunk_size]) ** 2, axis=-1)  # (b, S, A)
        best_choice[start : start + chunk_size] = mismatch.argmin(axis=2)
        fits[start : start + chunk_size] = mismatch.min(axis=2)
    top = np.argsort(fits, axis=1)[:, :n_best]  # (B, n_best)
    return fits, top, choices[np.take_along_axis(best_choice, top, axis=1)]


def _aligned_rest(known: np.ndarray, candidates: np.ndarray, top: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """The atoms (B, m, n-k, 3) of candidates ``top`` (B, m) other than their ``chosen`` labels (B, m, k), each
    candidate aligned (O(3) Procrustes) on its chosen atoms to ``known`` (B, k, 3)."""
    n = candidates.shape[1]
    others = np.stack([_missing_labels(c, n) for c in chosen])  # (B, m, n-k)
    picked = candidates[top]  # (B, m, n, 3)
    fitted = np.take_along_axis(picked, chosen[..., None], axis=2)
    rest = np.take_along_axis(picked, others[..., None], axis=2)
    return rest @ procrustes(fitted, np.broadcast_to(known[:, None], fitted.shape), proper=False)


def _missing_labels(known_labels: np.ndarray, n: int) -> np.ndarray:
    """Labels (B, n-k) not in each row of ``known_labels`` (B, k), ascending."""
    free = np.ones((len(known_labels), n), dtype=bool)
    free[np.arange(len(known_labels))[:, None], known_labels] = False
    return np.nonzero(free)[1].reshape(len(known_labels), -1)


def _masked_loss(
    model: MotifVAE, z: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row mean squared mismatch (B,) over the entries where ``mask`` (B, P) is True, and the index (B,)
    of the relabelling it was taken at: for a model with a within-shell loss (``label_perms``) the least
    mismatch over the target and mask relabelled like in training, as its decoder picks its own labels;
    otherwise labels are fixed (index 0)."""
    decoded = model.decode(z)
    if model.entry_perms is None:
        weights = mask.float()
        return torch.sum(weights * (decoded - target) ** 2, dim=1) / weights.sum(dim=1), torch.zeros(
            len(z), dtype=torch.long
        )
    weights = mask[:, model.entry_perms].float()  # (B, n_perm, P)
    mismatch = torch.sum(weights * (decoded[:, None] - target[:, model.entry_perms]) ** 2, dim=2) / weights.sum(dim=2)
    return mismatch.min(dim=1)


def _optimise_latent(model: MotifVAE, start: np.ndarray, mask: np.ndarray, settings: InpaintSettings) -> torch.Tensor:
    """Latent points (B, latent_dim) minimising the masked loss, from the encoder means of ``start`` (B, P)."""
    target = torch.as_tensor(start, dtype=torch.float32)
    mask_t = torch.as_tensor(mask)
    with torch.no_grad():
        z0, _ = model.encode(target)
    z = z0.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([z], lr=settings.lr)
    for _ in range(settings.steps):
        optimiser.zero_grad()
        loss = _masked_loss(model, z, target, mask_t)[0] + settings.prior_weight * torch.mean(z**2, dim=1)
        loss.sum().backward()
        optimiser.step()
    return z.detach()


def split_known(coords: np.ndarray, n_known: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random known/missing split of each environment (B, n, 3), each part keeping the label order.

    Returns known (B, k, 3), missing (B, n-k, 3) and the missing atoms' labels (B, n-k).
    """
    order = np.argsort(rng.random(coords.shape[:2]), axis=1)
    known_labels = np.sort(order[:, :n_known], axis=1)
    missing_labels = np.sort(order[:, n_known:], axis=1)
    return (
        np.take_along_axis(coords, known_labels[..., None], axis=1),
        np.take_along_axis(coords, missing_labels[..., None], axis=1),
        missing_labels,
    )


def matched_rmsds(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-environment RMSD (B,) of unlabelled atoms (B, m, 3) after Hungarian matching, Angstrom."""
    return np.array([matched_rmsd(p, t) for p, t in zip(predicted, truth)])


def matched_errors(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Distance (B, m) in Angstrom from each true atom (B, m, 3) to the predicted atom (B, m, 3) it is
    Hungarian-matched with (unlabelled atoms, one frame)."""
    return np.stack([np.linalg.norm(p[hungarian_match(p, t)] - t, axis=-1) for p, t in zip(predicted, truth)])


def environment_atoms(coords: np.ndarray, info: dict | None = None) -> Atoms:
    """ASE ``Atoms`` of one environment: the centre Si at the origin followed by its n neighbours (n, 3)."""
    atoms = Atoms("Si" * (len(coords) + 1), positions=np.vstack([np.zeros(3), coords]), pbc=False)
    atoms.info.update(info or {})
    return atoms
