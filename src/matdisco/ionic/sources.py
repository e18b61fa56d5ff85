"""Where the ionic-liquid data comes from.

Default (offline, pinned): the ILThermo electrical-conductivity snapshot of the PyPI package
``salty-ilthermo`` 0.2.dev17 (MIT) with its ion name -> SMILES tables and its melting points, and
the compound name -> SMILES table of ``ilthermopy`` 1.1.3. ``salty`` cannot be imported on current
scikit-learn, so its files are located through ``importlib.metadata`` without importing it.

Your own data (``data.source=csv``, ``data.csv_path``): :func:`load_user_csv` reads a CSV with the
columns of :data:`USER_COLUMNS` and turns it into the raw-snapshot layout, so the same curation
applies; a bad row stops extraction with the file, line and column.

Optional (needs internet, never used by default or in tests): ``data.source=live`` queries the
ILThermo web API through ``ilthermopy``.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import numpy as np
import pandas as pd

from matdisco.core.errors import InputError
from matdisco.core.io import atomic_write_bytes, file_md5

# (package distribution, file inside it) -> name in data/raw/ionic
SNAPSHOT_FILES = {
    "electrical_conductivity.csv": ("salty-ilthermo", "salty/data/electrical_conductivity.csv"),
    "cationInfo.csv": ("salty-ilthermo", "salty/data/cationInfo.csv"),
    "anionInfo.csv": ("salty-ilthermo", "salty/data/anionInfo.csv"),
    "compounds.csv": ("ilthermopy", "ilthermopy/data/compounds.csv"),
    "melting_point.csv": ("salty-ilthermo", "salty/data/melting_point.csv"),
}
CONDUCTIVITY_TABLES = ("electrical_conductivity.csv", "cationInfo.csv", "anionInfo.csv", "compounds.csv")
RAW_SUBDIR = "ionic"
RAW_MELTING_K = "Normal melting temperature, K"
# A user CSV (data.source=csv): column -> meaning. Either salt_smiles or cation_smiles + anion_smiles.
USER_COLUMNS = {
    "name": "salt name (one name = one salt; rows of a name must give the same SMILES)",
    "cation_smiles": "SMILES of the cation (with anion_smiles)",
    "anion_smiles": "SMILES of the anion (with cation_smiles)",
    "salt_smiles": "SMILES of the salt, ions joined by '.' (instead of cation_smiles + anion_smiles)",
    "temperature_K": "temperature in K",
    "sigma_S_per_m": "electrical conductivity in S/m",
    "pressure_kPa": "optional: pressure in kPa (blank or absent = 101.325 kPa)",
    "source": "optional: reference label; data sets of one label form one source for the source rule",
}


def _table_columns() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """File -> (columns it must have, of those the numeric ones) (names from :mod:`matdisco.ionic.keys`)."""
    from matdisco.ionic import keys

    return {
        "electrical_conductivity.csv": (
            (keys.RAW_SIGMA, keys.RAW_PRESSURE, keys.RAW_TEMPERATURE, keys.RAW_SALT_NAME),
            (keys.RAW_SIGMA, keys.RAW_PRESSURE, keys.RAW_TEMPERATURE),
        ),
        "cationInfo.csv": (("name", "smiles"), ()),
        "anionInfo.csv": (("name", "smiles"), ()),
        "compounds.csv": (("name", "smiles"), ()),
        "melting_point.csv": ((keys.RAW_SALT_NAME, RAW_MELTING_K), (RAW_MELTING_K,)),
    }


def package_file(distribution: str, relative: str) -> Path:
    """Absolute path of a data file shipped inside an installed distribution (without importing it)."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError as err:
        raise InputError(f"package {distribution!r} is not installed", expected="`make setup` to install it") from err
    for entry in dist.files or []:
        if str(entry) == relative:
            return Path(entry.locate())
    raise InputError(f"file {relative!r} not found", where=f"package {distribution}")


def fetch_raw(raw_dir: str | Path) -> list[Path]:
    """Copy the snapshot files into ``raw_dir/ionic`` byte for byte; files already identical are left alone."""
    written = []
    for name, (distribution, relative) in SNAPSHOT_FILES.items():
        source = package_file(distribution, relative)
        target = Path(raw_dir) / RAW_SUBDIR / name
        if not (target.is_file() and file_md5(target) == file_md5(source)):
            atomic_write_bytes(target, source.read_bytes())
        written.append(target)
    return written


