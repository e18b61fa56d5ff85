"""The campaign's records on disk: JSON-lines data sets (one record per self-consistent iteration,
keyed by record id) and the ``record.json`` of one calculation folder.

- ``read_records``: every record of a JSON-lines file;
- ``merge_records``: insert or replace records by id, atomically and under a file lock (several
  campaign processes can share one data set);
- ``load_record``: the finished record of one calculation, from its folder or the stored data sets.
"""

from __future__ import annotations

import fcntl
import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from matdisco.core.io import atomic_write_text
from matdisco.hubbard import keys as K
from matdisco.hubbard.qe.outputs import QEOutputError


class StoredRecords(Protocol):
    """Where finished records live (a ``campaign.Campaign`` is one)."""

    records_path: Path
    failures_path: Path


def read_records(path: Path) -> list[dict[str, Any]]:
    """Records of a JSON-lines file ([] when it does not exist); a bad line raises naming file and line."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise QEOutputError(f"not a JSON record: {error.msg}", path, number) from error
    return records


def merge_records(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """Insert or replace ``records`` (by record id) in the JSON-lines file ``path``, atomically and
    under an exclusive lock; returns the number of records in the file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(path.suffix + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        merged = {r[K.RECORD_ID]: r for r in read_records(path)}
        merged.update({r[K.RECORD_ID]: r for r in records})
        lines = [
            json.dumps(merged[key], sort_keys=True, separators=(",", ":"), default=_json_value)
            for key in sorted(merged)
        ]
        atomic_write_text(path, "".join(line + "\n" for line in lines))
    return len(merged)


def _json_value(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def load_record(folder: Path, record_id: str, stored: StoredRecords) -> dict[str, Any] | None:
    """The finished record of a calculation: its folder's record.json, else the record of that id
    in ``stored.records_path`` or ``stored.failures_path`` (so a campaign resumes from the committed
    data set on a fresh machine); None when there is none (a partial folder is then wiped)."""
    record_file = folder / "record.json"
    if record_file.is_file():
        return json.loads(record_file.read_text())
    for path in (stored.records_path, stored.failures_path):
        known = next((r for r in read_records(path) if r[K.RECORD_ID] == record_id), None)
        if known is not None:
            return known
    if folder.exists():
        shutil.rmtree(folder)
    return None
