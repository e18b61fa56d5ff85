"""``matdisco predict ionic``: a tiny model trained in the test, predictions and every verdict printed."""

import pytest

from matdisco import ionic
from matdisco.cli import main
from matdisco.core.errors import InputError
from matdisco.ionic.screening import VERDICTS

EMIM_OTHER_FORM, BF4, DCA = "CC[n+]1ccn(C)c1", "F[B-](F)(F)F", "N#C[N-]C#N"


@pytest.fixture
def trained(make_cfg, tiny_ionic, tmp_path):
    """Extract the tiny CSV data and train a 2-member additive ensemble; return the CLI overrides
    that point ``matdisco predict`` at them."""
    data = ("data.source=csv", f"data.csv_path={tiny_ionic.user_csv}", *tiny_ionic.run_overrides)
    cfg = make_cfg("model=ionic_additive", "model.training.n_members=2", *data)
    ionic.extract(cfg)
    ionic.train(cfg)
    paths = [f"paths.{kind}={tmp_path / kind}" for kind in ("raw", "processed", "models")]
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
    assert "Ensemble spread from 2 member(s): fewer than the 5" in out
    assert "BMPyrr + DCA at 298.15 K" in out and "BMPyrr + DCA at 320.00 K" in out
    assert out.count("S/m   ln sigma") == 2 and out.count("(ensemble std)") == 2
    for verdict in VERDICTS:
        assert out.count(f" {verdict}: ") == 2, verdict
    assert "PASS new_salt" in out and "melting point measured 250 K" in out
    assert "class: aprotic" in out


def test_predict_pairs_file_and_a_pair_measured_under_another_resonance_form(trained, tmp_path, capsys):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"cation_smiles,anion_smiles,temperature_K\n{EMIM_OTHER_FORM},{BF4},298.15\nCC[NH3+],{DCA},310\n")
    assert main(["predict", "ionic", "--pairs", str(pairs), *trained]) == 0
    out = capsys.readouterr().out
    measured = out.split("\n\n")[1]
    assert "FAIL new_salt" in measured, "EMIM BF4 is measured with the charge on the other N"
    assert "measured in the data: " in measured and "at 293.15 K (nearest point)" in measured
    protic = out.split("\n\n")[2]
    assert "at 310.00 K" in protic and "class: protic" in protic and "caveat: protic" in protic
    assert "FAIL in_domain" in protic and "cation in 0 ILs / 0 points" in protic


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
