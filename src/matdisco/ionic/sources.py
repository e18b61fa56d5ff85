"""Where the ionic-liquid data comes from.

Default (offline, pinned): the ILThermo electrical-conductivity snapshot of the PyPI package
``salty-ilthermo`` 0.2.dev17 (MIT) with its ion name -> SMILES tables, and the compound name ->
SMILES table of ``ilthermopy`` 1.1.3. ``salty`` cannot be imported on current scikit-learn, so its
files are located through ``importlib.metadata`` without importing it.

Optional (needs internet, never used by default or in tests): ``data.source=live`` queries the
ILThermo web API through ``ilthermopy``.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pandas as pd

from matdisco.core.errors import InputError
from matdisco.core.io import atomic_write_bytes, file_md5

# (package distribution, file inside it) -> name in data/raw/ionic
SNAPSHOT_FILES = {
    "electrical_conductivity.csv": ("salty-ilthermo", "salty/data/electrical_conductivity.csv"),
    "cationInfo.csv": ("salty-ilthermo", "salty/data/cationInfo.csv"),
    "anionInfo.csv": ("salty-ilthermo", "salty/data/anionInfo.csv"),
    "compounds.csv": ("ilthermopy", "ilthermopy/data/compounds.csv"),
}
RAW_SUBDIR = "ionic"


def _table_columns() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """File -> (columns it must have, of those the numeric ones) (names from :mod:`matdisco.ionic.keys`)."""
    from matdisco.ionic import keys

    return {
        "electrical_conductivity.csv": ((keys.RAW_SIGMA, keys.RAW_PRESSURE, keys.RAW_TEMPERATURE, keys.RAW_SALT_NAME),
                                        (keys.RAW_SIGMA, keys.RAW_PRESSURE, keys.RAW_TEMPERATURE)),
        "cationInfo.csv": (("name", "smiles"), ()),
        "anionInfo.csv": (("name", "smiles"), ()),
        "compounds.csv": (("name", "smiles"), ()),
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


def load_snapshot(raw_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Read the four snapshot tables from ``raw_dir/ionic``; name the missing file if any."""
    tables = {}
    for name in SNAPSHOT_FILES:
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
        raise InputError(f"raw file {path} is not valid CSV: {err}".strip(), expected="one row per line, comma-separated") from None
    missing = [column for column in required if column not in table.columns]
    if missing:
        raise InputError(f"raw file {path} line 1 lacks the column(s) {', '.join(missing)}",
                         expected=f"a header line naming {', '.join(required)}")
    if not text.endswith("\n") and len(table) and table.iloc[-1][list(required)].isna().any():
        raise InputError(f"raw file {path} line {len(table) + 1} is cut short (the file ends mid-line)",
                         expected="complete rows; refill data/raw with `matdisco data fetch`")
    for column in numeric:
        _check_numeric(path, table, column)
    return table


def _check_numeric(path: Path, table: pd.DataFrame, column: str) -> None:
    """:class:`InputError` at the first non-blank value of ``column`` that is not a number."""
    values = pd.to_numeric(table[column], errors="coerce")
    bad = values.isna() & table[column].notna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(f"raw file {path} line {row + 2} column {column!r} holds {table[column].iloc[row]!r}",
                         expected="a number")


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