def load_snapshot(raw_dir: str | Path, names: tuple[str, ...] = CONDUCTIVITY_TABLES) -> dict[str, pd.DataFrame]:
    """Read the snapshot tables ``names`` (default: the conductivity data and its name tables) from
    ``raw_dir/ionic``; name the missing file if any."""
    tables = {}
    for name in names:
        path = Path(raw_dir) / RAW_SUBDIR / name
        if not path.is_file():
            raise InputError(f"raw file {path} is missing", expected="`matdisco data fetch` to refill data/raw")
        required, numeric = _table_columns()[name]
        tables[name] = read_raw_table(path, required, numeric)
    return tables


def read_raw_table(path: Path, required: tuple[str, ...], numeric: tuple[str, ...] = ()) -> pd.DataFrame:
    """CSV ``path`` checked: not empty, a header with ``required`` columns, not cut mid-line, and every
    non-blank value of ``numeric`` a number. :class:`InputError` names the file, the line and the column
    (line 1 is the header)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        raise InputError(f"raw file {path} is empty", expected=f"a CSV with the header {', '.join(required)}")
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise InputError(
            f"raw file {path} is not valid CSV: {err}".strip(), expected="one row per line, comma-separated"
        ) from None
    missing = [column for column in required if column not in table.columns]
    if missing:
        raise InputError(
            f"raw file {path} line 1 lacks the column(s) {', '.join(missing)}",
            expected=f"a header line naming {', '.join(required)}",
        )
    if not text.endswith("\n") and len(table) and table.iloc[-1][list(required)].isna().any():
        raise InputError(
            f"raw file {path} line {len(table) + 1} is cut short (the file ends mid-line)",
            expected="complete rows; refill data/raw with `matdisco data fetch`",
        )
    for column in numeric:
        _check_numeric(path, table, column)
    return table


def _check_numeric(path: Path, table: pd.DataFrame, column: str) -> None:
    """:class:`InputError` at the first non-blank value of ``column`` that is not a number."""
    values = pd.to_numeric(table[column], errors="coerce")
    bad = values.isna() & table[column].notna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(
            f"raw file {path} line {row + 2} column {column!r} holds {table[column].iloc[row]!r}", expected="a number"
        )


def load_user_csv(path: str | Path, curation: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A user's conductivity CSV (columns :data:`USER_COLUMNS`) in the raw-snapshot layout.

    Returns (points with the ``RAW_*`` columns of :mod:`matdisco.ionic.keys` and, when given, the
    ``source`` label; name -> salt SMILES rows to add to the compound table, where they win). Every row is
    checked: required values present, numbers numeric and finite, sigma and pressure positive, the
    temperature within ``curation["temperature_range_K"]`` (K; else positive) and sigma at most
    ``curation["sigma_max_S_per_m"]``, SMILES parsable, one cation and one anion species with a neutral
    formula unit, one SMILES per name. :class:`InputError` names the file, the line (line 1 is the
    header) and the column.
    """
    from matdisco.ionic import keys
    from matdisco.ionic.curation import split_salt

    path = Path(path)
    if not path.is_file():
        raise InputError(f"raw file {path} does not exist", expected="data.csv_path to name a CSV file")
    table = read_raw_table(
        path,
        ("name", "temperature_K", "sigma_S_per_m"),
        tuple(c for c in ("temperature_K", "sigma_S_per_m", "pressure_kPa") if c in _header(path)),
    )
    smiles_columns = _smiles_columns(path, table)
    for column in ("name", "temperature_K", "sigma_S_per_m"):
        _check_present(path, table, column)
    _check_user_ranges(path, table, curation or {})
    salt_of_name: dict[str, tuple[str, int]] = {}
    for row, name in enumerate(table["name"].astype(str)):
        line = row + 2
        smiles, column = _row_salt_smiles(path, table, row, smiles_columns)
        salt = split_salt(smiles, where=f"{path} line {line} column {column!r}")
        first = salt_of_name.setdefault(name, (salt.smiles, line))
        if first[0] != salt.smiles:
            raise InputError(
                f"{path} line {line} column {column!r}: salt {name!r} is {salt.smiles}, but line {first[1]} gave {first[0]}",
                expected="one salt SMILES per name",
            )
    points = pd.DataFrame(
        {
            keys.RAW_SIGMA: pd.to_numeric(table["sigma_S_per_m"]),
            keys.RAW_PRESSURE: pd.to_numeric(table["pressure_kPa"]) if "pressure_kPa" in table else float("nan"),
            keys.RAW_TEMPERATURE: pd.to_numeric(table["temperature_K"]),
            keys.RAW_SALT_NAME: table["name"].astype(str),
        }
    )
    if "source" in table:
        points[keys.SOURCE] = table["source"].fillna("").astype(str)
    names = pd.DataFrame({"name": list(salt_of_name), "smiles": [smiles for smiles, _ in salt_of_name.values()]})
    return points, names


