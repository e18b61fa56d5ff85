"""The motifs pipeline steps: simulate -> extract -> train -> evaluate -> generate, and bench.

Each step reads the files the previous one wrote (paths from ``cfg.paths``) and returns a dict of
metrics and paths. Artifacts:

- simulate: ``processed/motifs/cells/cell_###.extxyz``, ``metrics/motifs/structure.json``,
  ``plots/motifs/structure.png``
- extract: ``processed/motifs/environments.npz`` (fields in :mod:`matdisco.motifs.keys`),
  ``metrics/motifs/extract.json``
- train: ``models/motifs/vae.ckpt`` (weights + hyper-parameters + normaliser),
  ``models/motifs/normaliser.json``, ``metrics/motifs/train.json``
- evaluate: ``metrics/motifs/evaluate.json``, ``plots/motifs/{distances,angles,latent,reconstruction}.png``
- generate: ``results/motifs/{samples,interpolation,inpainting,vacancy}.extxyz``,
  ``plots/motifs/interpolation.png``, ``metrics/motifs/generate.json``
"""

from __future__ import annotations

import glob
import inspect
import multiprocessing
import time
from pathlib import Path

import numpy as np
from ase.io import write
from omegaconf import DictConfig, OmegaConf
from scipy.stats import wasserstein_distance
from tqdm import tqdm

from matdisco.core.config import artifact, compose, require
from matdisco.core.errors import ConfigError, InputError
from matdisco.core.io import atomic_dir, atomic_path, atomic_write_json
from matdisco.core.plots import histogram_comparison
from matdisco.core.provenance import run_metadata
from matdisco.core.training import build_trainer, fit, instantiate_model, load_module, save_module
from matdisco.motifs import keys
from matdisco.motifs.environments import GramNormaliser, augment, environments, gram_full, gram_upper, split_cells
from matdisco.motifs.figures import latent_figure, strip_figure, structure_figure
from matdisco.motifs.generate import (
    InpaintSettings, baseline_mean, baseline_random, consensus_position, decode, decode_normalised, encode_mean, environment_atoms,
    inpaint, interpolate, matched_rmsds, mic_distance, sample, split_known, vacancy_candidates,
)
from matdisco.motifs.geometry import aligned_rmsd, coordinates_from_gram, matched_aligned_rmsd, negative_spectrum_fraction
from matdisco.motifs.md import MeltQuench, melt_quench, potential_energy, relax
from matdisco.motifs.structure import (
    REFERENCES, bond_angles, compare_with_references, coordination, rdf, rdf_limit_angstrom, read_cell, structure_report, summarise_reports,
)
from matdisco.motifs.vae import GramDataModule, MotifVAE

FAMILY = "motifs"


# ----------------------------------------------------------------------------------------- paths
def cells_dir(cfg: DictConfig) -> Path:
    """Folder of the simulated (or imported) cells."""
    return artifact(cfg, "processed", FAMILY, "cells")


def environments_path(cfg: DictConfig) -> Path:
    """The extracted environments (npz)."""
    return artifact(cfg, "processed", FAMILY, "environments.npz")


def model_path(cfg: DictConfig) -> Path:
    """The trained VAE checkpoint."""
    return artifact(cfg, "models", FAMILY, "vae.ckpt")


def cell_files(cfg: DictConfig) -> list[Path]:
    """Sorted cell files written by :func:`simulate`; an error if there are none."""
    files = sorted(cells_dir(cfg).glob("*.extxyz"))
    if not files:
        raise InputError("no cells found", str(cells_dir(cfg)), "cell_*.extxyz written by the simulate step")
    return files


# -------------------------------------------------------------------------------------- simulate
def protocol(sim: DictConfig) -> MeltQuench:
    """The melt-quench protocol from a ``simulate`` config."""
    fields = inspect.signature(MeltQuench).parameters
    return MeltQuench(**{name: sim[name] for name in fields if name in sim})


def _run_cell(args: tuple[MeltQuench, int]) -> tuple:
    """Worker: one melt-quench (module level so a process pool can call it)."""
    proto, seed = args
    return melt_quench(proto, seed)


