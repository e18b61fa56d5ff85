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
