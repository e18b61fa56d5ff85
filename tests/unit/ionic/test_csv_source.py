"""data.source=csv: a user's CSV goes through the same curation; a bad row is named by file, line, column."""

import pandas as pd
import pytest

from matdisco.core.errors import ConfigError, InputError
from matdisco.ionic import keys
from matdisco.ionic.extract import extract
from matdisco.ionic.sources import load_user_csv

CSV_OVERRIDES = ("data.split.n_test=2", "data.split.n_folds=2")


def test_good_csv_reads_both_smiles_forms_and_source_labels(tiny_ionic):
    points, names = load_user_csv(tiny_ionic.user_csv)
    assert len(points) == tiny_ionic.n_rows
    assert points[keys.SOURCE].nunique() == 2
    assert points[keys.RAW_PRESSURE].isna().all(), "no pressure column: ambient"
    assert dict(zip(names["name"], names["smiles"]))[tiny_ionic.glassy[0]] == "CCn1cc[n+](C)c1.[Cl-]"


def test_csv_source_is_curated_like_the_snapshot_and_glassy_points_get_their_file(make_cfg, tiny_ionic):
    cfg = make_cfg("data.source=csv", f"data.csv_path={tiny_ionic.user_csv}", *CSV_OVERRIDES)
    summary = extract(cfg)
    assert summary["n_ils"] == len(tiny_ionic.cations) * len(tiny_ionic.anions) - 1, (
        "the glassy IL is kept out of the table"
    )
    assert summary["n_glassy_points"] == 1
    processed = cfg.paths.processed + "/ionic"
    glassy = pd.read_csv(f"{processed}/glassy_points.csv")
    assert list(glassy[keys.SALT_NAME]) == [tiny_ionic.glassy[0]]
    points = pd.read_parquet(f"{processed}/points.parquet")
    assert set(points[keys.CATION_NAME]) == set(tiny_ionic.cations), "ion names from the snapshot's name tables"
    assert not (
        (points[keys.CATION_NAME] == tiny_ionic.unmeasured[0]) & (points[keys.ANION_NAME] == tiny_ionic.unmeasured[1])
    ).any()


def test_csv_source_without_path_is_a_config_error(make_cfg, tiny_ionic):
    with pytest.raises(ConfigError, match="data.csv_path"):
        extract(make_cfg("data.source=csv", *CSV_OVERRIDES))


EMIM, BF4 = "CCn1cc[n+](C)c1", "F[B-](F)(F)F"
HEADER = "name,cation_smiles,anion_smiles,salt_smiles,temperature_K,sigma_S_per_m"
GOOD_ROW = f"EMIM BF4,{EMIM},{BF4},,298.15,1.4"


@pytest.mark.parametrize(
    "lines, message",
    [
        ([], r"bad_points.csv is empty"),
        (
            ["name,cation_smiles,temperature_K,sigma_S_per_m", f"a,{EMIM},298.15,1.0"],
            r"line 1 lacks the SMILES columns",
        ),
        (
            ["name,cation_smiles,anion_smiles,sigma_S_per_m", f"a,{EMIM},{BF4},1.0"],
            r"line 1 lacks the column\(s\) temperature_K",
        ),
        ([HEADER, GOOD_ROW, f"EMIM BF4,{EMIM},{BF4},,300,abc"], r"line 3 column 'sigma_S_per_m' holds 'abc'"),
        ([HEADER, GOOD_ROW, f"EMIM BF4,{EMIM},{BF4},,,1.2"], r"line 3 column 'temperature_K' is blank"),
        ([HEADER, GOOD_ROW, f",{EMIM},{BF4},,300,1.2"], r"line 3 column 'name' is blank"),
        (
            [HEADER, GOOD_ROW, f"x,C1CC(,{BF4},,300,1.2"],
            r"invalid SMILES 'C1CC\(' in raw file .* line 3 column 'cation_smiles'",
        ),
        (
            [HEADER, GOOD_ROW, f"x,{BF4},{EMIM},,300,1.2"],
            r"line 3 column 'cation_smiles' holds 'F\[B-\]\(F\)\(F\)F' of charge -1",
        ),
        ([HEADER, GOOD_ROW, f"x,{EMIM},,,300,1.2"], r"line 3 column 'anion_smiles' is blank"),
        (
            [HEADER, GOOD_ROW, f"x,{EMIM},{BF4},{EMIM}.{BF4},300,1.2"],
            r"line 3 column 'salt_smiles' is given with cation/anion SMILES",
        ),
        (
            [HEADER, GOOD_ROW, f"x,,,{EMIM}.[Na+].{BF4},300,1.2"],
            r"not a single-cation/single-anion salt .* line 3 column 'salt_smiles'",
        ),
        (
            [HEADER, GOOD_ROW, "x,,,CCO,300,1.2"],
            r"not a single-cation/single-anion salt .* line 3 column 'salt_smiles'",
        ),
        (
            [HEADER, GOOD_ROW, f"EMIM BF4,{EMIM},[Cl-],,300,1.2"],
            r"line 3 column 'cation_smiles': salt 'EMIM BF4' is .*, but line 2 gave",
        ),
    ],
)
def test_bad_row_is_named_by_file_line_and_column(tmp_path, lines, message):
    path = tmp_path / "bad_points.csv"
    path.write_text("\n".join(lines) + "\n" if lines else "")
    with pytest.raises(InputError, match=message) as caught:
        load_user_csv(path)
    assert "bad_points.csv" in str(caught.value)


