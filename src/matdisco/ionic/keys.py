"""Column and field names of the ionic-liquid tables (one place for all of them)."""

# Raw snapshot columns (salty-ilthermo electrical_conductivity.csv)
RAW_SIGMA = "Electrical conductivity, S/m"
RAW_PRESSURE = "Pressure, kPa"
RAW_TEMPERATURE = "Temperature, K"
RAW_SALT_NAME = "salt_name"

# Curated points table (data/processed/ionic/points.parquet), one row per measurement
IL_ID = "il_id"  # str: stable id of the ionic liquid (canonical salt SMILES hash)
SALT_NAME = "salt_name"  # str: ILThermo name of the salt
SALT_SMILES = "salt_smiles"  # str: canonical SMILES of one formula unit, ions joined by '.'
CATION_SMILES = "cation_smiles"  # str: canonical SMILES of the cation
ANION_SMILES = "anion_smiles"  # str: canonical SMILES of the anion
CATION_NAME = "cation_name"
ANION_NAME = "anion_name"
TEMPERATURE_K = "temperature_K"  # float: temperature in kelvin
PRESSURE_KPA = "pressure_kPa"  # float: pressure in kPa
SIGMA_S_PER_M = "sigma_S_per_m"  # float: electrical conductivity in S/m
LN_SIGMA = "ln_sigma"  # float: ln(sigma / (1 S/m))
NAME_SOURCE = "name_source"  # str: which table mapped the name to SMILES
DATASET = "dataset"  # int: raw data set (run of consecutive raw rows of one salt name)
SALT_KEY = "salt_key"  # str: cation InChIKey + "." + anion InChIKey (resonance forms share it)
SOURCE = "source"  # int: source block (run of consecutive data sets with one T/P signature)

# Ion table (data/processed/ionic/ions.parquet)
ION_SMILES = "ion_smiles"
ION_NAME = "ion_name"
ION_CHARGE = "charge_e"  # int: net formal charge in units of e
ION_ROLE = "role"  # "cation" | "anion"

# Predictions and screening
PRED_LN_SIGMA = "pred_ln_sigma"
PRED_LN_SIGMA_STD = "pred_ln_sigma_std"  # ensemble standard deviation, ln units
PRED_SIGMA_S_PER_M = "pred_sigma_S_per_m"
UNSEEN_TYPES = "unseen_atom_types"  # str: atom types absent from training ('' if none)
SPLIT = "split"  # str: "train" | "val" | "test"
MODEL = "model"
FOLD = "fold"

# Metrics files: keys of metrics/ionic/evaluate.json (ionic.evaluate.evaluate_metrics)
PREDICTORS = "predictors"  # dict: predictor name -> {KIND, OUT_OF_FOLD, kfold}
KIND = "kind"  # str: "baseline" | "model"
OUT_OF_FOLD = "out_of_fold"  # dict: metric -> {value, ci_low, ci_high} (ionic.scoring.interval_summary)
DIFFERENCES = "differences"  # dict: "<model>_minus_<baseline>" -> metric -> {value, ci_low, ci_high, p_model_better}
APPLICABILITY = "applicability"  # dict: ion-coverage class -> counts and scores (ionic.scoring.applicability_summary)
COUNTS = "counts"  # dict: the counts below
CALIBRATION = "calibration"  # dict: level, predictor -> conformal half-widths and coverage (ionic.calibration)
MOLAR_VOLUME_MODEL = "molar_volume_model"  # dict: errors of the molar-volume model (ionic.molar_volume)
LITERATURE = "literature"  # dict: the published figures the page quotes beside ours
R2_AT_REFERENCE_T = "r2_at_reference_T"  # R^2 of ln sigma across ILs at REFERENCE_TEMPERATURE_K
SPEARMAN_AT_REFERENCE_T = "spearman_at_reference_T"  # Spearman rank correlation across ILs at REFERENCE_TEMPERATURE_K
N_FOLDS = "n_folds"
N_POINTS = "n_points"  # int: out-of-fold points every predictor is scored on
N_ILS = "n_ils"
N_ILS_AT_REFERENCE_T = "n_ils_at_reference_T"  # int: ILs with a point within WINDOW_K of REFERENCE_TEMPERATURE_K
REFERENCE_TEMPERATURE_K = "reference_temperature_K"  # float: temperature of the across-IL scores, K
WINDOW_K = "window_K"  # float: half-width of the temperature window around it, K
N_POINTS_LAMBDA = "n_points_lambda"  # int: points with a density (molar conductivity scores)
N_ILS_LAMBDA = "n_ils_lambda"
N_RESAMPLES = "n_resamples"  # int: IL-bootstrap resamples behind every interval
N_ILS_EXCLUDED_UNSEEN_TYPES = "n_ils_excluded_unseen_types"  # int: ILs no additive model can predict

# Metrics files: keys of metrics/ionic/screening.json (ionic.generate.screening_metrics)
MODEL_DESCRIPTION = "model_description"  # str: the ranking model and what it was fitted on
RULES = "rules"  # dict: the screening rules (ionic.screening.Rules)
MELTING_CV = "melting_cv"  # dict: cross-validation of the melting-point model (ionic.melting)
HALF_WIDTH_LN = "half_width_ln"  # dict: calibrated interval half-widths, ln units
N_TEMPERATURES = "n_temperatures"
TOP_PAIR = "top_pair"  # str: "<cation> + <anion>" ranked first
TOP_SIGMA_S_PER_M = "top_sigma_S_per_m"  # float: its predicted sigma, S/m
TALK_REFERENCE_PAIRS = "talk_reference_pairs"  # list: the talk's top pairs, each with a label and our rank
