"""``hubbard_evaluate``: every Hubbard model variant against every baseline, per holdout, on identical rows.

Variants (``data.evaluate.variants``: model, target and input choice of each, e.g. U with target
``next`` and ``converged``; composed with the stage's own command line): each is scored on
- ``extract_split``: the test paths of the extract's grouped split, with the ``by_path`` model of
  hubbard_train (``models/hubbard/<variant>/by_path``);
- every blocked holdout of ``data.evaluate.blocked`` (``splits.blocked_runs``: strain ranges,
  distortion types, Li contents, one material at a time), each with a small ensemble
  (``data.evaluate.blocked_members`` seeds, the variant's schedule) trained here on the rows outside
  the block, so no held-out path is ever seen in training.

Per holdout: one row per symmetry-distinct site (pair) per record, the model's and every baseline's
MAE (eV) and MARE with 95 % path-bootstrap intervals, and the model-minus-baseline MAE with its
interval (:func:`matdisco.hubbard.scoring.fold_metrics`); a scheme of several folds (one per material,
distortion type, Li content) is also scored pooled over its folds. A holdout that cannot be scored
(no rows, no training rows, no trained model) is listed with its reason.

Outputs: ``metrics/hubbard/evaluate.json``; ``results/hubbard/evaluation.md``;
``plots/hubbard_ml/<variant>/predictions.csv`` (every scored row and predictor) and
``parity_<holdout>.png`` of the headline holdout (``data.evaluate.headline``, which the results page also
sets beside the paper's MAREs).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from matdisco.core.config import (
    apply_params_file,
    artifact,
    compose,
    group_choices,
    hydra_command_line,
    value_overrides,
)
from matdisco.core.errors import ConfigError
from matdisco.core.io import atomic_path, atomic_write_json, atomic_write_text
from matdisco.core.provenance import run_metadata
from matdisco.hubbard import keys as K
from matdisco.hubbard.baselines import BASELINES, baseline_predictions, distinct_rows
from matdisco.hubbard.data import load_points, model_dir, processed_table, run_name, table_spec
from matdisco.hubbard.ensemble import Ensemble
from matdisco.hubbard.features import TARGET
from matdisco.hubbard.figures import parity_by_species
from matdisco.hubbard.scoring import (
    FOLD,
    GROUP,
    PRED,
    PRED_STD,
    baseline_column,
    evaluation_markdown,
    fold_metrics,
    species_group,
)
from matdisco.hubbard.splits import BY_PATH, SplitRun, blocked_runs, split_runs
from matdisco.hubbard.train import fit_ensemble

COLUMNS = [
    FOLD,
    K.RECORD_ID,
    K.PATH_ID,
    K.MATERIAL,
    K.ITERATION,
    GROUP,
    TARGET,
    PRED,
    PRED_STD,
    *(baseline_column(b) for b in BASELINES),
]


def evaluate(cfg, command_line: list[str] | None = None) -> dict:
    """Score every variant of ``data.evaluate.variants`` on every holdout; see module docstring.
    ``command_line``: the stage's overrides (default: the running Hydra app's), which every variant's
    fits honour (:func:`variant_config`)."""
    command_line = hydra_command_line() if command_line is None else list(command_line)
    results, frames = {}, {}
    for variant, spec in cfg.data.evaluate.variants.items():
        variant_cfg = variant_config(cfg, spec, command_line)
        if run_name(variant_cfg) != variant:
            raise ConfigError(
                f"data.evaluate.variants.{variant} composes the variant {run_name(variant_cfg)!r}; "
                f"expected model and target giving {variant!r} (hubbard.data.variant_name)"
            )
        results[variant], frames[variant] = evaluate_variant(variant_cfg)
        for fold, reason in sorted(results[variant][K.SKIPPED].items()):
            print(f"[hubbard_evaluate] {variant}: {fold} not scored: {reason}")
    atomic_write_json(artifact(cfg, "metrics", "hubbard", "evaluate.json"), evaluate_metrics(results))
    atomic_write_text(artifact(cfg, "results", "hubbard", "evaluation.md"), evaluation_markdown(results))
    for variant, frame in frames.items():
        write_predictions(cfg, variant, frame, results[variant], list(cfg.data.evaluate.blocked))
    return {
        variant: {"cpu_s": round(r[K.CPU_S], 1), "holdouts": sorted(r[K.SCHEMES]), "not_scored": sorted(r[K.SKIPPED])}
        for variant, r in results.items()
    }


def evaluate_metrics(variants: dict) -> dict:
    """The layout of metrics/hubbard/evaluate.json (the one place it is built; the results page,
    :mod:`matdisco.hubbard.page`, reads it): variant name -> :func:`variant_metrics`."""
    return {K.VARIANTS: variants}


def variant_metrics(
    *,
    model: str,
    kind: str,
    parameter: str,
    target: str,
    n_points: int,
    n_paths: int,
    schemes: dict,
    skipped: dict,
    cpu_s: float,
    headline: str = K.EXTRACT_SPLIT,
) -> dict:
    """The scores of one variant in metrics/hubbard/evaluate.json: its name, kind (u | v), parameter label,
    target choice, rows and paths, per holdout the scores of :func:`~matdisco.hubbard.scoring.fold_metrics`
    (``schemes``), the model's score on the ``headline`` holdout (:func:`headline_score`), the holdouts not
    scored with why (``skipped``) and the CPU seconds it took."""
    return {
        K.VARIANT_MODEL: model,
        K.VARIANT_KIND: kind,
        K.PARAMETER: parameter,
        K.TARGET_CHOICE: target,
        K.N_POINTS: n_points,
        K.N_PATHS: n_paths,
        K.SCHEMES: schemes,
        K.HEADLINE: headline_score(schemes, headline),
        K.SKIPPED: skipped,
        K.CPU_S: cpu_s,
    }


def headline_key(schemes: dict, headline: str) -> str | None:
    """The key of ``schemes`` that stands for the holdout ``headline`` (``data.evaluate.headline``): a blocked
    scheme's pooled score when it has one, else the holdout itself, else the scheme's one scored fold; None
    when none was scored."""
    folds = [key for key in schemes if scheme_of(key, [headline]) == headline and not key.endswith(K.POOLED)]
    candidates = [f"{headline}{K.POOLED}", headline, *(folds if len(folds) == 1 else [])]
    return next((key for key in candidates if key in schemes), None)


def headline_score(schemes: dict, headline: str) -> dict:
    """The model's scores (MAE, MARE, rows, paths) on the ``headline`` holdout with its key (``holdout``), or a
    ``status`` saying it was not scored."""
    key = headline_key(schemes, headline)
    if key is None:
        return {"status": f"not scored: no {headline!r} holdout (data.evaluate.headline)"}
    return {K.HOLDOUT: key, **schemes[key]["predictors"][K.MODEL_PREDICTOR]}


def variant_overrides(spec) -> list[str]:
    """The overrides that make a variant (``{model, target, use_hubbard_in}`` of ``data.evaluate.variants``)."""
    return [
        f"model={spec['model']}",
        f"model.training.target={spec['target']}",
        f"model.use_hubbard_in={str(bool(spec['use_hubbard_in'])).lower()}",
    ]


def variant_config(cfg, spec, command_line: list[str]):
    """The config of one model variant: conf/ composed with the variant's model, target and input
    choice, the logger ``data.evaluate.blocked_logger`` and the stage's ``command_line`` group choices
    (``trainer=``, ``logger=``; not ``model=`` or ``data=``: those are the variant's and the stage's), then
    params.yaml's sections when the stage runs from it (the variant's values re-applied over them), then the
    command line's values (``core.config.value_overrides``: ``trainer.*`` given there reach the fits); with
    ``cfg``'s paths, data, seed and threads."""
    own = variant_overrides(spec)
    choices = [word for group, word in group_choices(command_line) if group not in ("model", "data")]
    variant = compose([*own, f"logger={cfg.data.evaluate.blocked_logger}", *choices])
    OmegaConf.set_struct(variant, False)
    if cfg.get("params_file"):
        variant.params_file = cfg.params_file
        variant = apply_params_file(variant, own)
    for key, value in value_overrides(command_line):
        OmegaConf.update(variant, key, value, force_add=True)
    for key in ("paths", "data", "seed", "torch_num_threads"):
        variant[key] = cfg[key]
    return variant