def simulate(cfg: DictConfig) -> dict:
    """Make the a-Si cells (LAMMPS melt-quench, or read ``input_glob``), write them and their structure report."""
    sim = cfg.simulate
    start = time.perf_counter()
    if sim.source == "lammps":
        cells = _melt_quench_cells(sim, int(cfg.seed))
    elif sim.source == "extxyz":
        cells = _imported_cells(sim)
    else:
        raise ConfigError(f"simulate.source must be lammps or extxyz, got {sim.source!r}")
    _write_cells(cells_dir(cfg), cells)
    wall_s = time.perf_counter() - start
    report = _structure_step(cfg, [atoms for _, atoms in cells])
    report["timing"] = {"wall_s": wall_s, "n_cells": len(cells), "n_atoms_total": sum(len(a) for _, a in cells),
                        "cell_wall_s": [float(a.info.get("wall_s", 0.0)) for _, a in cells],
                        "cell_cpu_s": [float(a.info.get("cpu_s", 0.0)) for _, a in cells]}
    atomic_write_json(artifact(cfg, "metrics", FAMILY, "structure.json"), report)
    return {"cells": str(cells_dir(cfg)), "wall_s": wall_s, **report["summary"]}


def _melt_quench_cells(sim: DictConfig, seed: int) -> list[tuple[str, object]]:
    """Run ``n_cells`` seeded melt-quenches (in ``n_workers`` processes); [(name, Atoms)]."""
    proto = protocol(sim)
    seeds = np.random.default_rng(seed).integers(1, 2**31 - 1, size=int(sim.n_cells))
    jobs = [(proto, int(s)) for s in seeds]
    workers = max(1, min(int(sim.n_workers), len(jobs)))
    if workers == 1:
        results = [_run_cell(job) for job in tqdm(jobs, desc="melt-quench")]
    else:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            results = list(tqdm(pool.imap(_run_cell, jobs), total=len(jobs), desc="melt-quench"))
    cells = []
    for k, ((atoms, info), cell_seed) in enumerate(zip(results, seeds)):
        atoms.info.update({keys.INFO_POTENTIAL: proto.potential, keys.INFO_SEED: int(cell_seed), keys.INFO_SOURCE: "lammps", **info})
        cells.append((f"cell_{k:03d}", atoms))
    return cells


def _imported_cells(sim: DictConfig) -> list[tuple[str, object]]:
    """Cells read (and checked) from ``sim.input_glob``; [(name, Atoms)]."""
    if not sim.get("input_glob"):
        raise ConfigError("simulate.source=extxyz needs simulate.input_glob")
    files = sorted(Path(name) for name in glob.glob(str(sim.input_glob)))
    if not files:
        raise InputError(f"no files match {sim.input_glob}", "simulate.input_glob", "extxyz files of periodic Si cells")
    cells = []
    for k, path in enumerate(files):
        atoms = read_cell(path)
        atoms.info.update({keys.INFO_SOURCE: str(path), keys.INFO_POTENTIAL: sim.potential})
        cells.append((f"cell_{k:03d}", atoms))
    return cells


def _write_cells(folder: Path, cells: list[tuple[str, object]]) -> None:
    """Replace ``folder`` with one extxyz per cell, all at once (a failed write leaves the old folder)."""
    with atomic_dir(folder) as staging:
        for name, atoms in cells:
            write(staging / f"{name}.extxyz", atoms, format="extxyz")


def _structure_step(cfg: DictConfig, cells: list) -> dict:
    """Structure report of every cell, its summary next to the references, and the structure plot."""
    analysis = cfg.simulate.analysis
    cutoff = float(analysis.bond_cutoff_angstrom)
    reports, rdfs, angles, cns = {}, {}, {}, {}
    for k, atoms in enumerate(tqdm(cells, desc="structure report")):
        name = f"cell_{k:03d}"
        reports[name] = structure_report(atoms, cutoff, float(analysis.rdf_r_max_angstrom), int(analysis.rdf_bins))
        rdfs[name] = rdf(atoms, min(float(analysis.rdf_r_max_angstrom), rdf_limit_angstrom(atoms)), int(analysis.rdf_bins))
        angles[name] = bond_angles(atoms, cutoff)
        cns[name] = coordination(atoms, cutoff)
    structure_figure(artifact(cfg, "plots", FAMILY, "structure.png"), rdfs, angles, cns,
                     REFERENCES["experiment_laaziri_1999"]["rdf_first_peak_angstrom"])
    summary = summarise_reports(reports)
    return {"summary": summary, "comparison": compare_with_references(summary), "cells": reports, "references": REFERENCES}


