"""Candidate headline models against the descriptor GBM (``gbm_descriptors``) on the pipeline's 5 IL folds.

Each candidate is fitted on a fold's training + validation ILs and predicts its held-out ILs (out of fold,
the rows ``ionic_evaluate`` scores); the table gives the out-of-fold RMSE of ln(sigma / S m^-1) and the
candidate-minus-GBM RMSE difference with a 95 % interval from resampling whole ILs (2000 resamples).
Candidates: the GBM with each IL weighted equally (sample weight 1 / points of its IL), the GBM fitted to
the residual of the talk's additive ansatz (``ridge_additive``), and the mean of the two. Reads
data/processed/ionic (run ``dvc repro ionic_extract`` first); about 10 CPU min.

    python scripts/ionic_headline_candidates.py
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from matdisco.core.config import compose
from matdisco.core.metrics import difference_interval, group_bootstrap
from matdisco.ionic import keys
from matdisco.ionic.baselines import ridge_predict
from matdisco.ionic.data import load_points, load_splits, salt_graphs
from matdisco.ionic.descriptors import descriptor_gbm, fit_gbm

N_RESAMPLES = 2000


def main() -> None:
    cfg = compose(["data=ionic", "model=ionic_gnn", "params_file=params.yaml"])
    points, splits = load_points(cfg), load_splits(cfg)
    graphs = salt_graphs(points, cfg.data.typing.scheme)
    gbm = descriptor_gbm(cfg)
    l2, t_ref_K = (
        float(cfg.data.evaluate.baseline_alpha.gbm_descriptors),
        float(cfg.data.evaluate.baseline_temperature_reference_K),
    )

    def plain(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        model = fit_gbm(train, gbm.settings, l2, gbm.features)
        return model.predict(test[keys.CATION_SMILES], test[keys.ANION_SMILES], test[keys.TEMPERATURE_K])

    def il_weighted(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        weight = 1.0 / train.groupby(keys.IL_ID)[keys.IL_ID].transform("size").to_numpy(float)
        model = fit_gbm(train, gbm.settings, l2, gbm.features, row_weight=weight / weight.mean())
        return model.predict(test[keys.CATION_SMILES], test[keys.ANION_SMILES], test[keys.TEMPERATURE_K])

    def ansatz(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        return ridge_predict(train, test, graphs, 1.0, t_ref_K)[keys.PRED_LN_SIGMA].to_numpy(float)

    def on_ansatz_residual(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        residual = train.assign(**{keys.LN_SIGMA: train[keys.LN_SIGMA].to_numpy(float) - ansatz(train, train)})
        return ansatz(train, test) + plain(residual, test)

    candidates = {
        "gbm_descriptors": plain,
        "gbm_il_weighted": il_weighted,
        "gbm_on_ansatz_residual": on_ansatz_residual,
    }
    folds = []
    for fold in splits["folds"]:
        test = points[points[keys.IL_ID].isin(fold["test"])]
        train = points[points[keys.IL_ID].isin(fold["train"] + fold["val"])]
        out = test[[keys.IL_ID, keys.LN_SIGMA]].copy()
        for name, predict in candidates.items():
            out[name] = predict(train, test)
        folds.append(out)
    oof = pd.concat(folds).dropna()
    oof["gbm_ansatz_mean"] = 0.5 * (oof["gbm_descriptors"] + oof["gbm_on_ansatz_residual"])
    report(oof, [*candidates, "gbm_ansatz_mean"], int(cfg.seed))


def report(oof: pd.DataFrame, names: list[str], seed: int) -> None:
    """Print the out-of-fold RMSE of each candidate and its RMSE minus the GBM's with an IL-bootstrap interval."""
    y, ils = oof[keys.LN_SIGMA].to_numpy(float), oof[keys.IL_ID].to_numpy()
    reference = oof["gbm_descriptors"].to_numpy(float)
    print(f"{len(oof)} points of {len(set(ils))} ILs, 5 IL folds")
    print("| candidate | out-of-fold RMSE (ln) | minus gbm_descriptors [95 %, ILs resampled] |\n|---|---|---|")
    for name in names:
        pred = oof[name].to_numpy(float)

        def difference(rows: np.ndarray) -> float:
            return float(
                np.sqrt(np.mean((pred[rows] - y[rows]) ** 2)) - np.sqrt(np.mean((reference[rows] - y[rows]) ** 2))
            )

        entry = difference_interval(*group_bootstrap(difference, ils, N_RESAMPLES, seed), lower_is_better=True)
        rmse = float(np.sqrt(np.mean((pred - y) ** 2)))
        print(f"| {name} | {rmse:.3f} | {entry['value']:+.3f} [{entry['ci_low']:+.3f}, {entry['ci_high']:+.3f}] |")


if __name__ == "__main__":
    main()
