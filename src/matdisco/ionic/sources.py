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
        tables[name] = pd.read_csv(path)
    return tables


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
