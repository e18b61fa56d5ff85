"""``ionic_extract``: raw snapshot -> curated points, ions, IL-level splits and a curation report."""

from __future__ import annotations

import sys

from matdisco.core.config import artifact
from matdisco.core.errors import ConfigError
from matdisco.core.io import atomic_write_json, atomic_write_text
from matdisco.ionic import keys
from matdisco.ionic.curation import curate
from matdisco.ionic.data import write_processed
from matdisco.ionic.sources import load_live, load_snapshot
from matdisco.ionic.splits import grouped_splits


def extract(cfg) -> dict:
    """Curate the configured source and write points/ions/splits + report; return the counts."""
    tables = load_snapshot(cfg.paths.raw)
    if cfg.data.source == "live":
        tables["electrical_conductivity.csv"] = load_live(cfg.data.get("live_max_entries"))
    elif cfg.data.source != "snapshot":
        raise ValueError(f"data.source must be 'snapshot' or 'live', got {cfg.data.source!r}")
    points, ions, report = curate(tables, dict(cfg.data.curation))
    split_cfg = cfg.data.split
    print(f"ionic curation: {report.rejection_summary()}", file=sys.stderr)
    try:
        splits = grouped_splits(points[keys.IL_ID], split_cfg.n_test, split_cfg.val_fraction, split_cfg.n_folds, seed=int(cfg.seed))
    except ConfigError as err:
        raise ConfigError(f"{err}; curation: {report.rejection_summary()}") from None
    paths = write_processed(cfg, points, ions, splits)
    atomic_write_text(paths["points"].parent / "curation_report.md", report.as_markdown())
    summary = {
        "n_points": report.n_points_kept,
        "n_ils": report.n_ils_kept,
        "n_cations": int((ions[keys.ION_ROLE] == "cation").sum()),
        "n_anions": int((ions[keys.ION_ROLE] == "anion").sum()),
        "n_unmapped_names": len(report.unmapped_names),
        "n_test_ils_default": len(splits["default"]["test"]),
        "n_folds": len(splits["folds"]),
    }
    atomic_write_json(artifact(cfg, "metrics", "ionic", "curation.json"), {**summary, "dropped_points": report.dropped_points})
    return summary