# --------------------------------------------------------------------------------------- extract
def extract(cfg: DictConfig) -> dict:
    """Environments and Gram entries of every cell, split by cell, with augmented training copies."""
    data = cfg.data
    require(cfg, "data.r_cut_angstrom", "data.n_neighbours", "data.n_permutations", "data.split.val_cells", "data.split.test_cells")
    files = cell_files(cfg)
    n = int(data.n_neighbours)
    rng = np.random.default_rng(int(cfg.seed))
    splits = split_cells(len(files), int(data.split.val_cells), int(data.split.test_cells), rng)
    parts, deficient = [], {}
    for k, path in enumerate(tqdm(files, desc="environments")):
        coords, counts = environments(read_cell(path), float(data.r_cut_angstrom), n)
        deficient[path.name] = _check_deficient(path, counts, n, float(data.r_cut_angstrom), float(data.max_deficient_fraction))
        good = counts >= n
        parts.append((coords[good], np.full(good.sum(), k), np.flatnonzero(good), np.full(good.sum(), splits[k])))
    coords, cell, atom, split = (np.concatenate(column) for column in zip(*parts))
    train = split == keys.SPLITS["train"]
    aug_gram, aug_perm, aug_source = augment(coords[train], int(data.n_permutations), rng)
    arrays = {
        keys.COORDS: coords, keys.GRAM: gram_upper(coords), keys.CELL: cell, keys.ATOM: atom, keys.SPLIT: split.astype(np.int8),
        keys.CELL_NAMES: np.array([p.name for p in files]), keys.TRAIN_AUG_GRAM: aug_gram, keys.TRAIN_AUG_PERM: aug_perm,
        keys.TRAIN_AUG_SOURCE: np.flatnonzero(train)[aug_source],
    }
    with atomic_path(environments_path(cfg)) as tmp:
        np.savez_compressed(tmp, **arrays)
    metrics = {
        "n_cells": len(files), "n_environments": int(len(coords)), "n_augmented_train_rows": int(len(aug_gram)),
        "n_deficient_environments": int(sum(deficient.values())), "deficient_per_cell": deficient,
        **{f"n_{name}_environments": int(np.sum(split == code)) for name, code in keys.SPLITS.items()},
        "cells_per_split": {name: [files[k].name for k in np.flatnonzero(splits == code)] for name, code in keys.SPLITS.items()},
    }
    atomic_write_json(artifact(cfg, "metrics", FAMILY, "extract.json"), metrics)
    return {"environments": str(environments_path(cfg)), **{k: v for k, v in metrics.items() if k.startswith("n_")}}


def _check_deficient(path: Path, counts: np.ndarray, n: int, r_cut: float, max_fraction: float) -> int:
    """Number of environments with fewer than n neighbours in r_cut; an error above ``max_fraction``."""
    short = int(np.sum(counts < n))
    if short > max_fraction * len(counts):
        raise InputError(
            f"{short} of {len(counts)} atoms have fewer than {n} neighbours within {r_cut} A "
            f"(fewest: {int(counts.min())})", str(path), f"at most a fraction {max_fraction} (data.max_deficient_fraction)")
    return short


def load_environments(cfg: DictConfig) -> dict[str, np.ndarray]:
    """Arrays written by :func:`extract` (see :mod:`matdisco.motifs.keys`)."""
    path = environments_path(cfg)
    if not path.is_file():
        raise InputError("environments file does not exist", str(path), "the output of the extract step")
    with np.load(path) as npz:
        return {name: npz[name] for name in npz.files}


def split_rows(arrays: dict, name: str) -> np.ndarray:
    """Row indices of the environments in split ``name`` (train, val, test)."""
    return np.flatnonzero(arrays[keys.SPLIT] == keys.SPLITS[name])