def _check_user_ranges(path: Path, table: pd.DataFrame, curation: dict) -> None:
    """Temperature, sigma and pressure of every row of a user CSV in range (see :func:`load_user_csv`)."""
    low_K, high_K = curation.get("temperature_range_K") or (0.0, float("inf"))
    sigma_max = curation.get("sigma_max_S_per_m") or float("inf")
    check_range(
        path,
        table,
        "temperature_K",
        (low_K, high_K),
        f"a temperature in K within data.curation.temperature_range_K [{low_K:g}, {high_K:g}] "
        "(degrees Celsius? K = C + 273.15; widen the range to keep the row)",
    )
    check_range(
        path,
        table,
        "sigma_S_per_m",
        (0.0, sigma_max),
        f"a conductivity in S/m above 0 and at most data.curation.sigma_max_S_per_m={sigma_max:g} "
        "(mS/cm? S/m = mS/cm / 10)",
    )
    if "pressure_kPa" in table:
        check_range(path, table, "pressure_kPa", (0.0, float("inf")), "a pressure in kPa above 0, or blank")


def check_range(path: Path, table: pd.DataFrame, column: str, bounds: tuple[float, float], expected: str) -> None:
    """:class:`InputError` at the first non-blank value of numeric ``column`` that is not finite or lies
    outside ``bounds`` (low excluded when it is 0, else included; high included), naming file, line, column."""
    values = pd.to_numeric(table[column]).to_numpy(dtype=float)
    low, high = bounds
    above_low = values > low if low == 0.0 else values >= low
    bad = ~np.isnan(values) & ~(np.isfinite(values) & above_low & (values <= high))
    if bad.any():
        row = int(bad.nonzero()[0][0])
        raise InputError(
            f"raw file {path} line {row + 2} column {column!r} holds {float(values[row])!r}", expected=expected
        )


