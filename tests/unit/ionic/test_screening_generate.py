"""ionic_generate on a tiny trained model: full table with verdict columns, top list of passing pairs, counts."""

import json

import pandas as pd

from matdisco import ionic
from matdisco.ionic import keys
from matdisco.ionic.screening import PASSES_ALL, VERDICTS


def test_generate_writes_verdicts_top20_and_counts(make_cfg, tiny_ionic, tmp_path):
    cfg = make_cfg(
        "model=ionic_additive",
        "data.source=csv",
        f"data.csv_path={tiny_ionic.user_csv}",
        *tiny_ionic.run_overrides,
        "data.screening.temperatures_K=[298.15,320.0]",
    )
    ionic.extract(cfg)
    ionic.train(cfg)
    summary = ionic.generate(cfg)
    n_grid = len(tiny_ionic.cations) * len(tiny_ionic.anions)
    table = pd.read_csv(tmp_path / "results" / "ionic" / "screening.csv")
    assert len(table) == 2 * n_grid, "every pair of the grid, measured ones included, at both temperatures"
    assert set(VERDICTS) | {PASSES_ALL, "protic", "single_point_ion", "tm_pred_K"} <= set(table.columns)
    at_298 = table[table[keys.TEMPERATURE_K] == 298.15]
    assert at_298["new_salt"].sum() == 1, "only BMPyrr DCA is unmeasured"
    metrics = json.loads((tmp_path / "metrics" / "ionic" / "screening.json").read_text())
    assert metrics["n_pairs"] == n_grid and metrics["model_description"].startswith(
        "ionic_additive (ensemble of 1 member"
    )
    assert metrics["half_width_ln"] is None, "no ionic_evaluate ran: no calibrated interval"
    assert metrics["failing"]["confident"] == n_grid, "without a calibration no pair is judged confident"
    assert metrics["failing"]["new_salt"] == n_grid - 1 and metrics["n_passing_all"] == int(at_298[PASSES_ALL].sum())
    assert metrics["melting_cv"]["n_folds"] == 2 and "rmse_K" in metrics["melting_cv"]["ridge"]
    assert summary["n_passing_all"] == metrics["n_passing_all"]
    top = (tmp_path / "results" / "ionic" / "screening_top20.md").read_text()
    assert (
        "No calibrated intervals (run ionic_evaluate)" in top
        and "RMSE" in top
        and "| verdict | meaning | pass | fail |" in top
    )
    for verdict in VERDICTS:
        assert f"| {verdict} |" in top
