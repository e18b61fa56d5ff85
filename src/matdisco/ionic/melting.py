"""Melting-point model for the "likely liquid at 298 K" verdict.

Data: salty-ilthermo's ``melting_point.csv`` (ILThermo normal melting temperatures, 692 rows),
names mapped to salts as the conductivity data are (:func:`matdisco.ionic.curation.map_salt_names`),
one target per salt (mean Tm in K). Features: a few RDKit descriptors and folded Morgan counts of
cation and anion. Model: closed-form ridge on standardised features (numpy; no scikit-learn in the
venv), validated by k-fold over salts (a salt and its synonyms never straddle folds) next to two
baselines: the training mean and the training mean per cation family.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from rdkit import Chem
from rdkit.Chem import Descriptors, rdFingerprintGenerator, rdMolDescriptors

from matdisco.core.errors import InputError
from matdisco.ionic import keys
from matdisco.ionic.curation import map_salt_names, split_salt
from matdisco.ionic.ions import ion_key, ion_mol, is_protic
from matdisco.ionic.sources import RAW_MELTING_K as RAW_TM

TM_K = "tm_K"
CATION_FAMILIES = {  # first match wins; SMARTS on the cation
    "imidazolium": "c1cn[c,n]n1",
    "pyridinium": "[n+]1ccccc1",
    "pyrrolidinium": "[N+;R1]1CCCC1",
    "piperidinium": "[N+;R1]1CCCCC1",
    "phosphonium": "[P+]",
    "sulfonium": "[S+]",
    "ammonium": "[N+;!R;!$(N=*)]",
}


def melting_table(raw: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per salt (``salt_key``: resonance forms and synonyms merged): il_id, cation and
    anion SMILES of the first row, mean melting temperature ``tm_K`` (K).

    ``raw``: melting_point.csv (``salt_name``, ``Normal melting temperature, K``); ``tables``:
    the snapshot name tables. Names that map to no single-cation/single-anion salt are skipped.
    """
    mapped, _ = map_salt_names(sorted(raw[keys.RAW_SALT_NAME].unique()), tables)
    rows = []
    for name, tm_K in zip(raw[keys.RAW_SALT_NAME], raw[RAW_TM]):
        if name not in mapped or not np.isfinite(tm_K):
            continue
        try:
            salt = split_salt(mapped[name][0], where=f"melting-point salt {name!r}")
        except InputError:
            continue
        salt_key = f"{ion_key(salt.cation_smiles)}.{ion_key(salt.anion_smiles)}"
        rows.append(
            {
                keys.SALT_KEY: salt_key,
                keys.IL_ID: salt.il_id,
                keys.CATION_SMILES: salt.cation_smiles,
                keys.ANION_SMILES: salt.anion_smiles,
                TM_K: float(tm_K),
            }
        )
    table = pd.DataFrame(rows)
    first = {keys.IL_ID: "first", keys.CATION_SMILES: "first", keys.ANION_SMILES: "first", TM_K: "mean"}
    return table.groupby(keys.SALT_KEY, as_index=False).agg(first)


def cation_family(smiles: str) -> str:
    """Core family of a cation (:data:`CATION_FAMILIES`), ``other`` if none matches."""
    mol = ion_mol(smiles, "cation")
    for family, smarts in CATION_FAMILIES.items():
        if mol.HasSubstructMatch(Chem.MolFromSmarts(smarts)):
            return family
    return "other"


def ion_features(smiles: str, n_bits: int) -> np.ndarray:
    """Descriptor vector of one ion, shape (9 + n_bits,): heavy atoms, mol. weight (g/mol),
    rotatable bonds, rings, aromatic rings, H donors, H acceptors, TPSA (A^2), sp3 carbon
    fraction, then radius-1 Morgan counts folded to ``n_bits``."""
    mol = ion_mol(smiles)
    descriptors = [
        mol.GetNumHeavyAtoms(),
        Descriptors.MolWt(mol),
        rdMolDescriptors.CalcNumRotatableBonds(mol),
        rdMolDescriptors.CalcNumRings(mol),
        rdMolDescriptors.CalcNumAromaticRings(mol),
        rdMolDescriptors.CalcNumHBD(mol),
        rdMolDescriptors.CalcNumHBA(mol),
        rdMolDescriptors.CalcTPSA(mol),
        rdMolDescriptors.CalcFractionCSP3(mol),
    ]
    counts = rdFingerprintGenerator.GetMorganGenerator(radius=1, fpSize=n_bits).GetCountFingerprintAsNumPy(mol)
    return np.concatenate([np.asarray(descriptors, float), counts.astype(float)])


def pair_features(cation_smiles: str, anion_smiles: str, cation_bits: int, anion_bits: int) -> np.ndarray:
    """Features of a salt: cation features, anion features, protic flag; shape (19 + bits,).

    Per-ion parts are cached, so a screening grid costs one RDKit pass per ion, not per pair."""
    protic = float(_cached_is_protic(cation_smiles))
    return np.concatenate(
        [_cached_ion_features(cation_smiles, cation_bits), _cached_ion_features(anion_smiles, anion_bits), [protic]]
    )


_cached_ion_features = lru_cache(maxsize=None)(ion_features)
_cached_is_protic = lru_cache(maxsize=None)(is_protic)


