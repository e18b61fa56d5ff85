"""Conductivity through viscosity: the fractional Walden rule, fitted jointly with viscosity data.

Walden's rule for ionic liquids, Lambda eta^alpha = C (alpha about 0.8-1; Schreiner, Zugmann,
Hartl, Gores, J. Chem. Eng. Data 55, 1784 (2010)), with Lambda = sigma M / rho, gives
ln sigma = ln C - alpha ln eta + ln(rho / M). ``walden_ridge`` writes both ln eta and a residual as
additive per-atom-type terms of the talk's ansatz (features n_t, n_t tau, n_t tau^2 with
tau = T_ref / T - 1) and solves one ridge problem per split, alpha fixed:

    viscosity rows     X theta_eta                         = ln(eta / Pa s)
    conductivity rows  -alpha X theta_eta + X theta_r + w0 = ln(sigma / S m^-1)

theta_eta (penalty ``alpha_eta``) is shared; theta_r (penalty ``alpha_residual``) absorbs ln(rho/M)
and what the rule misses. Viscosity data: salty-ilthermo ``viscosity.csv`` (ILThermo; with the
default settings 10,686 points of 623 salts kept, 406 of them salts without curated conductivity
data), mapped to SMILES like the conductivity names. A viscosity salt that is a test IL of the split (same cation and anion InChIKeys) is left
out, since a new pair to screen has no measured viscosity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from omegaconf import DictConfig
from tqdm.auto import tqdm

from matdisco.core.errors import InputError
from matdisco.ionic import keys
from matdisco.ionic.atom_types import type_vocabulary
from matdisco.ionic.baselines import (
    additive_design,
    ion_keys,
    ridge_solve,
    unseen_type_labels,
    with_predictions,
)
from matdisco.ionic.curation import map_salt_names, split_salt
from matdisco.ionic.data import salt_graphs
from matdisco.ionic.density import near_ambient
from matdisco.ionic.sources import SNAPSHOT_FILES, package_file

WALDEN = "walden_ridge"
VISCOSITY_FILE = ("salty-ilthermo", "salty/data/viscosity.csv")
RAW_VISCOSITY = "Viscosity, Pa&#8226;s"
LN_ETA = "ln_eta"  # ln(eta / Pa s)
NAME_TABLES = ("cationInfo.csv", "anionInfo.csv", "compounds.csv")


def viscosity_points(
    raw: pd.DataFrame, tables: dict[str, pd.DataFrame], pressure_max_deviation_kPa: float, eta_range_Pa_s: list[float]
) -> pd.DataFrame:
    """Near-ambient viscosity points of salts whose names map to a single-cation/single-anion SMILES,
    with il_id, salt_smiles, cation/anion SMILES and salt_key, temperature_K and ln_eta; points outside
    ``eta_range_Pa_s`` [low, high] are dropped (implausible for a liquid salt)."""
    low, high = eta_range_Pa_s
    near = near_ambient(raw, pressure_max_deviation_kPa)
    near = near[near[RAW_VISCOSITY].between(low, high)]
    mapped, _ = map_salt_names(sorted(near[keys.RAW_SALT_NAME].unique()), tables)
    rows = []
    for name, (smiles, _) in mapped.items():
        try:
            salt = split_salt(smiles, where=f"viscosity salt {name!r}")
        except InputError:
            continue  # not a single-cation/single-anion salt: no conductivity counterpart either
        rows.append((name, salt.il_id, salt.smiles, salt.cation_smiles, salt.anion_smiles))
    salts = pd.DataFrame(
        rows, columns=[keys.RAW_SALT_NAME, keys.IL_ID, keys.SALT_SMILES, keys.CATION_SMILES, keys.ANION_SMILES]
    )
    points = near.merge(salts, on=keys.RAW_SALT_NAME, how="inner")
    cation, anion = ion_keys(points)
    return pd.DataFrame(
        {
            keys.IL_ID: points[keys.IL_ID].to_numpy(),
            keys.SALT_SMILES: points[keys.SALT_SMILES].to_numpy(),
            keys.CATION_SMILES: points[keys.CATION_SMILES].to_numpy(),
            keys.ANION_SMILES: points[keys.ANION_SMILES].to_numpy(),
            keys.SALT_KEY: (cation + "." + anion).to_numpy(),
            keys.TEMPERATURE_K: points[keys.RAW_TEMPERATURE].to_numpy(float),
            LN_ETA: np.log(points[RAW_VISCOSITY].to_numpy(float)),
        }
    )


@dataclass
class WaldenRidge:
    """The ``walden_ridge`` predictor: ``predict(train, test, graphs, alpha_eta, t_ref_K)`` like the
    baselines of :mod:`matdisco.ionic.baselines`, with the viscosity points and their graphs bound.

    ``viscosity``: rows of :func:`viscosity_points`; ``viscosity_graphs``: il_id -> graph of each
    viscosity salt; ``exponent``: Walden alpha (dimensionless); ``alpha_residual``: ridge penalty of
    the residual terms; ``viscosity_weight``: weight of a viscosity row relative to a conductivity row.
    """

    viscosity: pd.DataFrame
    viscosity_graphs: dict
    exponent: float
    alpha_residual: float
    viscosity_weight: float

    def __call__(
        self, train: pd.DataFrame, test: pd.DataFrame, graphs: dict, alpha: float, t_ref_K: float
    ) -> pd.DataFrame:
        test_cation, test_anion = ion_keys(test.drop_duplicates(keys.IL_ID))
        viscosity = self.viscosity[~self.viscosity[keys.SALT_KEY].isin(set(test_cation + "." + test_anion))]
        all_graphs = {**self.viscosity_graphs, **graphs}
        vocabulary = type_vocabulary(
            [all_graphs[il].atom_types for il in set(train[keys.IL_ID]) | set(viscosity[keys.IL_ID])]
        )
        x_sigma = additive_design(train, all_graphs, vocabulary, t_ref_K)  # [n_sigma, p]
        x_eta = additive_design(viscosity, all_graphs, vocabulary, t_ref_K)  # [n_eta, p]
        p = x_sigma.shape[1]
        root_w = np.sqrt(self.viscosity_weight)
        design = np.vstack(
            [
                np.hstack([root_w * x_eta, np.zeros((len(x_eta), p + 1))]),
                np.hstack([-self.exponent * x_sigma, x_sigma, np.ones((len(x_sigma), 1))]),
            ]
        )
        target = np.r_[root_w * viscosity[LN_ETA].to_numpy(float), train[keys.LN_SIGMA].to_numpy(float)]
        penalty = np.r_[np.full(p, alpha), np.full(p, self.alpha_residual), 0.0]
        theta = ridge_solve(design, target, penalty)
        x_test = additive_design(test, all_graphs, vocabulary, t_ref_K)
        pred = -self.exponent * x_test @ theta[:p] + x_test @ theta[p : 2 * p] + theta[-1]
        unseen = unseen_type_labels(test, all_graphs, vocabulary)
        return with_predictions(test, np.where(unseen == "", pred, np.nan), unseen)


def viscosity_salt_graphs(viscosity: pd.DataFrame, scheme: str) -> dict:
    """il_id -> formula-unit graph of each viscosity salt the featuriser can type (others are left out)."""
    graphs = {}
    salts = viscosity.drop_duplicates(keys.IL_ID)
    for il_id in tqdm(salts[keys.IL_ID], desc="viscosity salt graphs", unit="salt"):
        try:
            graphs.update(salt_graphs(salts[salts[keys.IL_ID] == il_id], scheme))
        except InputError:
            continue
    return graphs


def snapshot_walden_ridge(settings: DictConfig, typing_scheme: str) -> WaldenRidge:
    """The ``walden_ridge`` predictor on the shipped viscosity.csv: ``settings`` the section ``data.evaluate.walden``,
    ``typing_scheme`` the atom typing of the salt graphs (``data.typing.scheme``)."""
    tables = {name: pd.read_csv(package_file(*SNAPSHOT_FILES[name])) for name in NAME_TABLES}
    viscosity = viscosity_points(
        pd.read_csv(package_file(*VISCOSITY_FILE)),
        tables,
        float(settings.pressure_max_deviation_kPa),
        [float(v) for v in settings.eta_range_Pa_s],
    )
    graphs = viscosity_salt_graphs(viscosity, typing_scheme)
    viscosity = viscosity[viscosity[keys.IL_ID].isin(graphs)]
    return WaldenRidge(
        viscosity, graphs, float(settings.exponent), float(settings.alpha_residual), float(settings.viscosity_weight)
    )