# ----------------------------------------------------------------------------------------- train
def build_module(cfg: DictConfig, input_dim: int, normaliser: GramNormaliser) -> MotifVAE:
    """The configured VAE for ``input_dim`` Gram entries, carrying the normaliser's statistics."""
    return instantiate_model(cfg.model, input_dim=input_dim, normaliser=normaliser.to_dict())


def train(cfg: DictConfig) -> dict:
    """Fit the VAE on augmented training Gram entries (normalised with training statistics), save it."""
    arrays = load_environments(cfg)
    train_gram = arrays[keys.TRAIN_AUG_GRAM]
    normaliser = GramNormaliser.fit(arrays[keys.GRAM][split_rows(arrays, "train")])
    val_gram = arrays[keys.GRAM][split_rows(arrays, "val")]
    module = build_module(cfg, train_gram.shape[1], normaliser)
    datamodule = GramDataModule(normaliser.normalise(train_gram), normaliser.normalise(val_gram), cfg.model.training.batch_size, int(cfg.seed))
    start = time.perf_counter()
    final = fit(cfg, module, datamodule, artifact(cfg, "logs", FAMILY), "motifs_vae",
                run_metadata(cfg, [environments_path(cfg)]), group=FAMILY)
    train_time_s = time.perf_counter() - start
    save_module(model_path(cfg), module)
    atomic_write_json(artifact(cfg, "models", FAMILY, "normaliser.json"), normaliser.to_dict())
    metrics = {"train_time_s": train_time_s, "epochs": int(module.current_epoch), "n_train_rows": int(len(train_gram)),
               "n_parameters": int(sum(p.numel() for p in module.parameters())), **final}
    atomic_write_json(artifact(cfg, "metrics", FAMILY, "train.json"), metrics)
    return {"model": str(model_path(cfg)), "objective": final.get("val/loss"), **metrics}


def load_trained(cfg: DictConfig) -> tuple[MotifVAE, GramNormaliser]:
    """The trained model and the normaliser stored in it."""
    path = model_path(cfg)
    if not path.is_file():
        raise InputError("model checkpoint does not exist", str(path), "the output of the train step")
    model, _ = load_module(path)
    return model, GramNormaliser.from_dict(model.hparams.normaliser)


# -------------------------------------------------------------------------------------- evaluate
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
        "w1_distance_angstrom": float(wasserstein_distance(neighbour_distances(generated), neighbour_distances(reference))),
        "w1_angle_deg": float(wasserstein_distance(centre_angles(generated), centre_angles(reference))),
        "w1_bond_angle_deg": float(wasserstein_distance(centre_angles(generated, bond_cutoff_angstrom),
                                                        centre_angles(reference, bond_cutoff_angstrom))),
    }


def validity(coords: np.ndarray, gram: np.ndarray, discarded: np.ndarray, ev: DictConfig) -> dict[str, float]:
    """Fractions of environments (B, n, 3) with atoms too close, a strongly non-PSD Gram (B, n, n), or either."""
    close = min_pair_distance(coords) < float(ev.min_distance_angstrom)
    non_psd = negative_spectrum_fraction(gram) > float(ev.max_negative_fraction)
    return {"fraction_atoms_too_close": float(close.mean()), "fraction_non_psd": float(non_psd.mean()),
            "fraction_invalid": float((close | non_psd).mean()), "discarded_fraction_median": float(np.median(discarded))}


def sampled_grams(model: MotifVAE, normaliser: GramNormaliser, n_samples: int, seed: int) -> np.ndarray:
    """Gram matrices (n_samples, n, n) in Angstrom^2 decoded from z ~ N(0, 1)."""
    z = np.random.default_rng(seed).standard_normal((n_samples, int(model.hparams.latent_dim)))
    return gram_full(normaliser.denormalise(decode_normalised(model, z)))


