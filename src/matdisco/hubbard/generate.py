"""``hubbard_generate``: predict U and V with the trained models and write the next pw.x input(s)
(settings ``data.generate``; science in :mod:`matdisco.hubbard.prediction`).

Which models predict for which paths (``data.generate.holdout``): ``extract_split`` (default) takes
hubbard_train's ``by_path`` ensembles and the test paths of the extract's split; a blocked holdout of
``data.evaluate.blocked`` (e.g. ``lomo_LiCoO2``: a material the models never saw) fits the U and V
variants here without the block, as the evaluation does, and predicts the block's paths.

Outputs: ``results/hubbard/generate/<name>/`` (``scf.in``, ``prediction.json``) and
``metrics/hubbard/generate.json``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from matdisco.core.config import artifact, hydra_command_line
from matdisco.core.errors import ConfigError
from matdisco.core.io import atomic_write_json
from matdisco.hubbard import keys as K
from matdisco.hubbard.data import load_points, model_dir, processed_table, variant_name
from matdisco.hubbard.ensemble import Ensemble
from matdisco.hubbard.evaluate import blocked_ensemble, blocked_run, variant_config
from matdisco.hubbard.prediction import (
    closed_loop,
    estimated_saving,
    load_models,
    next_entries,
    path_reference,
    predict_record,
    record_from_pw,
    require_a_prediction,
    selected_paths,
    write_next_input,
)
from matdisco.hubbard.records import read_records
from matdisco.hubbard.splits import BY_PATH


def run_folder_name(pw_output: str | Path, pw_input: str | Path) -> str:
    """Results folder of one prediction: the output's stem plus a digest of both files' contents, so a
    prediction for another structure (or another run of the same name) never replaces this one."""
    digest = hashlib.md5(Path(pw_output).read_bytes() + b"\0" + Path(pw_input).read_bytes()).hexdigest()[:8]
    return f"{Path(pw_output).stem}-{digest}"


def require_qe_files(gen) -> None:
    """:class:`ConfigError` unless ``pw_input`` comes with ``pw_output`` and every QE file named in
    ``data.generate`` (``pw_output``, ``pw_input``, ``parameters_out``) is an existing file."""
    if not gen.get("pw_input"):
        raise ConfigError("data.generate.pw_output needs data.generate.pw_input (the pw.x input that produced it)")
    for key in ("pw_output", "pw_input", "parameters_out"):
        if gen.get(key) and not Path(gen[key]).is_file():
            raise ConfigError(f"data.generate.{key}={gen[key]} is not a file (expected a QE file to read)")


def generate(cfg, run_iteration: Callable | None = None, command_line: list[str] | None = None) -> dict:
    """Predict U/V and write the next pw.x input(s); reference comparison and optional closed loop. See
    module docstring. ``command_line``: the stage's overrides (default: the running Hydra app's), which the
    fits of a blocked ``data.generate.holdout`` honour (:func:`matdisco.hubbard.evaluate.variant_config`)."""
    gen = cfg.data.generate
    if gen.get("pw_output"):
        require_qe_files(gen)
    holdout = str(gen.get("holdout") or K.EXTRACT_SPLIT)
    u_model, v_model, fold_paths = predicting_models(cfg, holdout, command_line)
    root = artifact(cfg, "results", "hubbard", "generate")
    if gen.get("pw_output"):
        record = record_from_pw(gen.pw_output, gen.pw_input, gen.get("parameters_out"))
        start = time.perf_counter()
        u, v = predict_record(record, u_model, v_model)
        seconds = time.perf_counter() - start
        require_a_prediction(u, v, u_model, str(gen.pw_output))
        path, notes = write_next_input(root / run_folder_name(gen.pw_output, gen.pw_input), record, u, v)
        result = {
            "pw_output": str(gen.pw_output),
            "next_input": str(path),
            "prediction_s": seconds,
            "notes": notes,
            "u_eV": _values(u, (K.ATOM_INDEX,)),
            "v_eV": _values(v, (K.ATOM_I, K.ATOM_J)),
        }
        atomic_write_json(path.parent / "prediction.json", result)
        return result
    records = read_records(Path(cfg.data.records))
    records = [r for r in records if r[K.STATUS] == "ok"]
    by_path: dict[str, list] = {}
    for record in records:
        by_path.setdefault(record[K.PATH_ID], []).append(record)
    paths_out = {}
    chosen = (
        selected_paths(processed_table(cfg, "u"), records, int(gen.max_paths))
        if fold_paths is None
        else fold_paths[: int(gen.max_paths)]
    )
    for path_id in chosen:
        path_records = sorted(by_path[path_id], key=lambda r: r[K.ITERATION])
        first = path_records[0]
        start = time.perf_counter()
        u, v = predict_record(first, u_model, v_model)
        seconds = time.perf_counter() - start
        reference = path_reference(path_records)
        entries, _ = next_entries(first, u, v)
        ml = {(i, j): value for i, j, value in entries}
        ml_error = max(
            (abs(ml.get(key, 0.0) - value) for key, value in reference["final"].items()), default=float("nan")
        )
        first_out = {(e[K.ATOM_I], e[K.ATOM_J]): e[K.VALUE] for e in first[K.HUBBARD_OUT]}
        step_error = max((abs(ml[key] - value) for key, value in first_out.items() if key in ml), default=float("nan"))
        path, notes = write_next_input(root / path_id.replace("/", "_"), first, u, v)
        entry = {
            "next_input": str(path),
            "prediction_s": seconds,
            "target": u_model.target,
            "notes": notes,
            "max_abs_error_vs_first_hp_eV": step_error,
            "max_abs_error_vs_final_eV": ml_error,
            "reference": {k: v for k, v in reference.items() if k != "final"},
            **estimated_saving(reference, ml_error, float(gen.get("saving_margin_eV", 0.01))),
            "u_eV": _values(u, (K.ATOM_INDEX,)),
            "v_eV": _values(v, (K.ATOM_I, K.ATOM_J)),
        }
        atomic_write_json(path.parent / "prediction.json", entry)
        paths_out[path_id] = entry
    loop = (
        closed_loop(gen.closed_loop, by_path, paths_out, u_model, v_model, run_iteration)
        if gen.closed_loop.enabled
        else {"enabled": False}
    )
    summary = {
        "holdout": holdout,
        "n_paths": len(paths_out),
        "iterations_saved_estimate_mean": float(np.mean([p["iterations_saved_estimate"] for p in paths_out.values()]))
        if paths_out
        else None,
        "max_abs_error_vs_final_eV_mean": float(
            np.nanmean([p["max_abs_error_vs_final_eV"] for p in paths_out.values()])
        )
        if paths_out
        else None,
        "prediction_s_mean": float(np.mean([p["prediction_s"] for p in paths_out.values()])) if paths_out else None,
        "closed_loop": loop,
    }
    atomic_write_json(artifact(cfg, "metrics", "hubbard", "generate.json"), {**summary, "paths": paths_out})
    return summary


def predicting_models(
    cfg, holdout: str, command_line: list[str] | None
) -> tuple[Ensemble, Ensemble | None, list[str] | None]:
    """The U and V models of ``data.generate`` for ``holdout`` and the paths they predict for: hubbard_train's
    ``by_path`` ensembles and None (the extract split's test paths) for ``extract_split``, else the models
    fitted without the blocked holdout and its paths (:func:`holdout_model`)."""
    gen = cfg.data.generate
    if holdout == K.EXTRACT_SPLIT:
        folders = (model_dir(cfg, variant_name(name, gen.target)) / BY_PATH for name in (gen.u_model, gen.v_model))
        return (*load_models(*folders), None)
    command_line = hydra_command_line() if command_line is None else list(command_line)
    u_model, paths = holdout_model(cfg, gen.u_model, holdout, command_line)
    v_model, _ = holdout_model(cfg, gen.v_model, holdout, command_line)
    return u_model, v_model, paths


def holdout_model(cfg, model: str, holdout: str, command_line: list[str]) -> tuple[Ensemble, list[str]]:
    """The variant of ``model`` at ``data.generate.target`` fitted without the blocked holdout ``holdout``
    (:func:`~matdisco.hubbard.evaluate.blocked_ensemble`, as the evaluation fits it) and the holdout's
    paths, sorted."""
    variant = variant_name(model, cfg.data.generate.target)
    spec = cfg.data.evaluate.variants.get(variant)
    if spec is None:
        raise ConfigError(f"data.generate.holdout needs the variant {variant!r} in data.evaluate.variants to fit it")
    variant_cfg = variant_config(cfg, spec, command_line)
    points = load_points(variant_cfg)
    run = blocked_run(points, cfg.data.evaluate.blocked, holdout, "data.generate.holdout")
    print(f"[hubbard_generate] fitting {variant} without {holdout} ({len(run.train)} training rows)")
    return blocked_ensemble(variant_cfg, points, run), sorted(set(points.iloc[run.test][K.PATH_ID]))


def _values(frame: pd.DataFrame, key: tuple[str, ...]) -> list[dict]:
    if frame.empty:
        return []
    columns = [*key, K.SPECIES if K.SPECIES in frame else K.SPECIES_I, "pred_eV", "pred_std_eV"]
    out_column = K.U_OUT if K.U_OUT in frame else K.V_OUT
    rows = frame[columns + [out_column]].rename(columns={out_column: "hp_eV"})
    return [
        {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}
        for row in rows.to_dict("records")
    ]
