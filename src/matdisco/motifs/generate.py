"""Generation with a trained motif VAE: sampling, latent interpolation, inpainting (atom infilling).

Coordinates are (…, n, 3) in Angstrom relative to the centre atom; Gram entries are Angstrom^2
unless called normalised. Every decoded environment is defined up to O(3) (see ``geometry``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from ase import Atoms
from ase.geometry import find_mic

from matdisco.motifs.environments import GramNormaliser, environments, gram_full, gram_upper, upper_indices
from matdisco.motifs.geometry import align, coordinates_from_gram, matched_rmsd, procrustes, rmsd
from matdisco.motifs.vae import MotifVAE


def decode_normalised(model: MotifVAE, z: np.ndarray) -> np.ndarray:
    """Normalised Gram entries (B, P) decoded from latent points z (B, latent_dim)."""
    with torch.no_grad():
        return model.decode(torch.as_tensor(z, dtype=torch.float32)).double().numpy()


def decode(model: MotifVAE, normaliser: GramNormaliser, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latent points z (B, latent_dim) -> coordinates (B, n, 3) and discarded spectrum fraction (B,)."""
    return coordinates_from_gram(gram_full(normaliser.denormalise(decode_normalised(model, z))))


def encode_mean(model: MotifVAE, normaliser: GramNormaliser, upper: np.ndarray) -> np.ndarray:
    """Posterior means (B, latent_dim) of Gram entries ``upper`` (B, P) in Angstrom^2."""
    with torch.no_grad():
        mu, _ = model.encode(torch.as_tensor(normaliser.normalise(upper), dtype=torch.float32))
    return mu.double().numpy()


