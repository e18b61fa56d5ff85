"""``hubbard_evaluate``: held-out errors of the U or V model, per species, next to the paper.

Schemes (the same splits as training, rebuilt from the same tables):
- ``by_path``: test paths of the extract's grouped split (no path in two sets; checked);
- ``lomo``: leave-one-material-out, pooled over folds (transferability to a new material);
- ``in_sample``: the by_path model on its own training rows (a sanity check, not an error estimate).

Per scheme and per species (for V: species pair): MAE, RMSE (eV), mean absolute relative error
(rows with a zero target are left out and counted), n; and the same for the baseline "mean of
the training targets of the species" (what the network corrects). A scheme without rows is
reported as skipped with its reason, never an error.

Outputs: ``metrics/hubbard/<model>_evaluate.json``; ``plots/hubbard_ml/<model>/``: parity plots
per scheme (one panel per species) and ``predictions.csv``; ``results/hubbard/<model>_evaluation.md``
(the table next to Uhrin et al. 2025: MARE 3 % for U, 5 % for V).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from matdisco.core.config import artifact
from matdisco.core.io import atomic_path, atomic_write_json, atomic_write_text
from matdisco.core.metrics import regression_metrics
from matdisco.core.plots import save_figure
from matdisco.hubbard import keys as K
from matdisco.hubbard.ensemble import Ensemble
from matdisco.hubbard.features import TARGET
from matdisco.hubbard.training import BY_PATH, LOMO, load_points, model_dir, run_name, split_runs, table_spec

PRED, PRED_STD, BASELINE, SCHEME, FOLD, GROUP = "pred_eV", "pred_std_eV", "baseline_eV", "scheme", "fold", "species_group"
IN_SAMPLE = "in_sample"


def species_group(rows: pd.DataFrame, kind: str) -> pd.Series:
    """Species (U) or species pair ``A-B`` (V) of each row."""
    if kind == "u":
        return rows[K.SPECIES].astype(str)
    return rows[K.SPECIES_I].astype(str) + "-" + rows[K.SPECIES_J].astype(str)


def predictions(cfg, points: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Predictions of every trained split on its test rows (and in-sample for by_path); skipped runs with reasons."""
    spec = table_spec(cfg)
    frames, skipped = [], {}
    folder = model_dir(cfg)
    for run in split_runs(points, list(cfg.model.training.splits)) if len(points) else []:
        scheme = BY_PATH if run.name == BY_PATH else LOMO
        if not (folder / run.name).is_dir():
            skipped[run.name] = _train_reason(folder, run.name)
            continue
        ensemble = Ensemble.load(folder / run.name)
        parts = [(scheme, run.test)] + ([(IN_SAMPLE, run.train)] if run.name == BY_PATH else [])
        for name, rows_index in parts:
            if not rows_index:
                skipped.setdefault(f"{run.name}:{name}", "no rows in this set")
                continue
            rows = points.iloc[rows_index].copy()
            mean, std = ensemble.predict(rows)
            offsets = ensemble.species_offsets()
            rows[PRED], rows[PRED_STD] = mean, std
            rows[BASELINE] = rows[spec.species].map(offsets).astype(float)
            rows[SCHEME], rows[FOLD], rows[GROUP] = name, run.name, species_group(rows, spec.kind)
            n_unseen = int(np.isnan(mean).sum())
            if n_unseen:
                skipped[f"{run.name}:{name}:unseen_species"] = f"{n_unseen} row(s) with species unseen in training"
            frames.append(rows[np.isfinite(mean)])
    if not frames:
        return pd.DataFrame(), skipped
    return pd.concat(frames, ignore_index=True), skipped


def _train_reason(folder: Path, run_name: str) -> str:
    summary = folder / "train_summary.json"
    if summary.is_file():
        reason = json.loads(summary.read_text()).get("skipped", {}).get(run_name)
        if reason:
            return f"not trained: {reason}"
    return "no trained model for this split (run hubbard_train)"


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


def parity_by_species(path: Path, rows: pd.DataFrame, label: str, title: str) -> Path:
    """One parity panel per species group, predicted against DFPT (eV)."""
    import matplotlib.pyplot as plt

    groups = sorted(rows[GROUP].unique())
    fig, axes = plt.subplots(1, len(groups), figsize=(4 * len(groups), 4), squeeze=False)
    for ax, group in zip(axes[0], groups):
        part = rows[rows[GROUP] == group]
        ax.errorbar(part[TARGET], part[PRED], yerr=part[PRED_STD], fmt="o", ms=4, alpha=0.7, lw=0.8)
        low = float(min(part[TARGET].min(), part[PRED].min())) - 0.05
        high = float(max(part[TARGET].max(), part[PRED].max())) + 0.05
        ax.plot([low, high], [low, high], color="black", lw=1)
        ax.set_xlabel(f"DFPT {label} (eV)")
        ax.set_ylabel(f"predicted {label} (eV)")
        ax.set_title(f"{group} (n={len(part)})")
    fig.suptitle(title)
    return save_figure(fig, path)


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


def evaluate(cfg) -> dict:
    """Score the trained model of ``cfg.model`` on held-out paths and materials; see module docstring."""
    name = run_name(cfg)
    points = load_points(cfg)
    frame, skipped = predictions(cfg, points)
    metrics = scheme_metrics(frame) if len(frame) else {}
    for what, reason in sorted(skipped.items()):
        print(f"[hubbard_evaluate] {name}: {what} skipped: {reason}")
    label, paper = cfg.model.evaluate.label, float(cfg.model.evaluate.paper_mare)
    n_paths = int(points[K.PATH_ID].nunique()) if len(points) else 0
    out = {"model": name, "parameter": label, "target": cfg.model.training.target, "n_points": len(points), "n_paths": n_paths,
           "paper_mare": paper, "schemes": metrics, "skipped": skipped}
    atomic_write_json(artifact(cfg, "metrics", "hubbard", f"{name}_evaluate.json"), out)
    plots = artifact(cfg, "plots", "hubbard_ml", name)
    columns = [SCHEME, FOLD, K.RECORD_ID, K.PATH_ID, K.MATERIAL, K.ITERATION, GROUP, TARGET, PRED, PRED_STD, BASELINE]
    with atomic_path(plots / "predictions.csv") as tmp:
        (frame[columns] if len(frame) else pd.DataFrame(columns=columns)).to_csv(tmp, index=False)
    for scheme, rows in frame.groupby(SCHEME) if len(frame) else []:
        parity_by_species(plots / f"parity_{scheme}.png", rows, label, f"{name}: {scheme}")
    atomic_write_text(artifact(cfg, "results", "hubbard", f"{name}_evaluation.md"),
                      markdown(name, label, paper, metrics, skipped, len(points), n_paths, cfg.model.training.target))
    summary = {f"{scheme}_mare": entry["all"]["mare"] for scheme, entry in metrics.items()}
    summary.update({f"{scheme}_mae_eV": entry["all"]["mae_eV"] for scheme, entry in metrics.items()})
    return {"n_points": len(points), **summary, "skipped": sorted(skipped)}
