"""Scores of generated and reconstructed environments (B, n, 3) in Angstrom: distance and angle
distributions against MD (Wasserstein-1), validity, and reconstruction errors."""

from __future__ import annotations

import numpy as np
from ase import Atoms
from omegaconf import DictConfig
from scipy.stats import wasserstein_distance

from matdisco.motifs.baselines import mean_environment, nearest_training_environment, pca_reconstruction
from matdisco.motifs.environments import GramNormaliser, environments, gram_full, gram_upper
from matdisco.motifs.geometry import (
    aligned_rmsd,
    coordinates_from_gram,
    fixed_label_shell_rmsd,
    label_free_rmsd,
    matched_aligned_rmsd,
    negative_spectrum_fraction,
)
from matdisco.motifs.models import MotifVAE
from matdisco.motifs.sampling import LatentDensity, decode, decode_normalised, encode_mean, matched_errors


def neighbour_distances(coords: np.ndarray) -> np.ndarray:
    """Centre-neighbour distances of environments (B, n, 3), flattened (B n,) in Angstrom."""
    return np.linalg.norm(coords, axis=-1).ravel()


def centre_angles(coords: np.ndarray, bond_cutoff_angstrom: float | None = None) -> np.ndarray:
    """Angles (degrees) at the centre between pairs of neighbours of environments (B, n, 3), flattened.

    All n (n-1) / 2 pairs per environment, or with ``bond_cutoff_angstrom`` only pairs of neighbours
    that are both bonded to the centre (bond angles).
    """
    lengths = np.linalg.norm(coords, axis=-1)
    units = coords / np.maximum(lengths, 1e-12)[..., None]
    a, b = np.triu_indices(coords.shape[1], k=1)
    cosines = np.einsum("...ad,...ad->...a", units[:, a], units[:, b])
    angles = np.degrees(np.arccos(np.clip(cosines, -1, 1)))
    if bond_cutoff_angstrom is None:
        return angles.ravel()
    return angles[(lengths[:, a] < bond_cutoff_angstrom) & (lengths[:, b] < bond_cutoff_angstrom)]


def min_pair_distance(coords: np.ndarray) -> np.ndarray:
    """Smallest distance (B,) among the centre (origin) and its neighbours (B, n, 3), Angstrom."""
    points = np.concatenate([np.zeros((len(coords), 1, 3)), coords], axis=1)
    distances = np.linalg.norm(points[:, :, None] - points[:, None, :], axis=-1)
    distances[:, np.arange(points.shape[1]), np.arange(points.shape[1])] = np.inf
    return distances.min(axis=(1, 2))


def distribution_metrics(generated: np.ndarray, reference: np.ndarray, bond_cutoff_angstrom: float) -> dict[str, float]:
    """Wasserstein-1 distances of centre-neighbour distances (Angstrom), all centre angles and bond angles (degrees)."""
    return {
        "w1_distance_angstrom": float(
            wasserstein_distance(neighbour_distances(generated), neighbour_distances(reference))
        ),
        "w1_angle_deg": float(wasserstein_distance(centre_angles(generated), centre_angles(reference))),
        "w1_bond_angle_deg": float(
            wasserstein_distance(
                centre_angles(generated, bond_cutoff_angstrom), centre_angles(reference, bond_cutoff_angstrom)
            )
        ),
    }


def validity(coords: np.ndarray, gram: np.ndarray, discarded: np.ndarray, ev: DictConfig) -> dict[str, float]:
    """Fractions of environments (B, n, 3) with atoms too close, a strongly non-PSD Gram (B, n, n), or either."""
    close = min_pair_distance(coords) < float(ev.min_distance_angstrom)
    non_psd = negative_spectrum_fraction(gram) > float(ev.max_negative_fraction)
    return {
        "fraction_atoms_too_close": float(close.mean()),
        "fraction_non_psd": float(non_psd.mean()),
        "fraction_invalid": float((close | non_psd).mean()),
        "discarded_fraction_median": float(np.median(discarded)),
    }


def sampled_grams(
    model: MotifVAE, normaliser: GramNormaliser, density: LatentDensity, n_samples: int, seed: int
) -> np.ndarray:
    """Gram matrices (n_samples, n, n) in Angstrom^2 decoded from draws of ``density``."""
    z = density.draw(n_samples, np.random.default_rng(seed))
    return gram_full(normaliser.denormalise(decode_normalised(model, z)))