def sample(model: MotifVAE, normaliser: GramNormaliser, n_samples: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Decode ``n_samples`` draws z ~ N(0, 1): coordinates (n_samples, n, 3), discarded fraction (n_samples,)."""
    z = rng.standard_normal((n_samples, int(model.hparams.latent_dim)))
    return decode(model, normaliser, z)


def interpolate(model: MotifVAE, normaliser: GramNormaliser, start: np.ndarray, end: np.ndarray, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Straight latent path between the posterior means of two environments (n, 3) each.

    Returns frames (n_frames, n, 3) and discarded fractions (n_frames,). The first frame is
    aligned (O(3)) to ``start``, each later frame to the one before, so the path has no jumps
    from the arbitrary orientation that the Gram matrix leaves free.
    """
    z_start, z_end = encode_mean(model, normaliser, gram_upper(np.stack([start, end])))
    weights = np.linspace(0.0, 1.0, n_frames)[:, None]
    frames, discarded = decode(model, normaliser, (1 - weights) * z_start + weights * z_end)
    previous = start
    for k in range(n_frames):
        frames[k] = align(frames[k], previous)
        previous = frames[k]
    return frames, discarded


@dataclass(frozen=True)
class InpaintSettings:
    """Optimisation of the latent point: Adam steps and rate, restarts per environment, prior weight."""

    steps: int = 300
    lr: float = 0.05
    n_restarts: int = 4
    prior_weight: float = 1e-3


def known_mask(n_neighbours: int, n_known: int) -> np.ndarray:
    """Boolean (P,): Gram entries between two of the first ``n_known`` labels (the known atoms)."""
    rows, cols = upper_indices(n_neighbours)
    return (rows < n_known) & (cols < n_known)


def inpaint(
    model: MotifVAE, normaliser: GramNormaliser, known: np.ndarray, settings: InpaintSettings, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Complete environments from their known atoms (labels 0 .. k-1), as in the talk.

    known (B, k, 3) -> G^I with the known block exact and every other normalised entry N(0, 1)
    noise, z^I = encoder mean of G^I, then Adam on z of the masked mismatch between decoded and
    known normalised entries (+ ``prior_weight`` * |z|^2 / latent_dim, keeping z on the learned
    manifold). The best of ``n_restarts`` noise draws is kept. The decoded environment is aligned
    (O(3)) on its known atoms to ``known``, so infilled atoms are in the frame of the input.

    Returns ``infilled`` (B, n-k, 3), ``decoded`` (B, n, 3) aligned, ``known_rmsd`` (B,) of the
    decoded known atoms in Angstrom, ``loss`` (B,) final masked loss.
    """
    n_env, n_known = known.shape[:2]
    n = normaliser.n_neighbours
    mask = known_mask(n, n_known)
    target = np.zeros((n_env, mask.size))
    target[:, mask] = normaliser.normalise(_padded_gram(known, n))[:, mask]
    repeats = settings.n_restarts
    start = np.repeat(target, repeats, axis=0)
    start[:, ~mask] = rng.standard_normal((n_env * repeats, int((~mask).sum())))
    z = _optimise_latent(model, start, mask, settings)
    z, loss = _best_restart(model, z, start, mask, n_env, repeats)
    coords, _ = decode(model, normaliser, z)
    transform = procrustes(coords[:, :n_known], known, proper=False)
    decoded = coords @ transform
    return {"infilled": decoded[:, n_known:], "decoded": decoded, "known_rmsd": rmsd(decoded[:, :n_known], known), "loss": loss}


def _padded_gram(known: np.ndarray, n: int) -> np.ndarray:
    """Gram entries (B, P) of known atoms (B, k, 3) placed at labels 0 .. k-1; other entries zero."""
    padded = np.zeros((known.shape[0], n, 3))
    padded[:, : known.shape[1]] = known
    return gram_upper(padded)


def _masked_loss(model: MotifVAE, z: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-environment mean squared mismatch on masked entries, (B,)."""
    return torch.mean((model.decode(z)[:, mask] - target[:, mask]) ** 2, dim=1)


def _optimise_latent(model: MotifVAE, start: np.ndarray, mask: np.ndarray, settings: InpaintSettings) -> torch.Tensor:
    """Latent points (B, latent_dim) minimising the masked loss from the encoding of ``start`` (B, P)."""
    target = torch.as_tensor(start, dtype=torch.float32)
    mask_t = torch.as_tensor(mask)
    with torch.no_grad():
        z0, _ = model.encode(target)
    z = z0.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([z], lr=settings.lr)
    for _ in range(settings.steps):
        optimiser.zero_grad()
        loss = _masked_loss(model, z, target, mask_t) + settings.prior_weight * torch.mean(z**2, dim=1)
        loss.sum().backward()
        optimiser.step()
    return z.detach()


def _best_restart(model: MotifVAE, z: torch.Tensor, start: np.ndarray, mask: np.ndarray, n_env: int, repeats: int) -> tuple[np.ndarray, np.ndarray]:
    """Latent point (n_env, latent_dim) and masked loss (n_env,) of the best restart of each environment."""
    with torch.no_grad():
        loss = _masked_loss(model, z, torch.as_tensor(start, dtype=torch.float32), torch.as_tensor(mask)).numpy()
    loss = loss.reshape(n_env, repeats)
    best = np.argmin(loss, axis=1)
    z = z.numpy().reshape(n_env, repeats, -1)[np.arange(n_env), best]
    return z.astype(np.float64), loss[np.arange(n_env), best]


def baseline_random(known: np.ndarray, n_missing: int, radius_angstrom: float, rng: np.random.Generator) -> np.ndarray:
    """No-model baseline: missing atoms at uniformly random directions, at the mean neighbour distance; (B, m, 3)."""
    directions = rng.standard_normal((known.shape[0], n_missing, 3))
    return radius_angstrom * directions / np.linalg.norm(directions, axis=-1, keepdims=True)


def baseline_mean(known: np.ndarray, n_missing: int, radius_angstrom: float) -> np.ndarray:
    """No-model baseline: every missing atom opposite the known atoms' mean vector, at the mean distance; (B, m, 3)."""
    direction = -known.mean(axis=1)
    direction /= np.maximum(np.linalg.norm(direction, axis=-1, keepdims=True), 1e-12)
    return np.repeat(radius_angstrom * direction[:, None, :], n_missing, axis=1)


def split_known(coords: np.ndarray, n_known: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random known/unknown split of each environment's labels: known (B, k, 3), missing (B, n-k, 3)."""
    order = np.argsort(rng.random(coords.shape[:2]), axis=1)
    shuffled = np.take_along_axis(coords, order[..., None], axis=1)
    return shuffled[:, :n_known], shuffled[:, n_known:]


def matched_rmsds(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-environment RMSD (B,) of unlabelled atoms (B, m, 3) after Hungarian matching, Angstrom."""
    return np.array([matched_rmsd(p, t) for p, t in zip(predicted, truth)])


def environment_atoms(coords: np.ndarray, info: dict | None = None) -> Atoms:
    """ASE ``Atoms`` of one environment: the centre Si at the origin followed by its n neighbours (n, 3)."""
    atoms = Atoms("Si" * (len(coords) + 1), positions=np.vstack([np.zeros(3), coords]), pbc=False)
    atoms.info.update(info or {})
    return atoms


def vacancy_candidates(
    model: MotifVAE, normaliser: GramNormaliser, atoms: Atoms, site: int, bond_cutoff_angstrom: float, r_cut_angstrom: float,
    settings: InpaintSettings, rng: np.random.Generator,
) -> dict:
    """Remove atom ``site`` and predict its position from each bonded neighbour's environment.

    For every atom j bonded to ``site`` (within ``bond_cutoff_angstrom``), the n-1 nearest atoms of
    j in the vacancy cell are j's original environment without ``site``; inpainting its one missing
    atom gives a candidate r_j + x. Returns ``vacancy`` (the cell without ``site``), ``centres``
    (m, 3) positions of the bonded neighbours, ``known`` (m, n-1, 3) their environments and
    ``model`` (m, 3) the candidates, in Angstrom in the cell frame.
    """
    n = normaliser.n_neighbours
    bonded = _bonded_neighbours(atoms, site, bond_cutoff_angstrom)
    vacancy = atoms.copy()
    del vacancy[site]
    rows = bonded - (bonded > site)
    coords, counts = environments(vacancy, r_cut_angstrom, n - 1)
    if np.any(counts[rows] < n - 1):
        raise ValueError(f"a neighbour of atom {site} has fewer than {n - 1} atoms within {r_cut_angstrom} A")
    result = inpaint(model, normaliser, coords[rows], settings, rng)
    centres = vacancy.positions[rows]
    return {"vacancy": vacancy, "centres": centres, "known": coords[rows], "model": centres + result["infilled"][:, 0]}


def _bonded_neighbours(atoms: Atoms, site: int, bond_cutoff_angstrom: float) -> np.ndarray:
    """Indices of the atoms within ``bond_cutoff_angstrom`` of atom ``site`` (minimum image)."""
    vectors, distances = find_mic(atoms.positions - atoms.positions[site], atoms.cell, pbc=True)
    bonded = np.flatnonzero((distances < bond_cutoff_angstrom) & (np.arange(len(atoms)) != site))
    if len(bonded) == 0:
        raise ValueError(f"atom {site} has no neighbour within {bond_cutoff_angstrom} A")
    return bonded


def consensus_position(candidates: np.ndarray, atoms: Atoms) -> np.ndarray:
    """Mean of candidate positions (m, 3) under the minimum-image convention of ``atoms``' cell, (3,)."""
    offsets, _ = find_mic(candidates - candidates[0], atoms.cell, pbc=True)
    return candidates[0] + offsets.mean(axis=0)


def mic_distance(a: np.ndarray, b: np.ndarray, atoms: Atoms) -> float:
    """Minimum-image distance between two points (3,) in the cell of ``atoms``, Angstrom."""
    _, distance = find_mic((a - b)[None], atoms.cell, pbc=True)
    return float(distance[0])
