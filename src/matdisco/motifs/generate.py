"""``motifs_generate``: samples, a latent interpolation, inpainting for k known atoms against the
no-model baselines, and vacancy refilling in a held-out cell with the MD potential's energy change.
Artifacts: ``results/motifs/{samples,interpolation,inpainting,vacancy}.extxyz``,
``plots/motifs/interpolation.png``, ``metrics/motifs/generate.json``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase.io import write
from omegaconf import DictConfig
from tqdm import tqdm

from matdisco.core.config import artifact
from matdisco.core.errors import ConfigError
from matdisco.core.io import atomic_path, atomic_write_json
from matdisco.core.metrics import mean_interval
from matdisco.motifs import keys
from matdisco.motifs.baselines import baseline_mean, baseline_random, tetrahedral_baseline
from matdisco.motifs.cellgen import build_cells, decoded_environments, growth_settings
from matdisco.motifs.data import cells_dir, load_environments, model_path, out_parts, split_rows
from matdisco.motifs.environments import GramNormaliser, gram_upper
from matdisco.motifs.figures import strip_figure
from matdisco.motifs.geometry import aligned_rmsd
from matdisco.motifs.growth import (
    EnvironmentProposer,
    HoleProposer,
    TetrahedralProposer,
    mic_matched_rmsd,
    nearest_atoms,
    refill,
)
from matdisco.motifs.md import final_potential, potential_energy, relax
from matdisco.motifs.models import MotifVAE, load_trained
from matdisco.motifs.sampling import (
    MAX_ASSIGNMENTS,
    InpaintSettings,
    conditional_mean_infill,
    environment_atoms,
    inpaint,
    interpolate,
    latent_density,
    matched_rmsds,
    n_label_choices,
    sample,
    split_known,
)
from matdisco.motifs.scoring import flat_metrics, inpainting_scores, min_pair_distance, validity
from matdisco.motifs.structure import read_cell

GENERATE_WHAT = ("environments", "cells")


def generate(cfg: DictConfig) -> dict:
    """``data.generate.what``: ``environments`` (samples, a latent interpolation, inpainting for k known atoms,
    vacancy refilling) or ``cells`` (complete cells grown from motifs, :func:`~matdisco.motifs.cellgen.build_cells`)."""
    what = str(cfg.data.generate.get("what", "environments"))
    if what not in GENERATE_WHAT:
        raise ConfigError(f"data.generate.what must be one of {GENERATE_WHAT}, got {what!r}")
    if what == "cells":
        return build_cells(cfg)
    arrays = load_environments(cfg)
    model, normaliser = load_trained(model_path(cfg), int(cfg.data.n_neighbours))
    rng = np.random.default_rng(int(cfg.seed))
    held_out = arrays[keys.COORDS][split_rows(arrays, "test")]
    train_coords = arrays[keys.COORDS][split_rows(arrays, "train")]
    radius = float(np.mean(np.linalg.norm(train_coords, axis=-1)))
    first_shell = int(cfg.data.evaluate.shell_sizes[0])
    settings = inpaint_settings(cfg, float(np.median(np.linalg.norm(train_coords[:, :first_shell], axis=-1))), radius)
    metrics = generate_metrics(
        samples=_samples(cfg, model, normaliser, arrays[keys.GRAM][split_rows(arrays, "train")], rng),
        interpolation=_interpolation(cfg, model, normaliser, held_out),
        inpainting=_inpainting(cfg, model, normaliser, held_out, train_coords, settings, rng),
        vacancy=_vacancy(cfg, model, normaliser, arrays, settings, rng),
    )
    atomic_write_json(artifact(cfg, "metrics", *out_parts(cfg), "generate.json"), metrics)
    return flat_metrics(metrics)


def generate_metrics(*, samples: dict, interpolation: dict, inpainting: dict, vacancy: dict) -> dict:
    """The layout of metrics/motifs/generate.json (the one place it is built; the results page,
    :mod:`matdisco.motifs.page`, reads it): the written samples, the latent path (:func:`interpolation_metrics`),
    inpainting per number of known atoms (``k<known>`` -> :func:`inpainting_entry`) and hole refilling
    (:func:`vacancy_metrics`)."""
    return {
        keys.SAMPLES: samples,
        keys.INTERPOLATION: interpolation,
        keys.INPAINTING: inpainting,
        keys.VACANCY: vacancy,
    }


def write_frames(path: Path, frames: list) -> Path:
    """Write a list of ``Atoms`` as one extxyz file, atomically."""
    with atomic_path(path) as tmp:
        write(tmp, frames, format="extxyz")
    return path


def inpaint_settings(cfg: DictConfig, bond_length_angstrom: float, radius_angstrom: float) -> InpaintSettings:
    """Inpainting settings from ``data.generate.inpaint``; the tetrahedral start uses the training data's median
    bond length and mean neighbour distance (Angstrom) and ``data.evaluate.bond_cutoff_angstrom``."""
    section = cfg.data.generate.inpaint
    return InpaintSettings(
        steps=int(section.steps),
        lr=float(section.lr),
        n_restarts=int(section.n_restarts),
        prior_weight=float(section.prior_weight),
        restore_norms=bool(cfg.data.restore_norms),
        start=str(section.start),
        bond_cutoff_angstrom=float(cfg.data.evaluate.bond_cutoff_angstrom),
        bond_length_angstrom=bond_length_angstrom,
        radius_angstrom=radius_angstrom,
    )


def _samples(
    cfg: DictConfig, model: MotifVAE, normaliser: GramNormaliser, train_gram: np.ndarray, rng: np.random.Generator
) -> dict:
    """Decode draws of the configured latent density (``data.evaluate.latent_density``) and write them as extxyz (centre first)."""
    density = latent_density(model, normaliser, train_gram, str(cfg.data.evaluate.latent_density))
    coords, discarded = sample(
        model, normaliser, density, int(cfg.data.generate.n_samples), rng, bool(cfg.data.restore_norms)
    )
    frames = [environment_atoms(c, {"discarded_fraction": float(d)}) for c, d in zip(coords, discarded)]
    path = write_frames(artifact(cfg, "results", *out_parts(cfg), "samples.extxyz"), frames)
    return {"path": str(path), keys.N_SAMPLES: len(frames), keys.LATENT_DENSITY: density.kind}


def _interpolation(cfg: DictConfig, model: MotifVAE, normaliser: GramNormaliser, held_out: np.ndarray) -> dict:
    """Latent path from a 4-fold to a defect held-out environment (5-fold, or 3-fold when n = 4; else the first
    two), extxyz + PNG strip; every frame's validity (atoms too close; the decoded spectrum's defect is in
    ``max_discarded_fraction``) and the largest step of one atom between frames."""
    cutoff = float(cfg.data.evaluate.bond_cutoff_angstrom)
    cn = np.sum(np.linalg.norm(held_out, axis=-1) < cutoff, axis=1)
    four = np.flatnonzero(cn == 4)
    defect = np.flatnonzero(cn == 5) if np.any(cn == 5) else np.flatnonzero(cn != 4)
    start, end = (four[0], defect[0]) if len(four) and len(defect) else (0, 1)
    frames, discarded = interpolate(
        model,
        normaliser,
        held_out[start],
        held_out[end],
        int(cfg.data.generate.interpolation_frames),
        bool(cfg.data.restore_norms),
    )
    grams = np.einsum("fad,fbd->fab", frames, frames)
    frame_validity = validity(frames, grams, discarded, cfg.data.evaluate)
    write_frames(
        artifact(cfg, "results", *out_parts(cfg), "interpolation.extxyz"),
        [
            environment_atoms(f, {"frame": k, "discarded_fraction": float(d)})
            for k, (f, d) in enumerate(zip(frames, discarded))
        ],
    )
    strip_figure(
        artifact(cfg, "plots", *out_parts(cfg), "interpolation.png"),
        frames,
        cutoff,
        f"latent interpolation: {cn[start]}-fold -> {cn[end]}-fold centre (x-y projection)",
    )
    return interpolation_metrics(
        frames, discarded, held_out[end], int(cn[start]), int(cn[end]), frame_validity["fraction_invalid"]
    )


def interpolation_metrics(
    frames: np.ndarray,
    discarded: np.ndarray,
    end_environment: np.ndarray,
    start_coordination: int,
    end_coordination: int,
    fraction_frames_invalid: float,
) -> dict:
    """``interpolation`` of metrics/motifs/generate.json from the decoded path ``frames`` (F, n, 3) Angstrom, each
    frame's discarded spectral fraction (F,), the environment it ends at (n, 3) and the centres' coordinations:
    the largest and mean step between frames (RMSD and largest single-atom move), validity, closest pair and the
    O(3)-aligned RMSD of the last frame to the end environment (all Angstrom)."""
    steps = np.sqrt(np.mean(np.sum(np.diff(frames, axis=0) ** 2, axis=-1), axis=-1))
    atom_steps = np.linalg.norm(np.diff(frames, axis=0), axis=-1).max(axis=1)
    return {
        "start_coordination": start_coordination,
        "end_coordination": end_coordination,
        "max_frame_step_rmsd_angstrom": float(steps.max()),
        "mean_frame_step_rmsd_angstrom": float(steps.mean()),
        "max_frame_step_atom_displacement_angstrom": float(atom_steps.max()),
        "n_frames": int(len(frames)),
        "fraction_frames_invalid": fraction_frames_invalid,
        "min_pair_distance_angstrom": float(min_pair_distance(frames).min()),
        "end_rmsd_o3_angstrom": float(aligned_rmsd(frames[-1], end_environment, False)),
        "max_discarded_fraction": float(discarded.max()),
    }


def _inpainting(
    cfg: DictConfig,
    model: MotifVAE,
    normaliser: GramNormaliser,
    held_out: np.ndarray,
    train_coords: np.ndarray,
    settings: InpaintSettings,
    rng: np.random.Generator,
) -> dict:
    """RMSD of infilled atoms (Hungarian-matched) vs truth for each k, against random, mean and tetrahedral
    placement (bond length and radius from ``settings``, i.e. the training environments) and the mean of
    the best-fitting training environments (:func:`conditional_mean_infill`, where the label choices are few)."""
    section = cfg.data.generate.inpaint
    radius = settings.radius_angstrom
    picks = rng.choice(len(held_out), size=min(int(section.n_environments), len(held_out)), replace=False)
    first_shell = int(cfg.data.evaluate.shell_sizes[0])
    candidates = _decoded_candidates(cfg, model, normaliser, train_coords, rng)
    results, examples = {}, []
    for k in section.k_known:
        known, missing, missing_labels = split_known(held_out[picks], int(k), rng)
        filled = _model_infill(model, normaliser, known, settings, candidates, int(section.n_best), rng)
        model_rmsd = matched_rmsds(filled["infilled"], missing)
        predictions = {
            "model": filled["infilled"],
            "random_baseline": baseline_random(known, missing.shape[1], radius, rng),
            "mean_baseline": baseline_mean(known, missing.shape[1], radius),
            "tetrahedral_baseline": tetrahedral_baseline(
                known, missing.shape[1], settings.bond_cutoff_angstrom, settings.bond_length_angstrom, radius
            ),
        }
        if n_label_choices(held_out.shape[1], int(k)) <= MAX_ASSIGNMENTS:
            predictions["nearest_training_baseline"] = conditional_mean_infill(
                known, train_coords, int(section.n_best)
            )["infilled"]
        results[f"k{k}"] = inpainting_entry(
            n_environments=len(picks),
            method=str(section.method),
            diagnostics={name: float(np.median(values)) for name, values in filled.items() if name != "infilled"},
            scores={
                name: inpainting_scores(predicted, missing, missing_labels < first_shell)
                for name, predicted in predictions.items()
            },
            fraction_model_beats_random=float(
                np.mean(model_rmsd < matched_rmsds(predictions["random_baseline"], missing))
            ),
        )
        examples += [
            environment_atoms(np.vstack([kn, fi]), {"k_known": int(k), "infilled_rmsd_angstrom": float(r)})
            for kn, fi, r in zip(known[:10], filled["infilled"][:10], model_rmsd[:10])
        ]
    write_frames(artifact(cfg, "results", *out_parts(cfg), "inpainting.extxyz"), examples)
    return results


def inpainting_entry(
    *, n_environments: int, method: str, diagnostics: dict, scores: dict, fraction_model_beats_random: float
) -> dict:
    """One number of known atoms in ``inpainting`` of metrics/motifs/generate.json: environments scored, the
    inpainting method, its diagnostics (medians), per predictor the scores of
    :func:`~matdisco.motifs.scoring.inpainting_scores` and how often the model beats random placement."""
    return {
        "n_environments": n_environments,
        "method": method,
        **diagnostics,
        **scores,
        "fraction_model_beats_random": fraction_model_beats_random,
    }


INPAINT_METHODS = ("optimise", "conditional_mean")


def _decoded_candidates(
    cfg: DictConfig, model: MotifVAE, normaliser: GramNormaliser, train_coords: np.ndarray, rng: np.random.Generator
) -> np.ndarray | None:
    """For ``inpaint.method=conditional_mean``: ``inpaint.n_candidates`` environments (S, n, 3) decoded from the
    configured latent density (``data.evaluate.latent_density``); None for ``optimise``."""
    section = cfg.data.generate.inpaint
    if str(section.method) not in INPAINT_METHODS:
        raise ConfigError(f"data.generate.inpaint.method must be one of {INPAINT_METHODS}, got {section.method!r}")
    if str(section.method) == "optimise":
        return None
    density = latent_density(model, normaliser, gram_upper(train_coords), str(cfg.data.evaluate.latent_density))
    return sample(model, normaliser, density, int(section.n_candidates), rng, bool(cfg.data.restore_norms))[0]


def _model_infill(
    model: MotifVAE,
    normaliser: GramNormaliser,
    known: np.ndarray,
    settings: InpaintSettings,
    candidates: np.ndarray | None,
    n_best: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """The model's missing atoms (B, n-k, 3) for known (B, k, 3) and a per-environment diagnostic: latent
    optimisation (:func:`inpaint`; ``known_rmsd``, Angstrom) or, with decoded ``candidates``, the conditional
    mean of the best-fitting ones (:func:`conditional_mean_infill`; ``fit``, Angstrom^4)."""
    if candidates is None:
        filled = inpaint(model, normaliser, known, settings, rng)
        return {"infilled": filled["infilled"], "known_atoms_rmsd_angstrom_median": filled["known_rmsd"]}
    filled = conditional_mean_infill(known, candidates, n_best)
    return {"infilled": filled["infilled"], "best_fit_angstrom4_median": filled["fit"]}


def _vacancy(
    cfg: DictConfig,
    model: MotifVAE,
    normaliser: GramNormaliser,
    arrays: dict,
    settings: InpaintSettings,
    rng: np.random.Generator,
) -> dict:
    """Holes of ``vacancy.hole_atoms`` atoms (a site and its nearest neighbours) cut out of the held-out cell and
    refilled by growth from the atoms around them (:func:`~matdisco.motifs.growth.refill`): from the VAE's
    decoded environments (model), by tetrahedral completion, or into the largest hole. Scored before relaxation
    (the headline: the relaxation washes the differences out) and after: RMSD of the refilled to the removed
    atoms (Hungarian-matched), energy change with the cell's potential; model minus baseline per site with
    95 % intervals from resampling sites."""
    section = cfg.data.generate.vacancy
    test_cell = int(arrays[keys.CELL][split_rows(arrays, "test")][0])
    path = cells_dir(cfg) / str(arrays[keys.CELL_NAMES][test_cell])
    atoms = read_cell(path)
    potential = final_potential(
        str(atoms.info.get(keys.INFO_POTENTIAL, cfg.get("simulate", {}).get("potential", "edip")))
    )
    reference_energy = potential_energy(atoms, potential)
    train_coords = arrays[keys.COORDS][split_rows(arrays, "train")]
    proposers = {
        "model": EnvironmentProposer(
            decoded_environments(cfg, model, normaliser, train_coords, rng), int(cfg.data.cells.n_best)
        ),
        "tetrahedral_growth": TetrahedralProposer(settings.bond_length_angstrom),
        "largest_hole": HoleProposer(),
    }
    growth = growth_settings(cfg, len(atoms))
    sites = rng.choice(len(atoms), size=min(int(section.n_sites), len(atoms)), replace=False)
    rows, frames = [], []
    for site in tqdm(sites, desc="hole refill"):
        removed = nearest_atoms(atoms, int(site), int(section.hole_atoms))
        row = {"site": int(site)}
        for name, proposer in proposers.items():
            refilled = refill(atoms, removed, proposer, growth, rng)
            placed = refilled.positions[len(atoms) - len(removed) :]
            relaxed, relaxed_energy = relax(refilled, potential)
            truth = atoms.positions[removed]
            row[f"{name}_rmsd_angstrom"] = mic_matched_rmsd(placed, truth, atoms)
            row[f"{name}_delta_energy_eV"] = potential_energy(refilled, potential) - reference_energy
            row[f"{name}_relaxed_delta_energy_eV"] = relaxed_energy - reference_energy
            row[f"{name}_relaxed_rmsd_angstrom"] = mic_matched_rmsd(
                relaxed.positions[len(atoms) - len(removed) :], truth, atoms
            )
            if name == "model":
                refilled.info.update({"site": int(site), "hole_atoms": len(removed)})
                frames.append(refilled)
        rows.append(row)
    write_frames(artifact(cfg, "results", *out_parts(cfg), "vacancy.extxyz"), frames)
    return vacancy_metrics(
        path.name,
        potential,
        int(section.hole_atoms),
        rows,
        int(cfg.data.evaluate.n_bootstrap),
        np.random.default_rng(int(cfg.seed)),
    )


def vacancy_metrics(
    cell: str, potential: str, hole_atoms: int, rows: list[dict], n_resamples: int, rng: np.random.Generator
) -> dict:
    """``vacancy`` of metrics/motifs/generate.json: the cell and potential, the holes' size and count, the
    summary over holes (:func:`_vacancy_summary`) and every hole's row (``<method>_<score>`` of
    :data:`~matdisco.motifs.keys.VACANCY_METHODS` x ``VACANCY_SCORES``, Angstrom / eV)."""
    return {
        "cell": cell,
        "potential": potential,
        "n_sites": len(rows),
        "hole_atoms": hole_atoms,
        **_vacancy_summary(rows, n_resamples, rng),
        "sites": rows,
    }


def _vacancy_summary(rows: list[dict], n_resamples: int, rng: np.random.Generator) -> dict:
    """Median over sites of every score and method, and the model-minus-baseline mean per score with a 95 %
    interval from resampling sites (``core.metrics.mean_interval``, drawn from ``rng`` in turn)."""
    summary = {
        f"{name}_{score}_median": float(np.median([row[f"{name}_{score}"] for row in rows]))
        for name in keys.VACANCY_METHODS
        for score in keys.VACANCY_SCORES
    }
    for baseline in keys.VACANCY_METHODS[1:]:
        for score in keys.VACANCY_SCORES:
            paired = np.array([row[f"model_{score}"] - row[f"{baseline}_{score}"] for row in rows])
            summary[f"model_minus_{baseline}_{score}"] = mean_interval(paired, n_resamples, rng)
    return summary