def evaluate(cfg: DictConfig) -> dict:
    """Reconstruction on held-out cells, sample distributions against MD, validity, latent plot."""
    ev = cfg.data.evaluate
    arrays = load_environments(cfg)
    model, normaliser = load_trained(cfg)
    test = split_rows(arrays, "test")
    coords, gram = arrays[keys.COORDS][test], arrays[keys.GRAM][test]
    restore = bool(cfg.data.restore_norms)
    cutoff = float(ev.bond_cutoff_angstrom)
    metrics = {"decoding": "restore_norms" if restore else "spectral",
               "reconstruction": _reconstruction(model, normaliser, coords, gram, restore, cfg)}
    grams = sampled_grams(model, normaliser, int(ev.n_samples), int(cfg.seed))
    decoded = {name: coordinates_from_gram(grams, restore_norms=flag) for name, flag in (("samples", restore), ("samples_spectral_only", False))}
    for name, (samples, discarded) in decoded.items():
        metrics[name] = {"n_samples": int(ev.n_samples), **distribution_metrics(samples, coords, cutoff), **validity(samples, grams, discarded, ev)}
    train_coords = arrays[keys.COORDS][split_rows(arrays, "train")]
    metrics["md_train_vs_test"] = distribution_metrics(train_coords, coords, cutoff)
    metrics["md_test_validity"] = validity(coords, gram_full(gram), np.zeros(len(coords)), ev)
    _evaluation_plots(cfg, model, normaliser, decoded["samples"][0], coords)
    atomic_write_json(artifact(cfg, "metrics", FAMILY, "evaluate.json"), metrics)
    return {"objective": metrics["reconstruction"]["rmsd_o3_angstrom_median"], **_flat(metrics)}


def _reconstruction(model: MotifVAE, normaliser: GramNormaliser, coords: np.ndarray, gram: np.ndarray, restore_norms: bool,
                    cfg: DictConfig) -> dict:
    """Gram MSE (normalised) and coordinate RMSD (O(3) and Kabsch; labels fixed) of mean reconstructions."""
    z = encode_mean(model, normaliser, gram)
    gram_mse = np.mean((decode_normalised(model, z) - normaliser.normalise(gram)) ** 2, axis=1)
    decoded, discarded = decode(model, normaliser, z, restore_norms)
    o3 = aligned_rmsd(decoded, coords, proper=False)
    kabsch = aligned_rmsd(decoded, coords, proper=True)
    matched = np.array([matched_aligned_rmsd(d, c) for d, c in zip(decoded, coords)])
    histogram_comparison(artifact(cfg, "plots", FAMILY, "reconstruction.png"),
                         {"O(3)": o3, "SO(3) (Kabsch)": kabsch, "O(3), Hungarian relabelling": matched},
                         "reconstruction RMSD (Angstrom)", title="held-out environments")
    return {"n_environments": int(len(coords)), "gram_mse_normalised_median": float(np.median(gram_mse)),
            "gram_mse_normalised_p90": float(np.percentile(gram_mse, 90)), "gram_mse_normalised_mean": float(gram_mse.mean()),
            "rmsd_o3_angstrom_median": float(np.median(o3)), "rmsd_o3_angstrom_p90": float(np.percentile(o3, 90)),
            "rmsd_kabsch_angstrom_median": float(np.median(kabsch)), "rmsd_kabsch_angstrom_p90": float(np.percentile(kabsch, 90)),
            "rmsd_o3_relabelled_angstrom_median": float(np.median(matched)), "rmsd_o3_relabelled_angstrom_p90": float(np.percentile(matched, 90)),
            "discarded_fraction_median": float(np.median(discarded))}


def _evaluation_plots(cfg: DictConfig, model: MotifVAE, normaliser: GramNormaliser, samples: np.ndarray, coords: np.ndarray) -> None:
    """Distance and angle histograms (samples vs held-out MD) and the latent-space scatter."""
    histogram_comparison(artifact(cfg, "plots", FAMILY, "distances.png"),
                         {"held-out MD": neighbour_distances(coords), "VAE samples": neighbour_distances(samples)},
                         "centre-neighbour distance (Angstrom)")
    histogram_comparison(artifact(cfg, "plots", FAMILY, "angles.png"),
                         {"held-out MD": centre_angles(coords), "VAE samples": centre_angles(samples)},
                         "neighbour-centre-neighbour angle (degrees)")
    z = encode_mean(model, normaliser, gram_upper(coords))
    centred = z - z.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    cn = np.sum(np.linalg.norm(coords, axis=-1) < float(cfg.data.evaluate.bond_cutoff_angstrom), axis=1)
    latent_figure(artifact(cfg, "plots", FAMILY, "latent.png"), centred @ vt[:2].T, cn, "centre coordination")


