"""``make bench`` for the ionic family: training wall time per model, screening throughput, peak memory.

Runs in a temporary folder (the pipeline's artifacts are untouched): extract, train each model on
the default split (one member, ``trainer.max_epochs`` epochs, no early stopping), then time the
screening of every new pair over a temperature grid and ``matdisco predict ionic --pairs`` on
10,000 pairs.
"""

from __future__ import annotations

import contextlib
import resource
import tempfile
import time

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from matdisco.core.config import compose
from matdisco.ionic import keys
from matdisco.ionic.data import load_points, model_dir, processed_dir
from matdisco.ionic.extract import extract
from matdisco.ionic.prediction import Ensemble
from matdisco.ionic.screening import candidate_pairs, per_ion_terms, screen
from matdisco.ionic.train import train

BENCH_TEMPERATURES_K = list(np.linspace(273.15, 373.15, 11))


def peak_rss_MiB() -> float:
    """Peak resident memory of this process so far, MiB (Linux ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _bench_config(cfg, workdir: str, model_cfg, max_epochs: int):
    """Copy of ``cfg`` writing under ``workdir``, one member, fixed epochs, CSV logging only."""
    bench_cfg = cfg.copy()
    OmegaConf.update(bench_cfg, "model", model_cfg, merge=False)
    OmegaConf.update(bench_cfg, "logger", {"name": "csv", "kind": "csv"}, force_add=True, merge=False)
    for kind in ("processed", "models", "metrics", "plots", "results", "logs"):
        OmegaConf.update(bench_cfg, f"paths.{kind}", f"{workdir}/{kind}")
    OmegaConf.update(bench_cfg, "paths.allow_outside_project", True, force_add=True)
    OmegaConf.update(bench_cfg, "model.training.n_members", 1)
    OmegaConf.update(bench_cfg, "data.split.kfold", False)
    OmegaConf.update(bench_cfg, "trainer.max_epochs", max_epochs, force_add=True)
    OmegaConf.update(bench_cfg, "trainer.early_stopping_patience", None, force_add=True)
    OmegaConf.update(bench_cfg, "trainer.enable_progress_bar", False)
    return bench_cfg


def _time_screening(cfg, model_name: str, temperatures_K: list[float]) -> dict:
    """Seconds for the whole screening (model on every ion + all pairs x temperatures)."""
    points = load_points(cfg)
    ions = pd.read_parquet(processed_dir(cfg) / "ions.parquet")
    ensemble = Ensemble.load(model_dir(cfg, model_name) / "default")
    start = time.perf_counter()
    pairs = candidate_pairs(ions, points)
    terms, unseen = per_ion_terms(ensemble, list(ions[keys.ION_SMILES]), cfg.data.typing.scheme)
    one_temperature = screen(ensemble, pairs, terms, unseen, temperatures_K[:1])
    one_s = time.perf_counter() - start
    start = time.perf_counter()
    grid = screen(ensemble, pairs, terms, unseen, temperatures_K)
    grid_s = time.perf_counter() - start
    return {
        "n_pairs": len(pairs),
        "screen_all_pairs_one_temperature_s": one_s,
        "grid_n_temperatures": len(temperatures_K),
        "grid_predictions": len(grid),
        "grid_predictions_per_s": len(grid) / grid_s,
        "one_temperature_predictions": len(one_temperature),
    }


PREDICT_N_PAIRS = 10_000
"""Pairs of the ``matdisco predict ionic --pairs`` benchmark (issue 28: 40-66 s before)."""


def benchmark_pairs(grid: pd.DataFrame, n_pairs: int, seed: int) -> pd.DataFrame:
    """``n_pairs`` rows (cation_smiles, anion_smiles) of ``grid``, shuffled: every pair of the grid
    once and, where the grid is smaller, a seeded draw of repeats up to ``n_pairs``."""
    pairs = grid[[keys.CATION_SMILES, keys.ANION_SMILES]]
    repeats = pairs.sample(n=max(n_pairs - len(pairs), 0), replace=True, random_state=seed)
    return pd.concat([pairs, repeats]).sample(frac=1.0, random_state=seed).head(n_pairs)


def _time_predict_pairs(cfg, model_name: str, workdir: str, n_pairs: int = PREDICT_N_PAIRS) -> dict:
    """Seconds of ``matdisco predict ionic --pairs`` on ``n_pairs`` cation x anion pairs of the ion
    table (:func:`benchmark_pairs`) at 298.15 K: the whole command (CSV out, then text out) and the CSV read + prediction alone."""
    from matdisco.cli import main
    from matdisco.ionic.generate import predict_pairs
    from matdisco.ionic.sources import load_pairs_csv

    ions = pd.read_parquet(processed_dir(cfg) / "ions.parquet")
    grid = candidate_pairs(ions, load_points(cfg))
    pairs_csv = f"{workdir}/pairs.csv"
    benchmark_pairs(grid, n_pairs, int(cfg.seed)).to_csv(pairs_csv, index=False)
    predict_cfg = cfg.copy()
    OmegaConf.update(predict_cfg, "data.screening.model", model_name)
    start = time.perf_counter()
    table, _ = predict_pairs(predict_cfg, load_pairs_csv(pairs_csv, [298.15]))
    predict_s = time.perf_counter() - start
    paths = [f"paths.{kind}={cfg.paths[kind]}" for kind in ("raw", "processed", "models")]
    argv = ["predict", "ionic", "--pairs", pairs_csv, *paths, "paths.allow_outside_project=true"]
    split = OmegaConf.to_container(cfg.data.split, resolve=True)  # the split extract made, as the command is told
    argv += [f"data.screening.model={model_name}"] + [
        f"data.split.{key}={value}" for key, value in split.items() if isinstance(value, (bool, int, float))
    ]
    start = time.perf_counter()
    main([*argv[:4], "--out", f"{workdir}/predictions.csv", *argv[4:]])
    csv_s = time.perf_counter() - start
    with open(f"{workdir}/predictions.txt", "w") as text, contextlib.redirect_stdout(text):
        start = time.perf_counter()
        main(argv)
        text_s = time.perf_counter() - start
    return {
        "predict_pairs_n": len(table),
        "predict_pairs_read_and_predict_s": predict_s,
        "predict_pairs_command_csv_out_s": csv_s,
        "predict_pairs_command_text_out_s": text_s,
    }


def bench(cfg, max_epochs: int = 100) -> dict:
    """Benchmark JSON for the ionic models (see module docstring)."""
    results: dict = {"max_epochs": max_epochs, "models": {}}
    with tempfile.TemporaryDirectory(prefix="matdisco-bench-") as workdir:
        for model_name in cfg.data.evaluate.models:
            model_cfg = compose([f"model={model_name}"]).model
            bench_cfg = _bench_config(cfg, workdir, model_cfg, max_epochs)
            if not (processed_dir(bench_cfg) / "points.parquet").is_file():
                extract(bench_cfg)
            start = time.perf_counter()
            train(bench_cfg)
            train_s = time.perf_counter() - start
            results["models"][model_name] = {
                "train_wall_s_one_member_default_split": train_s,
                "train_wall_s_per_epoch": train_s / max_epochs,
                **_time_screening(bench_cfg, model_name, BENCH_TEMPERATURES_K),
                **_time_predict_pairs(bench_cfg, model_name, workdir),
            }
    results["peak_rss_MiB"] = peak_rss_MiB()
    return results
