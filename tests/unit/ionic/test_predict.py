"""``matdisco predict ionic``: a tiny model trained in the test, predictions and every verdict printed."""

import json

import numpy as np
import pandas as pd
import pytest

from matdisco import ionic
from matdisco.cli import main
from matdisco.core.errors import InputError
from matdisco.ionic import keys
from matdisco.ionic.screening import VERDICTS, measured_line, nearest_measured, pair_table

EMIM_OTHER_FORM, BF4, DCA = "CC[n+]1ccn(C)c1", "F[B-](F)(F)F", "N#C[N-]C#N"


@pytest.fixture
def trained(make_cfg, tiny_ionic, tmp_path):
    """Extract the tiny CSV data and train a 2-member additive ensemble; return the CLI overrides
    that point ``matdisco predict`` at them."""
    data = ("data.source=csv", f"data.csv_path={tiny_ionic.user_csv}", *tiny_ionic.run_overrides)
    cfg = make_cfg("model=ionic_additive", "model.training.n_members=2", *data)
    ionic.extract(cfg)
    ionic.train(cfg)
    paths = [f"paths.{kind}={tmp_path / kind}" for kind in ("raw", "processed", "models", "metrics")]
    return [*paths, "paths.allow_outside_project=true", *tiny_ionic.run_overrides]