def invariant_descriptor(coords: np.ndarray, shell_sizes: tuple[int, ...]) -> np.ndarray:
    """Label- and O(3)-free fingerprint (B, D) of environments (B, n, 3), Angstrom: the sorted
    centre distances of each shell, then the sorted distances between all pairs of neighbours."""
    bounds = np.cumsum((0, *shell_sizes))
    radial = [np.sort(np.linalg.norm(coords[:, a:b], axis=-1), axis=1) for a, b in zip(bounds[:-1], bounds[1:])]
    a, b = np.triu_indices(coords.shape[1], k=1)
    pair = np.sort(np.linalg.norm(coords[:, a] - coords[:, b], axis=-1), axis=1)
    return np.concatenate([*radial, pair], axis=1)


NOVELTY_CHUNK = 512  # query environments per block of the nearest-training search


def nearest_distances(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """RMS difference (M,) of each descriptor in ``query`` (M, D) to its nearest row of ``reference`` (N, D)."""
    out = []
    for start in range(0, len(query), NOVELTY_CHUNK):
        block = query[start : start + NOVELTY_CHUNK]
        squared = np.sum(block**2, 1)[:, None] - 2 * block @ reference.T + np.sum(reference**2, 1)[None]
        out.append(np.sqrt(np.clip(squared.min(axis=1), 0.0, None) / query.shape[1]))
    return np.concatenate(out) if out else np.zeros(0)


def novelty(
    samples: np.ndarray, train: np.ndarray, held_out: np.ndarray, shell_sizes: tuple[int, ...]
) -> dict[str, float]:
    """How far samples lie from the training environments, next to how far held-out MD does (all (B, n, 3)).

    Distances are RMS differences of :func:`invariant_descriptor` (Angstrom) to the nearest training
    environment. A generator that memorises has samples much nearer than held-out environments
    (ratio << 1, many near-copies: samples nearer than the held-out 10th percentile).
    """
    reference = invariant_descriptor(train, shell_sizes)
    to_train = nearest_distances(invariant_descriptor(samples, shell_sizes), reference)
    held = nearest_distances(invariant_descriptor(held_out, shell_sizes), reference)
    return {
        "sample_to_train_angstrom_median": float(np.median(to_train)),
        "held_out_to_train_angstrom_median": float(np.median(held)),
        "ratio_of_medians": float(np.median(to_train) / np.median(held)),
        "fraction_near_copies": float(np.mean(to_train < np.percentile(held, 10))),
    }


def reconstruction_errors(
    model: MotifVAE, normaliser: GramNormaliser, coords: np.ndarray, gram: np.ndarray, restore_norms: bool
) -> tuple[dict, dict[str, np.ndarray]]:
    """Gram MSE (normalised) and coordinate RMSD (O(3) and Kabsch; labels fixed) of mean reconstructions.

    Returns the summary and the per-environment RMSDs (B,) in Angstrom by alignment name.
    """
    z = encode_mean(model, normaliser, gram)
    gram_mse = np.mean((decode_normalised(model, z) - normaliser.normalise(gram)) ** 2, axis=1)
    decoded, discarded = decode(model, normaliser, z, restore_norms)
    o3 = aligned_rmsd(decoded, coords, proper=False)
    kabsch = aligned_rmsd(decoded, coords, proper=True)
    matched = np.array([matched_aligned_rmsd(d, c) for d, c in zip(decoded, coords)])
    summary = {
        "n_environments": int(len(coords)),
        "gram_mse_normalised_median": float(np.median(gram_mse)),
        "gram_mse_normalised_p90": float(np.percentile(gram_mse, 90)),
        "gram_mse_normalised_mean": float(gram_mse.mean()),
        "rmsd_o3_angstrom_median": float(np.median(o3)),
        "rmsd_o3_angstrom_p90": float(np.percentile(o3, 90)),
        "rmsd_kabsch_angstrom_median": float(np.median(kabsch)),
        "rmsd_kabsch_angstrom_p90": float(np.percentile(kabsch, 90)),
        "rmsd_o3_relabelled_angstrom_median": float(np.median(matched)),
        "rmsd_o3_relabelled_angstrom_p90": float(np.percentile(matched, 90)),
        "discarded_fraction_median": float(np.median(discarded)),
    }
    return summary, {"O(3)": o3, "SO(3) (Kabsch)": kabsch, "O(3), Hungarian relabelling": matched}


def flat_metrics(metrics: dict, prefix: str = "") -> dict:
    """Nested dict flattened to ``a/b`` keys (for the step's printed result)."""
    flat = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            flat.update(flat_metrics(value, f"{prefix}{key}/"))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def noisy_copy(atoms: Atoms, noise_angstrom: float, rng: np.random.Generator) -> Atoms:
    """Copy of ``atoms`` with every atom displaced by Gaussian noise of rms length ``noise_angstrom``."""
    noisy = atoms.copy()
    noisy.positions = atoms.positions + rng.standard_normal(atoms.positions.shape) * noise_angstrom / np.sqrt(3.0)
    return noisy


def noise_robustness(
    model: MotifVAE,
    normaliser: GramNormaliser,
    atoms: Atoms,
    r_cut_angstrom: float,
    noise_angstrom: float,
    rng: np.random.Generator,
    shell_sizes: tuple[int, ...],
    restore_norms: bool,
) -> dict[str, float]:
    """Change of the model's input and output when the cell's atoms move by ``noise_angstrom`` rms.

    Environments are re-extracted from the noisy cell by the same rule (so re-orderings count).
    Input: normalised Gram MSE between clean and noisy environments of each atom, and the fraction
    in which some neighbour slot moved by more than 10x the noise (a relabelling or a new neighbour),
    and the label-free RMSD between the clean and noisy environments (large only where a shell's
    membership changed). Output: label-free O(3) RMSD (Angstrom,
    within ``shell_sizes``) between the mean reconstructions of the clean and the noisy environment.
    """
    n = normaliser.n_neighbours
    clean, _ = environments(atoms, r_cut_angstrom, n)
    noisy, _ = environments(noisy_copy(atoms, noise_angstrom, rng), r_cut_angstrom, n)
    keep = ~(np.isnan(clean).any(axis=(1, 2)) | np.isnan(noisy).any(axis=(1, 2)))
    clean_upper, noisy_upper = gram_upper(clean[keep]), gram_upper(noisy[keep])
    input_mse = np.mean((normaliser.normalise(clean_upper) - normaliser.normalise(noisy_upper)) ** 2, axis=1)
    moved = np.linalg.norm(clean[keep] - noisy[keep], axis=-1).max(axis=1) > 10 * noise_angstrom
    input_rmsd, _ = label_free_rmsd(noisy[keep], clean[keep], shell_sizes)
    decoded = [
        decode(model, normaliser, encode_mean(model, normaliser, u), restore_norms)[0]
        for u in (clean_upper, noisy_upper)
    ]
    output_rmsd, _ = label_free_rmsd(decoded[1], decoded[0], shell_sizes)
    return {
        "noise_angstrom": float(noise_angstrom),
        "input_gram_mse_normalised_median": float(np.median(input_mse)),
        "input_gram_mse_normalised_mean": float(input_mse.mean()),
        "fraction_relabelled": float(moved.mean()),
        "input_rmsd_label_free_angstrom_median": float(np.median(input_rmsd)),
        "input_rmsd_label_free_angstrom_p90": float(np.percentile(input_rmsd, 90)),
        "output_rmsd_label_free_angstrom_median": float(np.median(output_rmsd)),
        "output_rmsd_label_free_angstrom_p90": float(np.percentile(output_rmsd, 90)),
    }


def shell_rmsd_summary(decoded: np.ndarray, coords: np.ndarray, shell_sizes: tuple[int, ...]) -> dict[str, float]:
    """Median and p90 (Angstrom) of label-free and fixed-label O(3) RMSD, total and per shell, of decoded (B, n, 3) vs coords."""
    summary = {}
    for name, function in (("label_free", label_free_rmsd), ("fixed_label", fixed_label_shell_rmsd)):
        total, per_shell = function(decoded, coords, shell_sizes)
        columns = {"all": total, **{f"shell{k + 1}": per_shell[:, k] for k in range(per_shell.shape[1])}}
        for column, values in columns.items():
            summary[f"rmsd_{name}_{column}_angstrom_median"] = float(np.median(values))
            summary[f"rmsd_{name}_{column}_angstrom_p90"] = float(np.percentile(values, 90))
    return summary


def reconstruction_predictions(
    model: MotifVAE, normaliser: GramNormaliser, train_gram: np.ndarray, gram: np.ndarray
) -> dict[str, np.ndarray]:
    """Normalised Gram entries (M, P) of held-out ``gram`` (M, P) predicted by the model (mean reconstruction)
    and by the baselines at its latent size fitted on ``train_gram`` (N, P) (both Angstrom^2): the mean
    training environment, the nearest training environment, PCA with latent_dim components."""
    train, test = normaliser.normalise(train_gram), normaliser.normalise(gram)
    latent_dim = int(model.hparams.latent_dim)
    return {
        "model": decode_normalised(model, encode_mean(model, normaliser, gram)),
        "mean_environment": mean_environment(train, len(test)),
        "nearest_training_environment": nearest_training_environment(train, test),
        f"pca_{latent_dim}": pca_reconstruction(train, test, latent_dim),
    }


def _decoded_predictions(
    model: MotifVAE, normaliser: GramNormaliser, train_gram: np.ndarray, gram: np.ndarray, restore_norms: bool
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per method of :func:`reconstruction_predictions`: coordinates (M, n, 3), Gram (M, n, n), discarded fraction (M,)."""
    decoded = {}
    for name, normalised in reconstruction_predictions(model, normaliser, train_gram, gram).items():
        full = gram_full(normaliser.denormalise(normalised))
        coords, discarded = coordinates_from_gram(full, restore_norms=restore_norms)
        decoded[name] = (coords, full, discarded)
    return decoded


def reconstruction_rmsds(
    model: MotifVAE,
    normaliser: GramNormaliser,
    train_gram: np.ndarray,
    coords: np.ndarray,
    gram: np.ndarray,
    restore_norms: bool,
    shell_sizes: tuple[int, ...],
) -> dict[str, np.ndarray]:
    """Label-free RMSD (M,) in Angstrom of each method of :func:`reconstruction_predictions` on held-out
    environments coords (M, n, 3) with Gram entries ``gram`` (M, P)."""
    decoded = _decoded_predictions(model, normaliser, train_gram, gram, restore_norms)
    return {name: label_free_rmsd(d, coords, shell_sizes)[0] for name, (d, _, _) in decoded.items()}


def reconstruction_comparison(
    model: MotifVAE,
    normaliser: GramNormaliser,
    train_gram: np.ndarray,
    coords: np.ndarray,
    gram: np.ndarray,
    ev: DictConfig,
    restore_norms: bool,
) -> dict[str, dict[str, float]]:
    """The model's mean reconstructions next to the baselines at its latent size, on held-out environments.

    train_gram (N, P) and gram (M, P) in Angstrom^2, coords (M, n, 3); methods as in
    :func:`reconstruction_predictions`. Each row: label-free and fixed-label RMSD per shell
    (``ev.shell_sizes``) and the invalid fraction of the decoded environments (see :func:`validity`).
    """
    shells = tuple(int(k) for k in ev.shell_sizes)
    return {
        name: {
            **shell_rmsd_summary(decoded, coords, shells),
            "fraction_invalid": validity(decoded, full, discarded, ev)["fraction_invalid"],
        }
        for name, (decoded, full, discarded) in _decoded_predictions(
            model, normaliser, train_gram, gram, restore_norms
        ).items()
    }


def inpainting_scores(predicted: np.ndarray, missing: np.ndarray, bonded: np.ndarray) -> dict[str, float]:
    """Median RMSD (Angstrom) of predicted vs true missing atoms (B, m, 3) after Hungarian matching, over all
    missing atoms and separately over the true bonded (first-shell, ``bonded`` (B, m)) and the other missing atoms."""
    errors = matched_errors(predicted, missing)
    scores = {"rmsd_angstrom_median": float(np.median(np.sqrt(np.mean(errors**2, axis=1))))}
    for name, select in (("bonded", bonded), ("second_shell", ~bonded)):
        rows = select.any(axis=1)
        per_env = np.sqrt(np.sum(np.where(select, errors**2, 0.0), axis=1)[rows] / select[rows].sum(axis=1))
        scores[f"{name}_rmsd_angstrom_median"] = float(np.median(per_env)) if rows.any() else float("nan")
        scores[f"{name}_n_atoms"] = int(select.sum())
    return scores
