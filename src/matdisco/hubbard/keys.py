"""Field names of the Hubbard data: one place for every record key and table column.

Units: energies (U, V) in eV, distances in angstrom, magnetic moments in Bohr magnetons,
times in seconds. Occupation matrices are per Hubbard atom and spin, shape (nspin, m, m) with
m = 2l + 1 (5 for 3d, 3 for 2p), as printed by pw.x (three decimals).
"""

# --- one record = one self-consistent iteration (DFT+U(+V) SCF followed by hp.x) -------------
RECORD_ID = "record_id"  # str: "<path_id>/iter_<k>"
PATH_ID = "path_id"  # str: one self-consistent path = one structure (material + strain)
MATERIAL = "material"  # str: e.g. "NiO", "LiCoO2", "Li0.5CoO2"
STRAIN = "strain"  # float: isotropic strain, 0.01 = +1 %
DISTORTION = "distortion"  # str | None: name of the symmetry-lowering distortion (config simulate.distortions)
ITERATION = "iteration"  # int: 0 for the first (U_in from config), 1, 2, ...
STATUS = "status"  # "ok" | "failed"
SEEDED_FROM = "seeded_from"  # str: settings-study record id an iteration 0 was taken from (campaign.seeded_record)
REASON = "reason"  # str: why a calculation failed (file and line where known)
CONVERGED = "converged"  # bool: |U_out - U_in| and |V_out - V_in| below the tolerance
MAX_DELTA_EV = "max_delta_eV"  # float: max |out - in| over all U and V of this iteration, eV

STRUCTURE = "structure"  # dict: symbols, cell_angstrom (3x3), positions_angstrom (nat x 3), pbc
SYMBOLS = "symbols"
LABELS = "labels"  # QE species label per atom (e.g. Ni1/Ni2 for the two AFM sublattices)
CELL = "cell_angstrom"
POSITIONS = "positions_angstrom"

HUBBARD_IN = "hubbard_in"  # list of {atom_i, atom_j, value_eV}: what pw.x ran with (i == j: U)
HUBBARD_OUT = "hubbard_out"  # list of {atom_i, atom_j, value_eV}: hp.x's parameters.out (next input)
VALUE = "value_eV"  # U (i == j) or V (i != j) of a Hubbard entry, eV
SITES = "sites"  # list of per-Hubbard-atom dicts (below)
PAIRS = "pairs"  # list of inter-site pair dicts (below)

# per site
ATOM_INDEX = "atom_index"  # int, 1-based as in QE
SPECIES = "species"  # chemical symbol
LABEL = "label"  # QE species label
OCCUPATIONS = "occupations"  # list (nspin x m x m)
MAGNETIC_MOMENT = "magnetic_moment_muB"  # float, from "Magnetic moment per site"
U_IN = "u_in_eV"
U_OUT = "u_out_eV"

# per pair
ATOM_I = "atom_i"  # 1-based atom in the cell
ATOM_J = "atom_j"  # 1-based atom in QE's 3x3x3 supercell numbering (Hubbard_V(i, j, 1))
ATOM_J_CELL = "atom_j_cell"  # 1-based atom in the cell that atom_j is an image of
SPECIES_I = "species_i"
SPECIES_J = "species_j"
DISTANCE = "distance_angstrom"
V_IN = "v_in_eV"
V_OUT = "v_out_eV"

# per-iteration diagnostics
GAP_EV = "gap_eV"  # float | None: LUMO - HOMO of fixed-occupation runs, eV (None with smearing)
ENERGY_RY = "total_energy_Ry"
TOTAL_MAGNETIZATION = "total_magnetization_muB"
SCF_ITERATIONS = "scf_iterations"
TIMINGS = "timings_s"  # dict: step name -> wall seconds
CPU_TIME = "cpu_time_s"  # float: wall s x MPI ranks summed over the steps (core-seconds held; >= CPU time)
QE_CPU_TIMINGS = "qe_cpu_timings_s"  # dict: step name -> CPU s that pw.x/hp.x report (rank 0) x MPI ranks
QE_CPU_TIME = "qe_cpu_time_s"  # float: sum of QE_CPU_TIMINGS (unlike CPU_TIME, not inflated by jobs sharing a core)
SETTINGS = "settings"  # dict: cutoffs, meshes, thresholds of the calculation (data set v3: k mesh per material)
PROVENANCE = "provenance"  # dict: QE version, pseudopotential md5, input files

# --- extracted tables (data/processed/hubbard/*.parquet) -------------------------------------
OCC_UP = "occ_up"  # flattened m x m occupation, spin up (or the only spin), list of floats
OCC_DOWN = "occ_down"  # flattened m x m occupation, spin down (equals occ_up when nspin = 1)
OCC_I_UP = "occ_i_up"
OCC_I_DOWN = "occ_i_down"
OCC_J_UP = "occ_j_up"
OCC_J_DOWN = "occ_j_down"
N_ORBITALS = "n_orbitals"  # m
N_ORBITALS_I = "n_orbitals_i"
N_ORBITALS_J = "n_orbitals_j"
SPLIT_BY_PATH = "split_by_path"  # "train" | "val" | "test", grouped by PATH_ID
SPLIT_BY_MATERIAL = "split_by_material"  # "train" | "val" | "test", grouped by MATERIAL

# --- metrics files: keys of metrics/hubbard/evaluate.json (hubbard.evaluate.evaluate_metrics) --
VARIANTS = "variants"  # dict: variant name -> its scores (hubbard.evaluate.variant_metrics)
VARIANT_MODEL = "model"  # str: the variant's name (hubbard.data.run_name)
VARIANT_KIND = "kind"  # str: "u" | "v"
PARAMETER = "parameter"  # str: "U" | "V"
TARGET_CHOICE = "target"  # str: "next" | "converged" (model.training.target)
N_POINTS = "n_points"  # int: rows of the variant's table
N_PATHS = "n_paths"  # int: self-consistent paths among them
MODEL_PREDICTOR = "model"  # the trained model's entry among the predictors of a holdout (hubbard.scoring.MODEL)
SCHEMES = "schemes"  # dict: holdout -> scores (hubbard.scoring.fold_metrics); "<scheme> (pooled)" over its folds
SKIPPED = "skipped"  # dict: holdout -> why it was not scored
CPU_S = "cpu_s"  # float: CPU seconds of the variant's evaluation
POOLED = " (pooled)"  # suffix of a blocked scheme scored over all its folds
HEADLINE = (
    "headline"  # dict: the model's score on the holdout data.evaluate.headline names (+ "holdout"), or a "status"
)
HOLDOUT = "holdout"  # str: the holdout (a key of SCHEMES) a headline score is from
EXTRACT_SPLIT = "extract_split"  # holdout name: the test paths of the extract's grouped split