def test_predict_prints_sigma_spread_and_every_verdict_at_each_temperature(trained, tiny_ionic, capsys):
    cation, anion = tiny_ionic.cations["BMPyrr"], tiny_ionic.anions["DCA"]
    assert (
        main(
            [
                "predict",
                "ionic",
                "--cation",
                cation,
                "--anion",
                anion,
                "--temperature",
                "298.15",
                "--temperature",
                "320",
                *trained,
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "Model: ionic_additive (ensemble of 2 member(s)), fitted on the 6 training ILs of the default split" in out
    assert "BMPyrr + DCA at 298.15 K" in out and "BMPyrr + DCA at 320.00 K" in out
    assert out.count("predicted sigma") == 2
    for verdict in VERDICTS:
        assert out.count(f"    {verdict}: ") == 2, verdict
    assert "new_salt: yes (not measured under any resonance form)" in out
    assert "measured: no (no point of this salt" in out and "training IL of the model: no" in out
    assert "likely_liquid: yes (measured Tm 250 K < 298.15 K)" in out
    assert "class: aprotic" in out


def test_without_a_calibration_there_is_no_interval_and_no_pair_is_confident(trained, tiny_ionic, capsys):
    """The issue's "PASS confident" with a void spread: now no interval is stated and confident is no."""
    cation, anion = tiny_ionic.cations["EMIM"], tiny_ionic.anions["DCA"]
    assert main(["predict", "ionic", "--cation", cation, "--anion", anion, *trained]) == 0
    out = capsys.readouterr().out
    assert "No calibrated intervals (run ionic_evaluate)" in out and ", no calibrated interval" in out
    assert "confident: no (no calibrated interval)" in out and "confident: yes" not in out


def test_calibrated_interval_and_confident_follow_the_half_width_of_the_class(trained, tiny_ionic, tmp_path, capsys):
    """Half-widths written as ionic_evaluate would: the interval is exp(ln sigma +- width) of the
    pair's class, and confident compares that width with data.screening.max_half_width_ln."""
    metrics = tmp_path / "metrics" / "ionic"
    metrics.mkdir(parents=True, exist_ok=True)
    calibration = {"level": 0.9, "ionic_additive": {"half_width_ln": {"seen": 0.7, "unseen_ion": 1.9}}}
    (metrics / "evaluate.json").write_text(json.dumps({"calibration": calibration}))
    cation, anion = tiny_ionic.cations["BMPyrr"], tiny_ionic.anions["DCA"]
    argv = ["predict", "ionic", "--cation", cation, "--anion", anion, *trained, "data.screening.max_half_width_ln=1.0"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    ln_sigma = float(out.split("(ln sigma ")[1].split(")")[0])
    low, high = np.exp(ln_sigma - 0.7), np.exp(ln_sigma + 0.7)
    assert f"90% interval {low:.3g} to {high:.3g} S/m (ln +- 0.70, both ions seen in training)" in out
    assert "confident: yes (half-width 0.70 ln (a factor 2.0) <= allowed 1)" in out
    unseen = main(["predict", "ionic", "--cation", "CC[NH3+]", "--anion", anion, *trained])
    assert unseen == 0
    out = capsys.readouterr().out
    assert "(ln +- 1.90, 1 ion(s) unseen in training)" in out and "confident: no (half-width 1.90 ln" in out


def test_a_training_il_is_named_a_fit(trained, tiny_ionic, tmp_path, capsys):
    splits = json.loads((tmp_path / "processed" / "ionic" / "splits.json").read_text())["default"]
    points = pd.read_parquet(tmp_path / "processed" / "ionic" / "points.parquet")
    names = points.drop_duplicates(keys.IL_ID).set_index(keys.IL_ID)[keys.SALT_NAME]
    for il_id, training in [(splits["train"][0], True), (splits["test"][0], False)]:
        cation, anion = tiny_ionic.cations[names[il_id].split()[0]], tiny_ionic.anions[names[il_id].split()[1]]
        assert main(["predict", "ionic", "--cation", cation, "--anion", anion, *trained]) == 0
        out = capsys.readouterr().out
        expected = (
            "training IL of the model: yes (the prediction is a fit" if training else "training IL of the model: no"
        )
        assert expected in out, names[il_id]
        assert "new_salt: no (measured (see above))" in out


def test_measured_line_counts_the_points_near_the_temperature_and_gives_their_median():
    """The issue's EMIM BF4: one 10x outlier among the points within 1 K must not be "the" measured value."""
    emim, bf4 = "CCn1cc[n+](C)c1", "F[B-](F)(F)F"
    rows = [(298.15, 1.56), (298.15, 1.36), (298.65, 1.63), (297.9, 0.163), (298.15, 1.50), (310.0, 2.2)]
    points = pd.DataFrame(
        {
            keys.CATION_SMILES: emim,
            keys.ANION_SMILES: bf4,
            keys.TEMPERATURE_K: [t for t, _ in rows],
            keys.SIGMA_S_PER_M: [s for _, s in rows],
        }
    )
    table = pair_table([EMIM_OTHER_FORM], [bf4]).assign(**{keys.TEMPERATURE_K: 298.15})
    line = measured_line(nearest_measured(table, points).iloc[0])
    assert line == (
        "  measured: yes, 5 point(s) within 1 K, median 1.5 S/m (range 0.163 to 1.63); 6 points of this salt in the data"
    )
    far = measured_line(nearest_measured(table.assign(**{keys.TEMPERATURE_K: 330.0}), points).iloc[0])
    assert "none within 1 K; nearest 2.2 S/m at 310.00 K" in far


def test_predict_pairs_file_and_a_pair_measured_under_another_resonance_form(trained, tmp_path, capsys):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"cation_smiles,anion_smiles,temperature_K\n{EMIM_OTHER_FORM},{BF4},298.15\nCC[NH3+],{DCA},310\n")
    assert main(["predict", "ionic", "--pairs", str(pairs), *trained]) == 0
    out = capsys.readouterr().out
    measured = out.split("\n\n")[1]
    assert "new_salt: no (measured" in measured, "EMIM BF4 is measured with the charge on the other N"
    assert "measured: yes, none within 1 K; nearest " in measured and "at 293.15 K" in measured
    protic = out.split("\n\n")[2]
    assert "at 310.00 K" in protic and "class: protic" in protic and "caveat: protic" in protic
    assert "in_domain: no (cation in 0 ILs / 0 points" in protic


def test_predict_bad_pairs_file_row_is_named(trained, tmp_path):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"cation_smiles,anion_smiles\n{EMIM_OTHER_FORM},{BF4}\n{BF4},{DCA}\n")
    with pytest.raises(InputError, match=r"pairs.csv line 3 column 'cation_smiles' holds .* of charge -1"):
        main_raising(["predict", "ionic", "--pairs", str(pairs), *trained])


def test_predict_needs_a_pair(trained):
    with pytest.raises(InputError, match="no pair to predict"):
        main_raising(["predict", "ionic", "--cation", EMIM_OTHER_FORM, *trained])


def main_raising(argv):
    """The predict command without the CLI's error printing (so the test sees the exception)."""
    from matdisco.cli import build_parser

    args = build_parser().parse_args(argv)
    return args.func(args)


def test_pairs_file_with_temperatures_and_temperature_option_is_refused(tmp_path):
    from matdisco.ionic.sources import load_pairs_csv

    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"cation_smiles,anion_smiles,temperature_K\n{EMIM_OTHER_FORM},{BF4},298.15\n")
    with pytest.raises(InputError, match="has a temperature_K column and --temperature is given too"):
        load_pairs_csv(pairs, [300.0])
    assert load_pairs_csv(pairs, None) == [(EMIM_OTHER_FORM, BF4, 298.15)]
