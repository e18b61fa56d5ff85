"""Held-out errors of the Hubbard U and V models: metrics per scheme and species, next to the
species-mean baseline, and the Markdown table next to Uhrin et al. 2025.

Per scheme and per species (for V: species pair): MAE, RMSE (eV), mean absolute relative error
(rows with a zero target are left out and counted), n; and the same for the baseline "mean of
the training targets of the species" (what the network corrects).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from matdisco.core.metrics import regression_metrics
from matdisco.hubbard import keys as K
from matdisco.hubbard.features import TARGET

PRED, PRED_STD, BASELINE, SCHEME, FOLD, GROUP = "pred_eV", "pred_std_eV", "baseline_eV", "scheme", "fold", "species_group"
IN_SAMPLE = "in_sample"


def species_group(rows: pd.DataFrame, kind: str) -> pd.Series:
    """Species (U) or species pair ``A-B`` (V) of each row."""
    if kind == "u":
        return rows[K.SPECIES].astype(str)
    return rows[K.SPECIES_I].astype(str) + "-" + rows[K.SPECIES_J].astype(str)


def error_metrics(y: np.ndarray, pred: np.ndarray) -> dict:
    """MAE, RMSE (eV), MARE (non-zero targets), n; relative error skipped with a note when impossible."""
    y, pred = np.asarray(y, dtype=float), np.asarray(pred, dtype=float)
    base = regression_metrics(y, pred)
    out = {"n": base["n"], "mae_eV": base["mae"], "rmse_eV": base["rmse"], "max_ae_eV": base["max_ae"]}
    nonzero = np.abs(y) > 1e-6
    out["n_zero_target"] = int((~nonzero).sum())
    out["mare"] = float(np.mean(np.abs(pred[nonzero] - y[nonzero]) / np.abs(y[nonzero]))) if nonzero.any() else None
    return out


def scheme_metrics(frame: pd.DataFrame) -> dict:
    """Per scheme: overall and per species group, for the model and the species-mean baseline."""
    metrics = {}
    for scheme, rows in frame.groupby(SCHEME, sort=True):
        entry = {"all": error_metrics(rows[TARGET], rows[PRED]), "baseline_species_mean": error_metrics(rows[TARGET], rows[BASELINE]),
                 "n_paths": int(rows[K.PATH_ID].nunique()), "n_materials": int(rows[K.MATERIAL].nunique()), "species": {}}
        for group, part in rows.groupby(GROUP, sort=True):
            entry["species"][group] = error_metrics(part[TARGET], part[PRED])
        metrics[scheme] = entry
    return metrics


def _pct(value) -> str:
    return "n/a" if value is None or (isinstance(value, float) and not np.isfinite(value)) else f"{100 * value:.1f} %"


def markdown(model: str, label: str, paper_mare: float, metrics: dict, skipped: dict, n_points: int, n_paths: int, target: str) -> str:
    """The evaluation table next to the paper's MARE, per scheme and species."""
    lines = [
        f"# {model}: Hubbard {label} from occupation matrices (target: {target})",
        "",
        f"Data at evaluation time: {n_points} {label} values from {n_paths} self-consistent path(s).",
        f"Reference: Uhrin, Zadoks, Binci, Marzari, Timrov, npj Comput. Mater. 11, 19 (2025): MARE {_pct(paper_mare)} for {label}"
        " (12 materials, held-out points).",
        "",
        "| scheme | species | n | MAE (eV) | RMSE (eV) | MARE | baseline MARE (species mean) | paper MARE |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for scheme, entry in metrics.items():
        a, b = entry["all"], entry["baseline_species_mean"]
        lines.append(f"| {scheme} | all | {a['n']} | {a['mae_eV']:.3f} | {a['rmse_eV']:.3f} | {_pct(a['mare'])} | {_pct(b['mare'])} | {_pct(paper_mare)} |")
        for group, m in entry["species"].items():
            lines.append(f"| {scheme} | {group} | {m['n']} | {m['mae_eV']:.3f} | {m['rmse_eV']:.3f} | {_pct(m['mare'])} | | |")
    if not metrics:
        lines.append("| (none) | | 0 | | | | | |")
    lines += ["", "`in_sample` is the by_path model on its own training rows: a sanity check, not an error estimate.", ""]
    if skipped:
        lines += ["Skipped:", ""] + [f"- {name}: {reason}" for name, reason in sorted(skipped.items())]
    return "\n".join(lines) + "\n"