def load_pairs_csv(path: str | Path, temperatures_K: list[float] | None) -> list[tuple[str, str, float]]:
    """(cation SMILES, anion SMILES, temperature K) to predict, from a CSV with ``cation_smiles``,
    ``anion_smiles`` and optionally ``temperature_K`` (else every row at each of ``temperatures_K``,
    default 298.15 K; both at once is an error). :class:`InputError` names the file, line and column
    of a blank or non-numeric value or an ion of the wrong charge."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"raw file {path} does not exist", expected="--pairs to name a CSV file")
    has_T = "temperature_K" in _header(path)
    if has_T and temperatures_K:
        raise InputError(
            f"raw file {path} has a temperature_K column and --temperature is given too",
            expected="temperatures from one of the two",
        )
    temperatures_K = temperatures_K or [298.15]
    table = read_raw_table(path, ("cation_smiles", "anion_smiles"), ("temperature_K",) if has_T else ())
    for column in ("cation_smiles", "anion_smiles", *(("temperature_K",) if has_T else ())):
        _check_present(path, table, column)
    pairs = list(zip(table["cation_smiles"].astype(str).str.strip(), table["anion_smiles"].astype(str).str.strip()))
    checked: set[tuple[str, str]] = set()  # each distinct ion once (its first line is the one named)
    for row, (cation, anion) in enumerate(pairs):
        for column, smiles, sign in (("cation_smiles", cation, +1), ("anion_smiles", anion, -1)):
            if (column, smiles) not in checked:
                _check_ion_charge(path, row + 2, column, smiles, sign)
                checked.add((column, smiles))
    if has_T:
        check_range(path, table, "temperature_K", (0.0, float("inf")), "a finite temperature in K above 0")
        return [(c, a, float(t)) for (c, a), t in zip(pairs, pd.to_numeric(table["temperature_K"]))]
    return [(c, a, float(t)) for c, a in pairs for t in temperatures_K]


def _header(path: Path) -> list[str]:
    """Column names of CSV ``path`` (none for an empty file, which :func:`read_raw_table` then names)."""
    try:
        return list(pd.read_csv(path, nrows=0).columns)
    except pd.errors.EmptyDataError:
        return []


def _smiles_columns(path: Path, table: pd.DataFrame) -> tuple[str, ...]:
    """The SMILES columns the header offers: salt_smiles and/or (cation_smiles, anion_smiles)."""
    has_pair = "cation_smiles" in table and "anion_smiles" in table
    if not has_pair and "salt_smiles" not in table:
        raise InputError(
            f"raw file {path} line 1 lacks the SMILES columns",
            expected="a header naming salt_smiles, or cation_smiles and anion_smiles",
        )
    return tuple(
        c for c in ("salt_smiles", "cation_smiles", "anion_smiles") if c in table and (c == "salt_smiles" or has_pair)
    )


def _check_present(path: Path, table: pd.DataFrame, column: str) -> None:
    """:class:`InputError` at the first blank value of a required ``column``."""
    blank = table[column].isna() | (table[column].astype(str).str.strip() == "")
    if blank.any():
        line = int(blank.to_numpy().nonzero()[0][0]) + 2
        raise InputError(f"raw file {path} line {line} column {column!r} is blank", expected=USER_COLUMNS[column])


def _row_salt_smiles(path: Path, table: pd.DataFrame, row: int, columns: tuple[str, ...]) -> tuple[str, str]:
    """(salt SMILES, column it came from) of one row: salt_smiles, or cation.anion; exactly one form."""
    value = {c: str(table[c].iloc[row]).strip() if pd.notna(table[c].iloc[row]) else "" for c in columns}
    line = row + 2
    salt, cation, anion = value.get("salt_smiles", ""), value.get("cation_smiles", ""), value.get("anion_smiles", "")
    if salt and (cation or anion):
        raise InputError(
            f"raw file {path} line {line} column 'salt_smiles' is given with cation/anion SMILES",
            expected="salt_smiles or cation_smiles + anion_smiles, not both",
        )
    if salt:
        return salt, "salt_smiles"
    for column, smiles in (("cation_smiles", cation), ("anion_smiles", anion)):
        if not smiles:
            expected = (
                "salt_smiles, or cation_smiles and anion_smiles" if "salt_smiles" in columns else USER_COLUMNS[column]
            )
            raise InputError(f"raw file {path} line {line} column {column!r} is blank", expected=expected)
    _check_ion_charge(path, line, "cation_smiles", cation, +1)
    _check_ion_charge(path, line, "anion_smiles", anion, -1)
    return f"{cation}.{anion}", "cation_smiles"


def _check_ion_charge(path: Path, line: int, column: str, smiles: str, sign: int) -> None:
    """:class:`InputError` unless ``smiles`` parses to one ion of the charge sign its column says."""
    from matdisco.ionic.curation import canonical_smiles, formal_charge

    charge = formal_charge(canonical_smiles(smiles, where=f"raw file {path} line {line} column {column!r}"))
    if charge * sign <= 0:
        raise InputError(
            f"raw file {path} line {line} column {column!r} holds {smiles!r} of charge {charge:+d}",
            expected="a cation" if sign > 0 else "an anion",
        )


def load_live(max_entries: int | None = None) -> pd.DataFrame:  # pragma: no cover - needs internet
    """Electrical-conductivity points of pure ILs from the live ILThermo API (``data.source=live``).

    Returns the raw-snapshot column layout (:mod:`matdisco.ionic.keys` ``RAW_*``) so the same
    curation applies. Needs internet; the default pipeline and the tests never call it.
    """
    import ilthermopy as ilt

    from matdisco.ionic import keys

    found = ilt.Search(prop="Electrical conductivity", n_compounds=1)
    frames = []
    for entry_id in found["id"][:max_entries]:
        entry = ilt.GetEntry(entry_id)
        column = {_quantity(name): code for code, name in entry.header.items()}
        if "Electrical conductivity" not in column or "Temperature" not in column:
            continue
        frame = pd.DataFrame(
            {
                keys.RAW_SIGMA: entry.data[column["Electrical conductivity"]],
                keys.RAW_TEMPERATURE: entry.data[column["Temperature"]],
                keys.RAW_PRESSURE: entry.data[column["Pressure"]] if "Pressure" in column else 101.325,
            }
        )
        frame[keys.RAW_SALT_NAME] = entry.components[0].name
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _quantity(header: str) -> str:
    """'Temperature, K' -> 'Temperature' (ILThermo column header without unit or phase)."""
    return header.split(",")[0].strip()
