"""``ionic_extract``: raw data -> curated points, ions, IL-level splits, a curation report and the
glassy points (kept out of the table, written to ``glassy_points.csv`` beside it)."""

from __future__ import annotations

import sys

import pandas as pd

from matdisco.core.config import artifact
from matdisco.core.errors import ConfigError
from matdisco.core.io import atomic_path, atomic_write_json, atomic_write_text
from matdisco.ionic import keys
from matdisco.ionic.curation import curate
from matdisco.ionic.data import write_processed
from matdisco.ionic.sources import load_live, load_snapshot, load_user_csv
from matdisco.ionic.splits import grouped_splits

SOURCE_HEADINGS = {
    "snapshot": "Raw snapshot",
    "live": "ILThermo web API (data.source=live)",
    "csv": "Your CSV {csv_path} (data.source=csv)",
}
"""First words of the curation report: where the raw points came from, by ``data.source``."""


def extract(cfg) -> dict:
    """Curate the configured source and write points/ions/splits + report; return the counts."""
    tables = conductivity_tables(cfg)
    points, ions, report = curate(tables, dict(cfg.data.curation))
    report.source = SOURCE_HEADINGS[cfg.data.source].format(csv_path=cfg.data.get("csv_path"))
    split_cfg = cfg.data.split
    print(f"ionic curation: {report.rejection_summary()}", file=sys.stderr)
    try:
        splits = grouped_splits(
            points[keys.IL_ID], split_cfg.n_test, split_cfg.val_fraction, split_cfg.n_folds, seed=int(cfg.seed)
        )
    except ConfigError as err:
        raise ConfigError(f"{err}; curation: {report.rejection_summary()}") from None
    paths = write_processed(cfg, points, ions, splits)
    atomic_write_text(paths["points"].parent / "curation_report.md", report.as_markdown())
    glassy = report.glassy_points if report.glassy_points is not None else pd.DataFrame()
    with atomic_path(paths["points"].parent / "glassy_points.csv") as tmp:
        glassy.to_csv(tmp, index=False)
    summary = {
        "n_points": report.n_points_kept,
        "n_ils": report.n_ils_kept,
        "n_cations": int((ions[keys.ION_ROLE] == "cation").sum()),
        "n_anions": int((ions[keys.ION_ROLE] == "anion").sum()),
        "n_unmapped_names": len(report.unmapped_names),
        "n_test_ils_default": len(splits["default"]["test"]),
        "n_folds": len(splits["folds"]),
        "n_glassy_points": len(glassy),
    }
    atomic_write_json(
        artifact(cfg, "metrics", "ionic", "curation.json"), {**summary, "dropped_points": report.dropped_points}
    )
    return summary


def conductivity_tables(cfg) -> dict[str, pd.DataFrame]:
    """Snapshot tables, the conductivity points replaced as ``data.source`` says.

    snapshot: the pinned ILThermo points; live: the ILThermo web API; csv: ``data.csv_path``
    (:func:`matdisco.ionic.sources.load_user_csv`), its names put last in the compound table so
    they win over the snapshot's.
    """
    tables = load_snapshot(cfg.paths.raw)
    if cfg.data.source == "live":
        tables["electrical_conductivity.csv"] = load_live(cfg.data.get("live_max_entries"))
    elif cfg.data.source == "csv":
        if not cfg.data.get("csv_path"):
            raise ConfigError("data.source=csv needs data.csv_path (the CSV of your points)")
        points, names = load_user_csv(cfg.data.csv_path, dict(cfg.data.curation))
        tables["electrical_conductivity.csv"] = points
        tables["compounds.csv"] = pd.concat([tables["compounds.csv"], names], ignore_index=True)
    elif cfg.data.source != "snapshot":
        raise ConfigError(f"data.source must be 'snapshot', 'live' or 'csv', got {cfg.data.source!r}")
    return tables