@dataclass(frozen=True)
class Ridge:
    """Ridge regression on standardised features: y = y_mean + ((x - x_mean) / x_scale) @ w."""

    x_mean: np.ndarray
    x_scale: np.ndarray
    y_mean: float
    w: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, alpha: float) -> Ridge:
        """Closed form on (n, d) features ``x`` and (n,) targets ``y``; ``alpha`` per standardised feature."""
        x_mean, x_scale = x.mean(axis=0), x.std(axis=0)
        x_scale = np.where(x_scale > 0, x_scale, 1.0)
        z = (x - x_mean) / x_scale
        w = np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ (y - y.mean()))
        return cls(x_mean, x_scale, float(y.mean()), w)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions, shape (n,), for (n, d) features."""
        return self.y_mean + ((x - self.x_mean) / self.x_scale) @ self.w


def salt_folds(n_salts: int, n_folds: int, seed: int) -> np.ndarray:
    """Fold index (0..n_folds-1) of each salt, shape (n_salts,), seeded and balanced."""
    order = np.random.default_rng(seed).permutation(n_salts)
    folds = np.empty(n_salts, int)
    folds[order] = np.arange(n_salts) % n_folds
    return folds


def family_mean_baseline(train_family: pd.Series, train_tm_K: np.ndarray, test_family: pd.Series) -> np.ndarray:
    """Training mean Tm (K) of each test salt's cation family; the global mean for unseen families."""
    means = pd.Series(train_tm_K, index=train_family.to_numpy()).groupby(level=0).mean()
    return test_family.map(means).fillna(train_tm_K.mean()).to_numpy()


def cross_validate(
    table: pd.DataFrame, x: np.ndarray, alpha: float, n_folds: int, seed: int, margin_K: float = 20.0
) -> tuple[dict, list[Ridge]]:
    """k-fold over salts: RMSE and MAE (K) of ridge and the two baselines, the out-of-fold quality
    of the verdict "liquid at 298.15 K" (:func:`likely_liquid_298` with ``margin_K``), and the fold models.

    ``table``: :func:`melting_table` rows, one per salt (synonyms and resonance forms merged by
    InChIKey), so no salt lies in two folds; ``x``: their features, shape (n_salts, d).
    """
    y = table[TM_K].to_numpy()
    family = table[keys.CATION_SMILES].map(cation_family)
    folds = salt_folds(len(table), n_folds, seed)
    predictions = {"ridge": np.empty_like(y), "mean": np.empty_like(y), "cation_family_mean": np.empty_like(y)}
    models = []
    for k in range(n_folds):
        train, test = folds != k, folds == k
        models.append(Ridge.fit(x[train], y[train], alpha))
        predictions["ridge"][test] = models[-1].predict(x[test])
        predictions["mean"][test] = y[train].mean()
        predictions["cation_family_mean"][test] = family_mean_baseline(family[train], y[train], family[test])
    metrics = {
        name: {"rmse_K": float(np.sqrt(np.mean((p - y) ** 2))), "mae_K": float(np.mean(np.abs(p - y)))}
        for name, p in predictions.items()
    }
    return {
        "n_salts": len(y),
        "n_folds": n_folds,
        **metrics,
        "liquid_verdict": verdict_quality(predictions["ridge"], y, margin_K),
    }, models


def verdict_quality(tm_pred_K: np.ndarray, tm_K: np.ndarray, margin_K: float) -> dict:
    """Precision and recall of "liquid at 298.15 K" called from predicted Tm (K), against measured Tm."""
    called = tm_pred_K + margin_K < 298.15
    liquid = tm_K < 298.15
    n_called, n_true = int(called.sum()), int((called & liquid).sum())
    return {
        "margin_K": margin_K,
        "n_called_liquid": n_called,
        "n_liquid": int(liquid.sum()),
        "precision": n_true / n_called if n_called else float("nan"),
        "recall": n_true / int(liquid.sum()) if liquid.any() else float("nan"),
    }


def predict_tm(models: list[Ridge], features: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation (K) of the fold models' Tm for one salt's (d,) features."""
    values = np.array([model.predict(features[None, :])[0] for model in models])
    return float(values.mean()), float(values.std())


def likely_liquid_298(tm_K: float, margin_K: float) -> bool:
    """True when the predicted melting point plus ``margin_K`` lies below 298.15 K."""
    return tm_K + margin_K < 298.15


@dataclass(frozen=True)
class MeltingModel:
    """The fold models of :func:`cross_validate`, their CV metrics, and the measured Tm of the
    salts of melting_point.csv (by ``salt_key``), which win over a prediction."""

    fold_models: list[Ridge]
    cv: dict
    measured_tm_K: dict[str, float]
    cation_bits: int
    anion_bits: int

    @classmethod
    def train(cls, raw: pd.DataFrame, tables: dict[str, pd.DataFrame], settings: dict, seed: int) -> MeltingModel:
        """Fit on melting_point.csv ``raw`` with ``settings`` (``data.melting``: cation_bits,
        anion_bits, ridge_alpha, n_folds, margin_K), validated by k-fold over salts."""
        table = melting_table(raw, tables)
        bits = int(settings["cation_bits"]), int(settings["anion_bits"])
        x = np.stack([pair_features(c, a, *bits) for c, a in zip(table[keys.CATION_SMILES], table[keys.ANION_SMILES])])
        cv, models = cross_validate(
            table, x, float(settings["ridge_alpha"]), int(settings["n_folds"]), seed, float(settings["margin_K"])
        )
        return cls(models, cv, dict(zip(table[keys.SALT_KEY], table[TM_K])), *bits)

    def tm_K(self, cation_smiles: str, anion_smiles: str) -> tuple[float, float, float]:
        """(predicted Tm mean over the fold models, their std, measured Tm or NaN), all in K."""
        mean, std = predict_tm(
            self.fold_models, pair_features(cation_smiles, anion_smiles, self.cation_bits, self.anion_bits)
        )
        measured = self.measured_tm_K.get(f"{ion_key(cation_smiles)}.{ion_key(anion_smiles)}", float("nan"))
        return mean, std, measured