def evaluate_variant(cfg) -> tuple[dict, pd.DataFrame]:
    """Scores of the variant ``cfg`` (a Hubbard model config) on every holdout, and its scored rows."""
    start = time.process_time()
    spec, settings = table_spec(cfg), cfg.data.evaluate
    points = load_points(cfg)
    schemes, skipped, frames = {}, {}, []
    for fold, run, reason in holdouts(points, settings):
        if reason:
            skipped[fold] = reason
            continue
        ensemble = trained_ensemble(cfg, fold, points, run, skipped)
        if ensemble is None:
            continue
        rows = scored_rows(points, run, ensemble, spec, int(cfg.data.distinct_decimals))
        n_unseen = len(distinct_rows(points.iloc[run.test], spec, int(cfg.data.distinct_decimals))) - len(rows)
        if n_unseen:
            skipped[f"{fold}:unseen_species"] = f"{n_unseen} row(s) with species unseen in training left out"
        if rows.empty:
            skipped.setdefault(fold, "no test row with a species seen in training")
            continue
        schemes[fold] = fold_metrics(rows, int(settings.bootstrap.n_resamples), int(settings.bootstrap.seed))
        frames.append(rows.assign(**{FOLD: fold}))
    frame = pd.concat(frames, ignore_index=True)[COLUMNS] if frames else pd.DataFrame(columns=COLUMNS)
    schemes.update(pooled_metrics(frame, list(settings.blocked), settings.bootstrap))
    result = variant_metrics(
        model=run_name(cfg),
        kind=spec.kind,
        parameter=settings[spec.kind].label,
        target=str(cfg.model.training.target),
        n_points=len(points),
        n_paths=int(points[K.PATH_ID].nunique()) if len(points) else 0,
        schemes=schemes,
        skipped=skipped,
        cpu_s=time.process_time() - start,
        headline=str(settings.headline),
    )
    return result, frame


