"""The field's standard model: gradient-boosted trees on molecular descriptors of each ion.

Features of a point (one row per conductivity point; RDKit, computed once per ion SMILES):
- every ``rdkit.Chem.Descriptors.descList`` value of the cation, then of the anion;
- Morgan count fingerprints (radius ``morgan_radius``, folded to ``morgan_bits``) of each ion;
- 1000 K / T and its square.
Columns constant over the training points are dropped before the fit. The regressor is scikit-learn's
``HistGradientBoostingRegressor`` (NaN-aware; no early stopping and no subsampling, so a fit is a
deterministic function of its rows and settings) on ln(sigma / S m^-1). The hyper-parameters
(``data.evaluate.gbm``) were fixed before any held-out score was seen: learning rate 0.05, 600
iterations, 31 leaves, 20 points per leaf, L2 1.0 on the leaf values (``baseline_alpha``).

``GbmDescriptors`` is a baseline in the sense of :mod:`matdisco.ionic.baselines`:
``predict(train, test, graphs, alpha, t_ref_K) -> test`` with ``pred_ln_sigma``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rdkit import RDLogger
from rdkit.Chem import Descriptors, rdFingerprintGenerator
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from matdisco.ionic import keys
from matdisco.ionic.baselines import with_predictions
from matdisco.ionic.ions import ion_mol

GBM = "gbm_descriptors"
DESCRIPTOR_LIMIT = 1e30  # |value| above this (RDKit's Ipc overflows) counts as missing


def ion_descriptor_vector(smiles: str, morgan_radius: int, morgan_bits: int) -> np.ndarray:
    """[len(descList) + morgan_bits] float64: RDKit descriptors (NaN where RDKit fails or overflows)
    then the folded Morgan count fingerprint of one ion."""
    mol = ion_mol(smiles, f"ion {smiles}")
    values = []
    RDLogger.DisableLog("rdApp.*")
    try:
        for _, function in Descriptors.descList:
            try:
                values.append(float(function(mol)))
            except (ValueError, ZeroDivisionError, RuntimeError):
                values.append(np.nan)
    finally:
        RDLogger.EnableLog("rdApp.*")
    descriptors = np.asarray(values, dtype=float)
    descriptors[~np.isfinite(descriptors) | (np.abs(descriptors) > DESCRIPTOR_LIMIT)] = np.nan
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=morgan_radius, fpSize=morgan_bits)
    counts = np.asarray(generator.GetCountFingerprintAsNumPy(mol), dtype=float)
    return np.concatenate([descriptors, counts])


@dataclass
class IonFeatures:
    """Descriptor vectors of ions, computed once per SMILES (``vectors`` caches them)."""

    morgan_radius: int
    morgan_bits: int
    vectors: dict[str, np.ndarray] = field(default_factory=dict)

    def of(self, smiles: str) -> np.ndarray:
        """Descriptor vector of one ion (see :func:`ion_descriptor_vector`)."""
        if smiles not in self.vectors:
            self.vectors[smiles] = ion_descriptor_vector(smiles, self.morgan_radius, self.morgan_bits)
        return self.vectors[smiles]

    def design(
        self, cation_smiles: pd.Series | list[str], anion_smiles: pd.Series | list[str], temperature_K: np.ndarray
    ) -> np.ndarray:
        """[n, 2 d + 2] features of n points: cation vector, anion vector, 1000/T, (1000/T)^2 (T in K)."""
        inverse = 1000.0 / np.asarray(temperature_K, dtype=float)
        cation = np.stack([self.of(s) for s in cation_smiles])
        anion = np.stack([self.of(s) for s in anion_smiles])
        return np.hstack([cation, anion, inverse[:, None], inverse[:, None] ** 2])


def non_constant_columns(x: np.ndarray) -> np.ndarray:
    """Indices of the columns of x [n, p] holding more than one distinct value (NaN counts as one)."""
    filled = np.where(np.isnan(x), np.inf, x)
    return np.flatnonzero((filled != filled[:1]).any(axis=0))


@dataclass
class GbmSettings:
    """Hyper-parameters of the descriptor GBM (``data.evaluate.gbm``; L2 from ``baseline_alpha``)."""

    learning_rate: float
    max_iter: int
    max_leaf_nodes: int
    min_samples_leaf: int
    morgan_radius: int
    morgan_bits: int
    n_threads: int  # OpenMP threads of a fit (the result does not depend on it; shared cores favour 1)
    seed: int


@dataclass
class FittedGbm:
    """A fitted descriptor GBM: the regressor, the kept feature columns, the ion features, the threads."""

    regressor: HistGradientBoostingRegressor
    columns: np.ndarray
    features: IonFeatures
    n_threads: int

    def predict(self, cation_smiles, anion_smiles, temperature_K) -> np.ndarray:
        """ln(sigma / S m^-1) [n] of n (cation, anion, T in K) points."""
        x = self.features.design(cation_smiles, anion_smiles, temperature_K)[:, self.columns]
        with threadpool_limits(limits=self.n_threads, user_api="openmp"):
            return self.regressor.predict(x)


def fit_gbm(
    train: pd.DataFrame, settings: GbmSettings, l2: float, features: IonFeatures, row_weight: np.ndarray | None = None
) -> FittedGbm:
    """Fit the GBM on the points of ``train`` (cation/anion SMILES, temperature_K, ln_sigma); ``row_weight``
    [len(train)] weights the points (None: all equal, the baseline)."""
    x = features.design(train[keys.CATION_SMILES], train[keys.ANION_SMILES], train[keys.TEMPERATURE_K])
    columns = non_constant_columns(x)
    regressor = HistGradientBoostingRegressor(
        learning_rate=settings.learning_rate,
        max_iter=settings.max_iter,
        max_leaf_nodes=settings.max_leaf_nodes,
        min_samples_leaf=settings.min_samples_leaf,
        l2_regularization=l2,
        early_stopping=False,
        random_state=settings.seed,
    )
    with threadpool_limits(limits=settings.n_threads, user_api="openmp"):
        regressor.fit(x[:, columns], train[keys.LN_SIGMA].to_numpy(float), sample_weight=row_weight)
    return FittedGbm(regressor, columns, features, settings.n_threads)


@dataclass
class GbmDescriptors:
    """The ``gbm_descriptors`` baseline: fit on ``train``, predict ``test`` (``alpha``: L2 on leaf values)."""

    settings: GbmSettings
    features: IonFeatures

    def __call__(
        self, train: pd.DataFrame, test: pd.DataFrame, graphs: dict, alpha: float, t_ref_K: float
    ) -> pd.DataFrame:
        model = fit_gbm(train, self.settings, alpha, self.features)
        pred = model.predict(test[keys.CATION_SMILES], test[keys.ANION_SMILES], test[keys.TEMPERATURE_K])
        return with_predictions(test, pred, "")


def gbm_settings(cfg) -> GbmSettings:
    """:class:`GbmSettings` from ``data.evaluate.gbm`` and ``cfg.seed``."""
    gbm = cfg.data.evaluate.gbm
    return GbmSettings(
        learning_rate=float(gbm.learning_rate),
        max_iter=int(gbm.max_iter),
        max_leaf_nodes=int(gbm.max_leaf_nodes),
        min_samples_leaf=int(gbm.min_samples_leaf),
        morgan_radius=int(gbm.morgan_radius),
        morgan_bits=int(gbm.morgan_bits),
        n_threads=int(gbm.n_threads),
        seed=int(cfg.seed),
    )


def descriptor_gbm(cfg) -> GbmDescriptors:
    """The ``gbm_descriptors`` predictor with the settings of ``data.evaluate.gbm``."""
    settings = gbm_settings(cfg)
    return GbmDescriptors(settings, IonFeatures(settings.morgan_radius, settings.morgan_bits))