def test_missing_csv_is_named(tmp_path):
    with pytest.raises(InputError, match=r"nowhere.csv does not exist"):
        load_user_csv(tmp_path / "nowhere.csv")


def test_source_labels_of_a_user_csv_define_the_sources_of_the_source_rule():
    from matdisco.ionic.curation import dataset_and_source

    raw = pd.DataFrame(
        {
            keys.RAW_SALT_NAME: ["a", "a", "a", "b", "b"],
            keys.RAW_TEMPERATURE: [298.0, 308.0, 298.0, 298.0, 308.0],
            keys.RAW_PRESSURE: [101.325] * 5,
            keys.SOURCE: ["x", "x", "y", "x", "x"],
        }
    )
    dataset, source = dataset_and_source(raw)
    assert list(dataset) == [1, 1, 2, 3, 3], "a new label starts a new data set of the same salt"
    assert list(source) == [1, 1, 2, 1, 1], "one source per label, wherever its rows lie"


@pytest.mark.parametrize(
    "row, message",
    [
        (f"EMIM BF4,{EMIM},{BF4},,300,-1.2", r"line 3 column 'sigma_S_per_m' holds -1.2 \(expected a conductivity"),
        (f"EMIM BF4,{EMIM},{BF4},,300,0", r"line 3 column 'sigma_S_per_m' holds 0\.0"),
        (f"EMIM BF4,{EMIM},{BF4},,300,inf", r"line 3 column 'sigma_S_per_m' holds inf"),
        (f"EMIM BF4,{EMIM},{BF4},,300,45", r"line 3 column 'sigma_S_per_m' holds 45\.0 .*sigma_max_S_per_m=30"),
        (f"EMIM BF4,{EMIM},{BF4},,25,1.2", r"line 3 column 'temperature_K' holds 25\.0 .*\[200, 500\].*Celsius"),
        (f"EMIM BF4,{EMIM},{BF4},,nan,1.2", r"line 3 column 'temperature_K' is blank"),
        (f"EMIM BF4,{EMIM},{BF4},,-inf,1.2", r"line 3 column 'temperature_K' holds -inf"),
    ],
)
def test_a_row_out_of_range_stops_extraction_with_its_line(make_cfg, tmp_path, tiny_ionic, row, message):
    # issue 28: such rows were dropped by curation without naming the line (all-Celsius: "0 ILs kept")
    path = tmp_path / "bad_points.csv"
    path.write_text("\n".join([HEADER, GOOD_ROW, row]) + "\n")
    cfg = make_cfg("data.source=csv", f"data.csv_path={path}", *CSV_OVERRIDES)
    with pytest.raises(InputError, match=message):
        extract(cfg)
    assert not (tmp_path / "processed").exists() and not (tmp_path / "metrics").exists(), "nothing written"


def test_curation_report_of_a_user_csv_names_the_csv(make_cfg, tiny_ionic):
    # issue 28: the report of a user CSV was headed "Raw snapshot"
    cfg = make_cfg("data.source=csv", f"data.csv_path={tiny_ionic.user_csv}", *CSV_OVERRIDES)
    extract(cfg)
    report = (tiny_ionic.raw_dir.parent / "processed" / "ionic" / "curation_report.md").read_text()
    assert f"Your CSV {tiny_ionic.user_csv} (data.source=csv): {tiny_ionic.n_rows} points" in report
    assert "Raw snapshot" not in report