def pooled_metrics(frame: pd.DataFrame, schemes: list[str], bootstrap) -> dict:
    """``<scheme> (pooled)``: the scores over every scored fold of each blocked scheme with two or more
    (each test row once: the folds of one scheme hold out disjoint blocks), keyed after its folds."""
    out = {}
    for scheme in schemes:
        rows = frame[frame[FOLD].map(lambda fold: scheme_of(fold, schemes) == scheme)] if len(frame) else frame
        if len(rows) and rows[FOLD].nunique() >= 2:
            out[f"{scheme}{K.POOLED}"] = fold_metrics(rows, int(bootstrap.n_resamples), int(bootstrap.seed))
    return out


def scheme_of(fold: str, schemes: list[str]) -> str | None:
    """The blocked scheme a fold belongs to (its name, or ``<name>_<value>``; the longest match)."""
    matches = [s for s in schemes if fold == s or fold.startswith(f"{s}_")]
    return max(matches, key=len) if matches else None


def holdouts(points: pd.DataFrame, settings) -> list[tuple[str, SplitRun | None, str]]:
    """(holdout name, run, reason it cannot be scored or "") of the extract split and every blocked scheme."""
    if points.empty:
        return [(K.EXTRACT_SPLIT, None, "no rows for this target")]
    by_path = split_runs(points, [BY_PATH])[0]
    out = [(K.EXTRACT_SPLIT, by_path, "" if by_path.test else "no test paths in the extract split")]
    runs, empty = blocked_runs(points, OmegaConf.to_container(settings.blocked, resolve=True))
    out += [(run.name, run, "" if run.train else "no training rows outside the block") for run in runs]
    return out + [(name, None, reason) for name, reason in sorted(empty.items())]


