"""Broken raw CSVs stop extraction with a message naming the file, the line and the column."""

import pytest

from matdisco.core.errors import InputError
from matdisco.ionic import keys
from matdisco.ionic.sources import RAW_SUBDIR, load_snapshot

HEADER = f'"{keys.RAW_SIGMA}","Frequency, MHz","{keys.RAW_PRESSURE}","{keys.RAW_TEMPERATURE}",{keys.RAW_SALT_NAME}'
GOOD = [HEADER, '0.5,,101.325,298.1,"salt a"', '0.7,,101.325,308.1,"salt a"']


def _raw_dir(tmp_path, conductivity: str):
    folder = tmp_path / RAW_SUBDIR
    folder.mkdir()
    (folder / "electrical_conductivity.csv").write_text(conductivity)
    for name in ("cationInfo.csv", "anionInfo.csv"):
        (folder / name).write_text("name,smiles\nx,[Na+]\n")
    (folder / "compounds.csv").write_text("id,name,smiles\n1,salt a,[Na+].[Cl-]\n")
    return tmp_path


def test_good_tables_load(tmp_path):
    tables = load_snapshot(_raw_dir(tmp_path, "\n".join(GOOD) + "\n"))
    assert len(tables["electrical_conductivity.csv"]) == 2


@pytest.mark.parametrize(
    "text, message",
    [
        ("", r"electrical_conductivity.csv is empty"),
        ("\n".join(GOOD[1:]) + "\n", r"electrical_conductivity.csv line 1 lacks the column\(s\)"),
        ("\n".join(GOOD) + "\n0.9,,101.3", r"electrical_conductivity.csv line 4 is cut short"),
        (
            "\n".join(GOOD) + '\nabc,,101.325,300,"salt a"\n',
            r"electrical_conductivity.csv line 4 column 'Electrical conductivity, S/m' holds 'abc'",
        ),
    ],
)
def test_broken_conductivity_csv_is_named(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        load_snapshot(_raw_dir(tmp_path, text))


def test_many_invalid_smiles_are_counted_before_the_split(make_cfg, tmp_path, capsys):
    from matdisco.core.errors import ConfigError
    from matdisco.ionic.extract import extract

    cfg = make_cfg("data.split.n_test=2")
    names = ["salt a", "salt b", "salt c", "salt d"]
    rows = [HEADER] + [f'0.5,,101.325,{300 + i},"{name}"' for name in names for i in range(2)]
    folder = tmp_path / "raw" / RAW_SUBDIR
    folder.mkdir(parents=True)
    (folder / "electrical_conductivity.csv").write_text("\n".join(rows) + "\n")
    for name in ("cationInfo.csv", "anionInfo.csv"):
        (folder / name).write_text("name,smiles\nx,[Na+]\n")
    smiles = ["[Na+].[Cl-]", "C1CC(", "C1CC(", "[Na+].[Cl-"]
    (folder / "compounds.csv").write_text(
        "id,name,smiles\n" + "".join(f"{i},{n},{s}\n" for i, (n, s) in enumerate(zip(names, smiles)))
    )
    with pytest.raises(
        ConfigError, match=r"split.n_test=2 .*3 of 4 salt names rejected \(3 invalid SMILES\).*1 ILs kept"
    ):
        extract(cfg)
    assert "3 of 4 salt names rejected" in capsys.readouterr().err