def _flat(metrics: dict, prefix: str = "") -> dict:
    """Nested dict flattened to ``a/b`` keys (for the step's printed result)."""
    flat = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}/"))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


# -------------------------------------------------------------------------------------- generate
def generate(cfg: DictConfig) -> dict:
    """Samples, a latent interpolation, inpainting for k known atoms, and vacancy refilling."""
    arrays = load_environments(cfg)
    model, normaliser = load_trained(cfg)
    rng = np.random.default_rng(int(cfg.seed))
    held_out = arrays[keys.COORDS][split_rows(arrays, "test")]
    radius = float(np.mean(np.linalg.norm(arrays[keys.COORDS][split_rows(arrays, "train")], axis=-1)))
    metrics = {
        "samples": _samples(cfg, model, normaliser, rng),
        "interpolation": _interpolation(cfg, model, normaliser, held_out),
        "inpainting": _inpainting(cfg, model, normaliser, held_out, radius, rng),
        "vacancy": _vacancy(cfg, model, normaliser, arrays, radius, rng),
    }
    atomic_write_json(artifact(cfg, "metrics", FAMILY, "generate.json"), metrics)
    return _flat(metrics)


def write_frames(path: Path, frames: list) -> Path:
    """Write a list of ``Atoms`` as one extxyz file, atomically."""
    with atomic_path(path) as tmp:
        write(tmp, frames, format="extxyz")
    return path


def inpaint_settings(cfg: DictConfig) -> InpaintSettings:
    """Inpainting optimisation settings from ``model.generate.inpaint``."""
    section = cfg.data.generate.inpaint
    return InpaintSettings(steps=int(section.steps), lr=float(section.lr), n_restarts=int(section.n_restarts),
                           prior_weight=float(section.prior_weight), restore_norms=bool(cfg.data.restore_norms))


def _samples(cfg: DictConfig, model: MotifVAE, normaliser: GramNormaliser, rng: np.random.Generator) -> dict:
    """Decode z ~ N(0, 1) and write the environments as extxyz (centre first)."""
    coords, discarded = sample(model, normaliser, int(cfg.data.generate.n_samples), rng, bool(cfg.data.restore_norms))
    frames = [environment_atoms(c, {"discarded_fraction": float(d)}) for c, d in zip(coords, discarded)]
    path = write_frames(artifact(cfg, "results", FAMILY, "samples.extxyz"), frames)
    return {"path": str(path), "n_samples": len(frames)}


def _interpolation(cfg: DictConfig, model: MotifVAE, normaliser: GramNormaliser, held_out: np.ndarray) -> dict:
    """Latent path from a 4-fold to a 5-fold held-out environment (or the first two), extxyz + PNG strip."""
    cutoff = float(cfg.data.evaluate.bond_cutoff_angstrom)
    cn = np.sum(np.linalg.norm(held_out, axis=-1) < cutoff, axis=1)
    four, five = np.flatnonzero(cn == 4), np.flatnonzero(cn == 5)
    start, end = (four[0], five[0]) if len(four) and len(five) else (0, 1)
    frames, discarded = interpolate(model, normaliser, held_out[start], held_out[end], int(cfg.data.generate.interpolation_frames),
                                    bool(cfg.data.restore_norms))
    steps = np.sqrt(np.mean(np.sum(np.diff(frames, axis=0) ** 2, axis=-1), axis=-1))
    write_frames(artifact(cfg, "results", FAMILY, "interpolation.extxyz"),
                 [environment_atoms(f, {"frame": k, "discarded_fraction": float(d)}) for k, (f, d) in enumerate(zip(frames, discarded))])
    strip_figure(artifact(cfg, "plots", FAMILY, "interpolation.png"), frames, cutoff,
                 f"latent interpolation: {cn[start]}-fold -> {cn[end]}-fold centre (x-y projection)")
    return {"start_coordination": int(cn[start]), "end_coordination": int(cn[end]), "max_frame_step_rmsd_angstrom": float(steps.max()),
            "mean_frame_step_rmsd_angstrom": float(steps.mean()), "end_rmsd_o3_angstrom": float(aligned_rmsd(frames[-1], held_out[end], False)),
            "max_discarded_fraction": float(discarded.max())}


