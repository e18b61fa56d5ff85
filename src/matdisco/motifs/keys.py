"""Field names of the motifs family (one place), with shapes and units.

Arrays in ``environments.npz`` (N environments, n neighbours, P = n (n + 1) / 2 Gram entries):
"""

# --- environments.npz -------------------------------------------------------------------------
COORDS = "coords_angstrom"
"""(N, n, 3) float64: neighbour positions relative to the centre atom, in Angstrom, ordered by rule."""
GRAM = "gram_upper_angstrom2"
"""(N, P) float64: upper triangle with diagonal of the Gram matrix x^i . x^j, row-major, Angstrom^2."""
CELL = "cell_index"
"""(N,) int64: index of the cell the environment comes from (position in the sorted cell list)."""
ATOM = "atom_index"
"""(N,) int64: index of the centre atom in its cell."""
SPLIT = "split"
"""(N,) int8: 0 train, 1 val, 2 test (assigned per cell)."""
CELL_NAMES = "cell_names"
"""(n_cells,) str: file names of the cells, indexed by ``CELL``."""
TRAIN_AUG_GRAM = "train_augmented_gram_upper_angstrom2"
"""(N_train * (1 + n_perm), P) float64: training Gram entries, originals followed by permuted copies."""
TRAIN_AUG_PERM = "train_augmented_permutation"
"""(N_train * (1 + n_perm), n) int64: neighbour-label permutation that produced each augmented row."""
TRAIN_AUG_SOURCE = "train_augmented_source"
"""(N_train * (1 + n_perm),) int64: row in the environment arrays that each augmented row comes from."""

SPLITS = {"train": 0, "val": 1, "test": 2}

# --- atoms.info keys of the cells written by simulate ------------------------------------------
INFO_POTENTIAL = "potential"
INFO_SEED = "seed"
INFO_ENERGY = "energy_eV"
"""Potential energy of the final (minimised) cell with the MD potential, eV."""
INFO_SNAP_ENERGY = "snap_energy_eV"
"""Energy after the optional SNAP relaxation, eV."""
INFO_SOURCE = "source"

# --- normalisation statistics (stored with the model) -----------------------------------------
MU_DIAG = "mu_diag_angstrom2"
SIGMA_DIAG = "sigma_diag_angstrom2"
MU_OFF = "mu_offdiag_angstrom2"
SIGMA_OFF = "sigma_offdiag_angstrom2"

# --- metrics files: keys of metrics/motifs/evaluate.json and generate.json ----------------------
# (motifs.evaluate.evaluate_metrics, motifs.generate.generate_metrics)
DECODING = "decoding"  # str: "spectral" | "restore_norms"
RECONSTRUCTION = "reconstruction"  # dict: Gram and RMSD errors of the held-out environments
SAMPLES = "samples"  # dict: samples of the configured latent density against held-out MD (evaluate); the written samples (generate)
SAMPLES_STANDARD_NORMAL = "samples_standard_normal"  # dict: as SAMPLES, z ~ N(0, 1)
LATENT_DENSITY = "latent_density"  # str: kind of the latent density sampled
N_SAMPLES = "n_samples"
NOVELTY = "novelty"  # dict: distances of samples and held-out MD to training (motifs.scoring.novelty)
NOISE_ROBUSTNESS = "noise_robustness"  # dict: motifs.scoring.noise_robustness
RECONSTRUCTION_VS_BASELINES = "reconstruction_vs_baselines"  # dict: predictor -> shell RMSDs (Angstrom)
CELL_FOLDS = "cell_folds"  # dict: cell-level cross-validation (motifs.folds), when run
MD_TRAIN_VS_TEST = "md_train_vs_test"  # dict: distribution distances of MD train vs test (the floor)
MD_TEST_VALIDITY = "md_test_validity"  # dict: validity of the held-out MD environments
INTERPOLATION = "interpolation"  # dict: the latent path (motifs.generate.interpolation_metrics)
INPAINTING = "inpainting"  # dict: "k<known>" -> scores (motifs.generate.inpainting_entry)
VACANCY = "vacancy"  # dict: hole refilling (motifs.generate.vacancy_metrics)
VACANCY_METHODS = ("model", "tetrahedral_growth", "largest_hole")  # hole refillers: the model, then its baselines
VACANCY_SCORES = ("rmsd_angstrom", "delta_energy_eV", "relaxed_delta_energy_eV", "relaxed_rmsd_angstrom")
"""Per hole and refiller (``<method>_<score>``): RMSD to the removed atoms, energy change, both after relaxation too."""
