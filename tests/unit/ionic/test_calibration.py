"""Conformal intervals over whole ILs: the quantile, the IL weights, the cross-conformal coverage."""

import numpy as np
import pandas as pd
import pytest

from matdisco.ionic import keys
from matdisco.ionic.calibration import (
    SEEN,
    UNSEEN_ION,
    calibration_report,
    conformal_half_width,
    spread_coverage,
)


def test_half_width_is_the_corrected_quantile_over_ils():
    """Nine ILs with |r| = 1..9: level 0.8 corrected to 0.8 * 10 / 9 = 0.889 -> the 8th smallest."""
    residual = np.arange(1.0, 10.0)
    assert conformal_half_width(residual, np.arange(9), 0.8) == 8.0
    assert conformal_half_width(residual, np.arange(9), 0.95) == np.inf, "0.95 * 10 / 9 > 1: no finite width"


def test_an_il_with_many_points_counts_once():
    """IL 'many' has 100 points at |r| 0.01; nine others one point each at 1..9: weighted by IL the
    width is that of ten ILs, not of 109 points (which would give 0.01)."""
    residual = np.r_[np.full(100, 0.01), np.arange(1.0, 10.0)]
    ils = np.r_[np.full(100, "many"), [f"il{k}" for k in range(9)]].astype(object)
    width = conformal_half_width(residual, ils, 0.8)
    assert width == 8.0  # ten ILs, corrected level 0.88: cumulative 0.1 (many) + k/10 reaches 0.88 at |r| = 8


def _synthetic_wide(n_ils: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.Series]:
    """Out-of-fold points of n ILs (5 folds, 6 points each): error = IL effect + noise, the IL effect
    three times larger for ILs with an unseen ion."""
    rows, coverage = [], {}
    for il in range(n_ils):
        label = "both" if il % 3 else "one"
        scale = 0.3 if label == "both" else 0.9
        offset = rng.normal(0.0, scale)
        for _ in range(6):
            y = rng.normal()
            rows.append((f"fold_{il % 5}", f"il{il}", y, y + offset + rng.normal(0.0, 0.1)))
        coverage[f"il{il}"] = label
    wide = pd.DataFrame(rows, columns=[keys.FOLD, keys.IL_ID, keys.LN_SIGMA, "model"])
    return wide, pd.Series(coverage)


def test_cross_conformal_coverage_meets_the_level_in_each_class():
    wide, coverage = _synthetic_wide(600, np.random.default_rng(0))
    report = calibration_report(wide, ["model"], coverage, 0.9, 200, 0)["model"]
    assert report["half_width_ln"][UNSEEN_ION] > 2.0 * report["half_width_ln"][SEEN]
    for label in ("all", SEEN, UNSEEN_ION):
        assert report["coverage"][label]["ils"]["value"] == pytest.approx(0.9, abs=0.04), label
    assert report["coverage"][UNSEEN_ION]["n_ils"] == 200


def test_a_spread_far_below_the_error_covers_almost_nothing():
    rng = np.random.default_rng(1)
    y = rng.normal(size=400)
    oof = pd.DataFrame(
        {
            keys.IL_ID: np.repeat(np.arange(40), 10),
            keys.LN_SIGMA: y,
            keys.PRED_LN_SIGMA: y + rng.normal(0.0, 1.0, 400),
            keys.PRED_LN_SIGMA_STD: 0.07,
        }
    )
    out = spread_coverage(oof, 0.9, 100, 0)
    assert out["z"] == pytest.approx(1.645, abs=1e-3)
    assert out["points"]["value"] < 0.15


def test_blend_is_the_mean_of_its_members_point_by_point():
    from matdisco.ionic.evaluate import blend_predictions
    from matdisco.ionic.scoring import POINT_KEY

    base = pd.DataFrame(
        {
            keys.FOLD: ["fold_0", "fold_0"],
            keys.IL_ID: ["a", "b"],
            keys.TEMPERATURE_K: [298.15, 310.0],
            keys.SIGMA_S_PER_M: [1.0, 2.0],
            keys.PRESSURE_KPA: [101.325, 101.325],
        }
    )
    predictions = pd.concat(
        [
            base.assign(**{keys.MODEL: "gbm", keys.PRED_LN_SIGMA: [0.0, 1.0]}),
            base.assign(**{keys.MODEL: "gnn", keys.PRED_LN_SIGMA: [2.0, np.nan]}),
            base.assign(**{keys.MODEL: "other", keys.PRED_LN_SIGMA: [9.0, 9.0]}),
        ]
    )
    (blend,) = blend_predictions(predictions, {"mean": ["gbm", "gnn"]})
    assert blend[keys.PRED_LN_SIGMA].tolist()[0] == 1.0 and np.isnan(blend[keys.PRED_LN_SIGMA].tolist()[1])
    assert blend[POINT_KEY].equals(base[POINT_KEY]) and set(blend[keys.MODEL]) == {"mean"}


def test_a_blend_of_a_predictor_not_evaluated_is_refused_with_its_key():
    from matdisco.core.errors import ConfigError
    from matdisco.ionic.evaluate import blend_predictions

    predictions = pd.DataFrame({keys.MODEL: ["gbm"], keys.PRED_LN_SIGMA: [0.0]})
    with pytest.raises(ConfigError, match=r"data.evaluate.blends.mean: \['gnn'\] not among the evaluated"):
        blend_predictions(predictions, {"mean": ["gbm", "gnn"]})