def trained_ensemble(cfg, fold: str, points: pd.DataFrame, run: SplitRun, skipped: dict) -> Ensemble | None:
    """The model of one holdout: hubbard_train's ``by_path`` ensemble for the extract split, else one
    fitted here on ``run.train``; None (reason in ``skipped``) where the extract split was not trained."""
    if fold != K.EXTRACT_SPLIT:
        return blocked_ensemble(cfg, points, run)
    folder = model_dir(cfg) / BY_PATH
    if not folder.is_dir():
        skipped[fold] = _train_reason(model_dir(cfg), BY_PATH)
        return None
    return Ensemble.load(folder)


def blocked_ensemble(cfg, points: pd.DataFrame, run: SplitRun) -> Ensemble:
    """The model of one blocked holdout: ``data.evaluate.blocked_members`` seeds of the variant ``cfg``
    (its schedule) fitted on the rows outside the block (``run.train``; ``run.val`` for early stopping)."""
    metadata = run_metadata(cfg, [processed_table(cfg, table_spec(cfg).kind)])
    return fit_ensemble(cfg, points, run, int(cfg.data.evaluate.blocked_members), metadata)[0]


def blocked_run(points: pd.DataFrame, blocked, name: str, key: str) -> SplitRun:
    """The blocked holdout ``name`` (e.g. ``lomo_LiCoO2``) of the schemes ``blocked`` (``data.evaluate.blocked``)
    on ``points``; a :class:`ConfigError` naming the config ``key`` when it does not exist or has no training rows."""
    runs, empty = blocked_runs(points, OmegaConf.to_container(blocked, resolve=True))
    found = {run.name: run for run in runs}
    if name in empty:
        raise ConfigError(f"{key}={name!r} cannot be used: {empty[name]}")
    if name not in found:
        raise ConfigError(f"{key}={name!r} is not a holdout of data.evaluate.blocked: one of {sorted(found)}")
    if not found[name].train:
        raise ConfigError(f"{key}={name!r} leaves no training rows outside the block")
    return found[name]


def scored_rows(points: pd.DataFrame, run: SplitRun, ensemble: Ensemble, spec, decimals: int) -> pd.DataFrame:
    """The distinct test rows of ``run`` whose species the model knows, with the model's prediction and
    spread and every baseline's prediction, eV. Baselines are fitted on the rows the model saw
    (``run.train`` and the early-stopping rows ``run.val``), never on test rows."""
    rows = distinct_rows(points.iloc[run.test], spec, decimals).copy()
    rows[PRED], rows[PRED_STD] = ensemble.predict(rows)
    rows = rows[np.isfinite(rows[PRED].to_numpy())]
    if rows.empty:
        return rows
    for name, values in baseline_predictions(points.iloc[run.train + run.val], rows, spec).items():
        rows[baseline_column(name)] = values
    rows[GROUP] = species_group(rows, spec.kind)
    return rows


def _train_reason(folder: Path, split: str) -> str:
    summary = folder / "train_summary.json"
    if summary.is_file():
        reason = json.loads(summary.read_text()).get("skipped", {}).get(split)
        if reason:
            return f"not trained: {reason}"
    return f"no trained model in {folder / split} (run hubbard_train)"


def write_predictions(cfg, variant: str, frame: pd.DataFrame, result: dict, schemes: list[str]) -> None:
    """``plots/hubbard_ml/<variant>/predictions.csv`` and ``parity_<holdout>.png``, the parity plot of the
    variant's headline holdout (``result``'s; a pooled scheme: the rows of all its folds)."""
    plots = artifact(cfg, "plots", "hubbard_ml", variant)
    with atomic_path(plots / "predictions.csv") as tmp:
        frame.to_csv(tmp, index=False)
    key = result[K.HEADLINE].get(K.HOLDOUT)
    if key is None:
        return
    scheme = key.removesuffix(K.POOLED)
    rows = frame[frame[FOLD].map(lambda fold: fold == key or scheme_of(fold, schemes) == scheme)]
    parity_by_species(plots / f"parity_{scheme}.png", rows, result[K.PARAMETER], f"{variant}: {key}")
