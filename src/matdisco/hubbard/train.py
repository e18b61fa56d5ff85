"""``hubbard_train``: fit the U or V model on the extract tables, per split, as small seed ensembles.

Splits (``cfg.model.training.splits``):
- ``by_path``: the extract's ``split_by_path`` labels (every iteration of one self-consistent path
  in one set); trains on ``train``, early-stops on ``val``.
(Held-out materials, strain ranges, distortion types and Li contents are the evaluate step's
blocked holdouts, each with its own model: ``data.evaluate.blocked``.)

Every model trains on the symmetry-distinct rows of its sets (``baselines.distinct_rows``, with
``data.distinct_decimals``): equivalent sites or pairs of one record once.

With very little data some splits cannot be trained (no training rows) or have no validation
rows: the first are skipped and listed in ``train_summary.json`` with the reason; the second
monitor the training loss instead (also recorded). Nothing crashes on a tiny data set.

Outputs: ``models/hubbard/<model>/<split>/member_<i>.pt`` (weights, hyperparameters, vocabulary,
target mode, training row ids) and ``models/hubbard/<model>/train_summary.json``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from matdisco.core.config import artifact
from matdisco.core.io import atomic_dir, atomic_write_json
from matdisco.core.provenance import run_metadata
from matdisco.core.seeding import member_seed, seed_everything
from matdisco.core.training import fit, instantiate_model, member_path, save_module
from matdisco.hubbard import keys as K
from matdisco.hubbard.baselines import distinct_rows, linear_prior, prior_groups
from matdisco.hubbard.data import (
    HubbardDataModule,
    load_points,
    make_points,
    model_dir,
    processed_table,
    run_name,
    table_spec,
    vocabulary_of,
)
from matdisco.hubbard.ensemble import Ensemble
from matdisco.hubbard.splits import BY_PATH, SplitRun, split_runs


def train(cfg) -> dict:
    """Train ``cfg.model`` on every split of ``model.training.splits``; see module docstring."""
    spec = table_spec(cfg)
    points = load_points(cfg)
    training = cfg.model.training
    metadata = run_metadata(cfg, [processed_table(cfg, spec.kind)])
    name = run_name(cfg)
    summary: dict = {
        "model": name,
        "kind": spec.kind,
        "target": training.target,
        "n_points": len(points),
        "n_paths": int(points[K.PATH_ID].nunique()) if len(points) else 0,
        "splits": {},
        "skipped": {},
    }
    val_mae = []
    with atomic_dir(model_dir(cfg)) as out:
        for run in split_runs(points, list(training.splits)) if len(points) else []:
            if not run.train:
                summary["skipped"][run.name] = "no training rows"
                print(f"[hubbard_train] {name}: split {run.name} skipped (no training rows)")
                continue
            ensemble, info = fit_ensemble(cfg, points, run, int(training.n_members), metadata)
            for member, module in enumerate(ensemble.members):
                save_module(
                    member_path(out / run.name, member),
                    module,
                    vocabulary=ensemble.vocabulary,
                    kind=spec.kind,
                    target=str(training.target),
                    train_records=info["train_records"],
                )
            summary["splits"][run.name] = {key: value for key, value in info.items() if key != "train_records"}
            if run.name == BY_PATH:
                val_mae = info["val_mae_eV_members"]
        if not summary["splits"]:
            print(f"[hubbard_train] {name}: nothing could be trained ({len(points)} points); see train_summary.json")
        atomic_write_json(out / "train_summary.json", summary)
    objective = float(np.nanmean(val_mae)) if val_mae and np.isfinite(val_mae).any() else float("nan")
    return {
        "objective": objective,
        "n_points": len(points),
        "splits_trained": sorted(summary["splits"]),
        "splits_skipped": summary["skipped"],
        "model_dir": str(model_dir(cfg)),
    }


def fit_ensemble(cfg, points: pd.DataFrame, run: SplitRun, n_members: int, metadata: dict) -> tuple[Ensemble, dict]:
    """Fit ``n_members`` seeds of ``cfg.model`` on the symmetry-distinct rows (``baselines.distinct_rows``:
    equivalent sites or pairs once) of ``run.train`` (early stopping on those of ``run.val``, or on the
    training loss when it is empty: noted in ``run.notes``), with the schedule
    ``cfg.trainer``; returns the ensemble (eval mode) and its summary (row counts, validation MAE per
    member, prior line coefficients, scale, notes, training record ids). ``run.train`` must not be empty."""
    spec, training, name = table_spec(cfg), cfg.model.training, run_name(cfg)
    decimals = int(cfg.data.distinct_decimals)
    train_rows, val_rows = (
        distinct_rows(points.iloc[run.train], spec, decimals),
        distinct_rows(points.iloc[run.val], spec, decimals),
    )
    vocabulary = vocabulary_of(train_rows, spec.kind)
    prior, scale = linear_prior(
        train_rows, spec, vocabulary, bool(cfg.model.use_hubbard_in), float(training.min_scale_eV)
    )
    if not run.val:
        run.notes.append("no validation rows: early stopping and model selection on the training loss")
        print(f"[hubbard_train] {name}: split {run.name}: {run.notes[-1]}")
    seen = (
        val_rows[val_rows[spec.species].isin(vocabulary)]
        if spec.kind == "u"
        else val_rows[val_rows[K.SPECIES_I].isin(vocabulary) & val_rows[K.SPECIES_J].isin(vocabulary)]
    )
    datamodule = HubbardDataModule(
        make_points(train_rows, spec.kind, vocabulary, cfg.model),
        make_points(seen, spec.kind, vocabulary, cfg.model),
        int(training.batch_size),
        int(cfg.seed),
    )
    group = cfg.logger.get("group") or f"hubbard-{name}"
    modules, maes = [], []
    for member in range(n_members):
        seed_everything(member_seed(int(cfg.seed), member))
        module = instantiate_model(cfg.model, species=vocabulary, prior_eV=prior, scale_eV=scale)
        logged = fit(
            cfg, module, datamodule, artifact(cfg, "logs"), f"{name}-{run.name}-m{member}", metadata, group=group
        )
        maes.append(logged.get("val/mae_eV", float("nan")))
        modules.append(module.eval())
    info = {
        "n_train_distinct": len(train_rows),
        "n_val_distinct": len(val_rows),
        "n_test": len(run.test),
        "val_mae_eV_members": maes,
        "prior_eV": dict(zip(map("-".join, prior_groups(vocabulary, spec.kind)), prior)),
        "scale_eV": scale,
        "notes": run.notes,
        "train_records": sorted(set(train_rows[K.RECORD_ID])),
    }
    return Ensemble(modules, vocabulary, spec.kind, str(training.target), None), info
