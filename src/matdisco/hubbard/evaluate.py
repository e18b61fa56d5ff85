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
(the table next to Uhrin et al. 2025: MARE 3 % for U, 5 % for V; ``data.evaluate.<u|v>``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from omegaconf import OmegaConf

from matdisco.core.config import artifact
from matdisco.core.errors import InputError
from matdisco.core.io import atomic_path, atomic_write_json, atomic_write_text
from matdisco.hubbard import keys as K
from matdisco.hubbard.baselines import BASELINES, baseline_predictions, species_mean_baseline
from matdisco.hubbard.data import TABLES, load_points, model_dir, processed_table, run_name, table_spec
from matdisco.hubbard.ensemble import Ensemble
from matdisco.hubbard.features import TARGET, select_points
from matdisco.hubbard.figures import parity_by_species
from matdisco.hubbard.scoring import BASELINE, baseline_column, baseline_markdown, baseline_scheme_metrics, FOLD, GROUP, IN_SAMPLE, PRED, PRED_STD, SCHEME, markdown, scheme_metrics, species_group
from matdisco.hubbard.splits import BY_PATH, LOMO, blocked_runs, split_runs


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
            rows[BASELINE] = species_mean_baseline(rows, spec, offsets)
            train = points.iloc[run.train]
            for baseline, values in baseline_predictions(train, rows, spec).items():
                rows[baseline_column(baseline)] = values
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


def evaluate(cfg) -> dict:
    """Score the trained model of ``cfg.model`` on held-out paths and materials; see module docstring."""
    name = run_name(cfg)
    points = load_points(cfg)
    frame, skipped = predictions(cfg, points)
    metrics = scheme_metrics(frame) if len(frame) else {}
    for what, reason in sorted(skipped.items()):
        print(f"[hubbard_evaluate] {name}: {what} skipped: {reason}")
    reference = cfg.data.evaluate[table_spec(cfg).kind]
    label, paper = reference.label, float(reference.paper_mare)
    n_paths = int(points[K.PATH_ID].nunique()) if len(points) else 0
    out = {"model": name, "parameter": label, "target": cfg.model.training.target, "n_points": len(points), "n_paths": n_paths,
           "paper_mare": paper, "schemes": metrics, "skipped": skipped}
    atomic_write_json(artifact(cfg, "metrics", "hubbard", f"{name}_evaluate.json"), out)
    plots = artifact(cfg, "plots", "hubbard_ml", name)
    columns = [SCHEME, FOLD, K.RECORD_ID, K.PATH_ID, K.MATERIAL, K.ITERATION, GROUP, TARGET, PRED, PRED_STD, BASELINE,
               *(baseline_column(b) for b in BASELINES)]
    with atomic_path(plots / "predictions.csv") as tmp:
        (frame[columns] if len(frame) else pd.DataFrame(columns=columns)).to_csv(tmp, index=False)
    for scheme, rows in frame.groupby(SCHEME) if len(frame) else []:
        parity_by_species(plots / f"parity_{scheme}.png", rows, label, f"{name}: {scheme}")
    atomic_write_text(artifact(cfg, "results", "hubbard", f"{name}_evaluation.md"),
                      markdown(name, label, paper, metrics, skipped, len(points), n_paths, cfg.model.training.target))
    summary = {f"{scheme}_mare": entry["all"]["mare"] for scheme, entry in metrics.items()}
    summary.update({f"{scheme}_mae_eV": entry["all"]["mae_eV"] for scheme, entry in metrics.items()})
    return {"n_points": len(points), **summary, "skipped": sorted(skipped)}


def evaluate_baselines(cfg, kind: str, target: str) -> dict:
    """Score only the baselines (no model) of table ``kind`` (u | v) and ``target`` (next | converged) on
    every blocked holdout of ``cfg.data.evaluate.blocked``; writes
    ``results/hubbard/baselines_<kind>_<target>_evaluation.md`` and ``metrics/hubbard/baselines_<kind>_<target>.json``."""
    spec = TABLES[kind]
    path = processed_table(cfg, kind)
    if not path.is_file():
        raise InputError(f"{path} does not exist", where=str(path), expected="the hubbard_extract output (python pipelines/extract.py data=hubbard)")
    points = select_points(pd.read_parquet(path), spec.value_in, spec.value_out, target, spec.key)
    settings = cfg.data.evaluate
    runs = blocked_runs(points, OmegaConf.to_container(settings.blocked, resolve=True))
    metrics = baseline_scheme_metrics(points, spec, runs, int(settings.bootstrap.n_resamples), int(settings.bootstrap.seed),
                                      int(settings.distinct_decimals))
    name = f"baselines_{kind}_{target}"
    atomic_write_json(artifact(cfg, "metrics", "hubbard", f"{name}.json"), {"kind": kind, "target": target, "schemes": metrics})
    atomic_write_text(artifact(cfg, "results", "hubbard", f"{name}_evaluation.md"), baseline_markdown(settings[kind].label, target, metrics))
    return metrics
