"""``matdisco predict ionic``: a tiny model trained in the test, predictions and every verdict printed."""

import json

import numpy as np
import pandas as pd
import pytest

from matdisco import ionic
from matdisco.cli import main
from matdisco.core.config import compose
from matdisco.core.errors import InputError
from matdisco.ionic import keys
from matdisco.ionic.screening import VERDICTS, measured_line, nearest_measured, pair_table

EMIM_OTHER_FORM, BF4, DCA = "CC[n+]1ccn(C)c1", "F[B-](F)(F)F", "N#C[N-]C#N"


@pytest.fixture(scope="module")
def tiny_ionic(tiny_ionic_shared):
    """The tiny data set, once for this module (training on it takes a minute on a busy machine)."""
    return tiny_ionic_shared


@pytest.fixture(scope="module")
def trained(tiny_ionic):
    """Extract the tiny CSV data and train a 2-member additive ensemble; return the CLI overrides
    that point ``matdisco predict`` at them."""
    root = tiny_ionic.raw_dir.parent
    kinds = ("raw", "processed", "datasets", "models", "metrics", "plots", "results", "logs")
    paths = [f"paths.{kind}={root / kind}" for kind in kinds]  # as the make_cfg fixture
    data = ("data.source=csv", f"data.csv_path={tiny_ionic.user_csv}", *tiny_ionic.run_overrides)
    cfg = compose(
        [*paths, "paths.allow_outside_project=true", "logger=csv", "trainer.enable_progress_bar=false"]
        + ["model=ionic_additive", "model.training.n_members=2", *data]
    )
    ionic.extract(cfg)
    ionic.train(cfg)
    used = [f"paths.{kind}={root / kind}" for kind in ("raw", "processed", "models", "metrics")]
    return [*used, "paths.allow_outside_project=true", *tiny_ionic.run_overrides]


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
    argv = ["predict", "ionic", "--cation", cation, "--anion", anion, *trained, f"paths.metrics={tmp_path / 'metrics'}"]
    argv.append("data.screening.max_half_width_ln=1.0")
    assert main(argv) == 0
    out = capsys.readouterr().out
    ln_sigma = float(out.split("(ln sigma ")[1].split(")")[0])
    low, high = np.exp(ln_sigma - 0.7), np.exp(ln_sigma + 0.7)
    assert f"90% interval {low:.3g} to {high:.3g} S/m (ln +- 0.70, both ions seen in training)" in out
    assert "confident: yes (half-width 0.70 ln (a factor 2.0) <= allowed 1)" in out
    unseen = main(
        [
            "predict",
            "ionic",
            "--cation",
            "CC[NH3+]",
            "--anion",
            anion,
            *trained,
            f"paths.metrics={tmp_path / 'metrics'}",
        ]
    )
    assert unseen == 0
    out = capsys.readouterr().out
    assert "(ln +- 1.90, 1 ion(s) unseen in training)" in out and "confident: no (half-width 1.90 ln" in out


def test_a_training_il_is_named_a_fit(trained, tiny_ionic, capsys):
    processed = tiny_ionic.raw_dir.parent / "processed" / "ionic"  # where the module's `trained` extracted
    splits = json.loads((processed / "splits.json").read_text())["default"]
    points = pd.read_parquet(processed / "points.parquet")
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


def test_an_out_file_in_a_missing_folder_stops_before_any_prediction(tmp_path):
    # issue 28: --out into a folder that does not exist is named before the models load
    with pytest.raises(InputError, match=r"--out .*predictions.csv: folder .*nowhere does not exist"):
        main_raising(
            [
                "predict",
                "ionic",
                "--cation",
                EMIM_OTHER_FORM,
                "--anion",
                BF4,
                "--out",
                str(tmp_path / "nowhere" / "predictions.csv"),
            ]
        )
    assert not (tmp_path / "nowhere").exists()


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


@pytest.mark.parametrize("value", ["-5", "0", "inf", "nan", "1e400", "abc"])
def test_a_temperature_that_is_not_a_finite_kelvin_value_stops_before_any_work(value, capsys):
    # issue 28 case 3: -5 printed "sigma 0 S/m" with rc 0, inf 0.063 S/m; 0 and nan ended in tracebacks
    with pytest.raises(SystemExit) as exited:
        main(["predict", "ionic", "--cation", EMIM_OTHER_FORM, "--anion", BF4, "--temperature", value])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --temperature: {value!r} is not a" in err and "Traceback" not in err


@pytest.mark.parametrize("value", ["-5", "0", "inf", "nan"])
def test_a_pairs_file_temperature_that_is_not_a_finite_kelvin_value_is_named(value, tmp_path):
    from matdisco.ionic.sources import load_pairs_csv

    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        f"cation_smiles,anion_smiles,temperature_K\n{EMIM_OTHER_FORM},{BF4},298.15\nCC[NH3+],{DCA},{value}\n"
    )
    where = "is blank" if value == "nan" else f"holds {float(value)!r} \\(expected a finite temperature in K above 0"
    with pytest.raises(InputError, match=rf"pairs.csv line 3 column 'temperature_K' {where}"):
        load_pairs_csv(pairs, None)


def test_a_temperature_outside_the_data_says_it_is_an_extrapolation(trained, tiny_ionic, capsys):
    # issue 28 case 3: 1e6 K passed the liquid verdict without a word
    cation, anion = tiny_ionic.cations["BMPyrr"], tiny_ionic.anions["DCA"]
    argv = ["predict", "ionic", "--cation", cation, "--anion", anion, *trained]
    assert main([*argv[:6], "--temperature", "300", "--temperature", "1e6", *argv[6:]]) == 0
    inside, outside = capsys.readouterr().out.split("\n\n")[1:]
    assert "extrapolated" not in inside
    assert "extrapolated: outside the temperatures of the data, 293.15-323.15 K" in outside


def test_predict_writes_a_csv_with_every_row_and_verdict(trained, tmp_path, capsys):
    # issue 28: --pairs needs a CSV output (10,000 pairs printed 132,359 lines of text)
    import pandas as pd

    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"cation_smiles,anion_smiles,temperature_K\n{EMIM_OTHER_FORM},{BF4},298.15\nCC[NH3+],{DCA},310\n")
    out = tmp_path / "predictions.csv"
    assert main(["predict", "ionic", "--pairs", str(pairs), "--out", str(out), *trained]) == 0
    written = capsys.readouterr().out.strip()
    assert written.startswith(f"wrote 2 rows to {out} (ionic_additive (ensemble of 2 member(s))"), written
    table = pd.read_csv(out)
    assert list(table["temperature_K"]) == [298.15, 310.0] and list(table["new_salt"]) == [False, True]
    assert {*VERDICTS, "pred_sigma_S_per_m", "pred_ln_sigma_std", "within_data_temperatures"} <= set(table.columns)