def _inpainting(cfg: DictConfig, model: MotifVAE, normaliser: GramNormaliser, held_out: np.ndarray, radius: float,
                rng: np.random.Generator) -> dict:
    """RMSD of infilled atoms (Hungarian-matched) vs truth for each k, against random and mean placement."""
    section = cfg.data.generate.inpaint
    settings = inpaint_settings(cfg)
    picks = rng.choice(len(held_out), size=min(int(section.n_environments), len(held_out)), replace=False)
    results, examples = {}, []
    for k in section.k_known:
        known, missing = split_known(held_out[picks], int(k), rng)
        filled = inpaint(model, normaliser, known, settings, rng)
        model_rmsd = matched_rmsds(filled["infilled"], missing)
        random_rmsd = matched_rmsds(baseline_random(known, missing.shape[1], radius, rng), missing)
        mean_rmsd = matched_rmsds(baseline_mean(known, missing.shape[1], radius), missing)
        results[f"k{k}"] = {
            "n_environments": len(picks), "model_rmsd_angstrom_median": float(np.median(model_rmsd)),
            "model_rmsd_angstrom_mean": float(model_rmsd.mean()), "random_baseline_rmsd_angstrom_median": float(np.median(random_rmsd)),
            "mean_baseline_rmsd_angstrom_median": float(np.median(mean_rmsd)),
            "fraction_model_beats_random": float(np.mean(model_rmsd < random_rmsd)),
            "known_atoms_rmsd_angstrom_median": float(np.median(filled["known_rmsd"])),
        }
        examples += [environment_atoms(np.vstack([kn, fi]), {"k_known": int(k), "infilled_rmsd_angstrom": float(r)})
                     for kn, fi, r in zip(known[:10], filled["infilled"][:10], model_rmsd[:10])]
    write_frames(artifact(cfg, "results", FAMILY, "inpainting.extxyz"), examples)
    return results


def _vacancy(cfg: DictConfig, model: MotifVAE, normaliser: GramNormaliser, arrays: dict, radius: float, rng: np.random.Generator) -> dict:
    """Remove atoms of a held-out cell one at a time and put each back by inpainting its neighbours' environments."""
    test_cell = int(arrays[keys.CELL][split_rows(arrays, "test")][0])
    path = cells_dir(cfg) / str(arrays[keys.CELL_NAMES][test_cell])
    atoms = read_cell(path)
    potential = str(atoms.info.get(keys.INFO_POTENTIAL, cfg.get("simulate", {}).get("potential", "edip")))
    reference_energy = potential_energy(atoms, potential)
    sites = rng.choice(len(atoms), size=min(int(cfg.data.generate.vacancy.n_sites), len(atoms)), replace=False)
    rows, frames = [], []
    for site in tqdm(sites, desc="vacancy refill"):
        found = vacancy_candidates(model, normaliser, atoms, int(site), float(cfg.data.evaluate.bond_cutoff_angstrom),
                                   float(cfg.data.r_cut_angstrom), inpaint_settings(cfg), rng)
        baseline = found["centres"] + baseline_mean(found["known"], 1, radius)[:, 0]
        row = {"site": int(site), "n_bonded": len(found["centres"])}
        for name, candidates in (("model", found["model"]), ("mean_baseline", baseline)):
            position = consensus_position(candidates, atoms)
            refilled = found["vacancy"].copy()
            refilled.append("Si")
            refilled.positions[-1] = position
            relaxed, relaxed_energy = relax(refilled, potential)
            row[f"{name}_displacement_angstrom"] = mic_distance(position, atoms.positions[site], atoms)
            row[f"{name}_delta_energy_eV"] = potential_energy(refilled, potential) - reference_energy
            row[f"{name}_relaxed_delta_energy_eV"] = relaxed_energy - reference_energy
            row[f"{name}_relaxed_displacement_angstrom"] = mic_distance(relaxed.positions[-1], atoms.positions[site], atoms)
            if name == "model":
                refilled.info.update({"site": int(site), "displacement_angstrom": row["model_displacement_angstrom"]})
                frames.append(refilled)
        rows.append(row)
    write_frames(artifact(cfg, "results", FAMILY, "vacancy.extxyz"), frames)
    summary = {f"{key}_median": float(np.median([row[key] for row in rows])) for key in rows[0] if key not in ("site", "n_bonded")}
    return {"cell": path.name, "potential": potential, "n_sites": len(rows), **summary, "sites": rows}


