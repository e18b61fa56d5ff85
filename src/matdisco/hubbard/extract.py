"""``hubbard_extract``: campaign records -> model-ready tables, grouped splits, data report.

Outputs (folders from ``cfg.paths``):
- ``processed/hubbard/u.parquet`` and ``v.parquet`` (:mod:`matdisco.hubbard.tables`), with the split
  labels ``split_by_path`` and ``split_by_material`` (:mod:`matdisco.hubbard.splits`);
- ``plots/hubbard/``: data_report.md and PNG plots; ``metrics/hubbard/data.json``: counts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matdisco.core.config import artifact
from matdisco.core.errors import InputError
from matdisco.core.io import atomic_write_json
from matdisco.hubbard import keys as K
from matdisco.hubbard.records import read_records
from matdisco.hubbard.report import write_report
from matdisco.hubbard.splits import add_splits
from matdisco.hubbard.tables import distinct_counts, u_table, v_table, write_parquet


def extract(cfg) -> dict[str, Any]:
    """Records (``cfg.data.records``) -> u/v parquet tables with splits, data report, counts."""
    records_path = Path(cfg.data.records)
    records = [r for r in read_records(records_path) if r[K.STATUS] == "ok"]
    if not records:
        raise InputError("no ok records", where=str(records_path), expected="the committed Hubbard data set")
    failures = read_records(Path(cfg.data.failures))
    u, v = u_table(records), v_table(records)
    split = cfg.data.split
    add_splits([u, v], records, dict(split.fractions), int(split.seed))
    out = artifact(cfg, "processed", "hubbard")
    write_parquet(u, out / "u.parquet")
    write_parquet(v, out / "v.parquet")
    summary = {
        "n_records": len(records),
        "n_failed": len(failures),
        "n_paths": len({r[K.PATH_ID] for r in records}),
        "n_materials": len({r[K.MATERIAL] for r in records}),
        "n_u": len(u),
        "n_u_metal": int((u[K.SPECIES] != "O").sum()),
        "n_v": len(v),
        **distinct_counts(u, v, int(cfg.data.distinct_decimals)),
        "core_hours": round(sum(r[K.CPU_TIME] for r in records + failures) / 3600.0, 2),  # wall x ranks, ok + failed
        "qe_cpu_hours": round(
            sum(r.get(K.QE_CPU_TIME, 0.0) for r in records + failures) / 3600.0, 2
        ),  # what QE reports
        "n_without_qe_cpu_time": sum(K.QE_CPU_TIME not in r for r in records + failures),
    }
    write_report(artifact(cfg, "plots", "hubbard"), records, failures, u, v, summary)
    atomic_write_json(artifact(cfg, "metrics", "hubbard", "data.json"), summary)
    return summary