# ----------------------------------------------------------------------------------------- bench
def bench(cfg: DictConfig) -> dict:
    """Environments generated per second (decode + coordinates) vs MD seconds per environment; training time.

    Runs one cell of ``md_full`` (the honest MD cost), trains the configured VAE for a few epochs
    on its environments, and times decoding of 10,000 samples; adds the pipeline's recorded MD
    and training times when their metrics files exist.
    """
    cfg = _bench_config(cfg)
    rng = np.random.default_rng(int(cfg.seed))
    atoms, md_info = melt_quench(protocol(cfg.simulate), int(rng.integers(1, 2**31 - 1)))
    md_s = md_info["wall_s"]
    coords, counts = environments(atoms, float(cfg.data.r_cut_angstrom), int(cfg.data.n_neighbours))
    grams, _, _ = augment(coords[counts >= int(cfg.data.n_neighbours)], int(cfg.data.n_permutations), rng)
    normaliser = GramNormaliser.fit(grams)
    module = build_module(cfg, grams.shape[1], normaliser)
    epoch_s = _time_epochs(cfg, module, normaliser.normalise(grams), n_epochs=5)
    per_second = _decode_rate(module.eval(), normaliser, rng, n_samples=10000)
    results = {"md_cell_wall_s": md_s, "md_cell_cpu_s": md_info["cpu_s"], "md_atoms": len(atoms), "md_s_per_environment": md_s / len(atoms),
               "md_cpu_s_per_environment": md_info["cpu_s"] / len(atoms),
               "generated_environments_per_s": per_second, "speedup_vs_md": per_second * md_s / len(atoms),
               "train_s_per_epoch": epoch_s, "train_rows": int(len(grams))}
    results.update(_recorded_times(cfg))
    return results


def _bench_config(cfg: DictConfig) -> DictConfig:
    """``cfg`` with the motifs options (md_full, motifs, motifs_vae) composed in when it lacks them."""
    motifs = compose(["simulate=md_full", "data=motifs", "model=motifs_vae"])
    merged = cfg.copy()
    OmegaConf.set_struct(merged, False)
    for group in ("simulate", "data", "model"):
        if merged.get(group) is None or merged[group].get("family") != FAMILY:
            merged[group] = motifs[group]
    return merged


def _time_epochs(cfg: DictConfig, module: MotifVAE, rows: np.ndarray, n_epochs: int) -> float:
    """Seconds per training epoch over ``rows`` (N, P) with the configured batch size (no loggers)."""
    run_cfg = cfg.copy()
    OmegaConf.set_struct(run_cfg, False)
    run_cfg.trainer.update({"max_epochs": n_epochs, "early_stopping_patience": None, "enable_progress_bar": False})
    trainer = build_trainer(run_cfg, loggers=[])
    start = time.perf_counter()
    trainer.fit(module, datamodule=GramDataModule(rows, rows[:256], cfg.model.training.batch_size, int(cfg.seed)))
    return (time.perf_counter() - start) / n_epochs


def _decode_rate(model: MotifVAE, normaliser: GramNormaliser, rng: np.random.Generator, n_samples: int) -> float:
    """Environments per second for sampling z, decoding and Gram -> coordinates (best of 3)."""
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        sample(model, normaliser, n_samples, rng)
        best = min(best, time.perf_counter() - start)
    return n_samples / best


def _recorded_times(cfg: DictConfig) -> dict:
    """MD seconds per environment and training time recorded by the last pipeline run, if any."""
    import json

    recorded = {}
    structure = artifact(cfg, "metrics", FAMILY, "structure.json")
    if structure.is_file():
        timing = json.loads(structure.read_text())["timing"]
        recorded["pipeline_md_wall_s_per_environment"] = timing["wall_s"] / timing["n_atoms_total"]
    trained = artifact(cfg, "metrics", FAMILY, "train.json")
    if trained.is_file():
        recorded["pipeline_train_time_s"] = json.loads(trained.read_text())["train_time_s"]
    return recorded
