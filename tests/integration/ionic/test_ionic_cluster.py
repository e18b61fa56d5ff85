"""The ionic models on a cluster. An Optuna sweep of 2 trials through the submitit launchers (local
processes, and a SLURM job array). trainer=ddp: one ionic_additive fit by 2 CPU processes (gloo),
locally (Lightning starts the second process) and as a 2-task SLURM job (srun starts both). What DDP changes: each process takes half of
every epoch's ILs, so the global batch is 2 x batch_size_ils and an epoch has half the optimizer steps;
both processes restore the weights of the same best epoch (the monitored value is averaged over them),
so they report the same validation RMSE."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from matdisco import ionic
from matdisco.core.config import compose
from matdisco.ionic import keys
from matdisco.ionic.sources import fetch_raw
from tiny import IONIC_SPLIT, TRAINING

REPO = Path(__file__).resolve().parents[3]
KINDS = ("raw", "processed", "datasets", "models", "metrics", "plots", "results", "logs")
TINY = [
    "model=ionic_additive",
    *IONIC_SPLIT,
    "data.split.kfold=false",
    "model.training.batch_size_ils=4",  # 20 training ILs: 5 steps per epoch, 3 per process under DDP
    *TRAINING,
    "paths.allow_outside_project=true",
    "write_pipeline_outputs=true",
]
DDP = ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2"]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    """24 salts of the real snapshot (from its 41st on), extracted; returns the root of every paths.* folder."""
    root = tmp_path_factory.mktemp("ddp")
    fetch_raw(root / "raw")
    path = root / "raw" / "ionic" / "electrical_conductivity.csv"
    table = pd.read_csv(path)
    keep = table[keys.RAW_SALT_NAME].drop_duplicates().iloc[40:64]
    table[table[keys.RAW_SALT_NAME].isin(keep)].to_csv(path, index=False)
    ionic.extract(compose([*_paths(root, root), "data=ionic", *TINY[1:3], "paths.allow_outside_project=true"]))
    return root


def _paths(data_root: Path, out_root: Path) -> list[str]:
    """Inputs from ``data_root``; models, logs and metrics of this run under ``out_root``."""
    return [f"paths.{k}={(data_root if k in ('raw', 'processed') else out_root) / k}" for k in KINDS]


def _train(prefix: list[str], out: Path, data: Path, *extra: str) -> tuple[str, list[float]]:
    """Run pipelines/train.py (after ``prefix``, e.g. srun); its output and every objective it printed."""
    command = [*prefix, sys.executable, "pipelines/train.py", *TINY, *_paths(data, out), *extra]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    return output, [float(x) for x in re.findall(r'"objective": ([-0-9.eE+]+)', output)]


def _steps_per_epoch(out: Path) -> float:
    metrics = pd.read_csv(next((out / "logs" / "csv").glob("*/metrics.csv")))
    train = metrics.dropna(subset=["train/loss"])
    return (train["step"].iloc[-1] + 1) / (train["epoch"].iloc[-1] + 1)


@pytest.fixture(scope="module")
def local_ddp(tiny_data, tmp_path_factory) -> tuple[float, float]:
    """(objective, optimizer steps per epoch) of the 2-process local DDP fit."""
    out = tmp_path_factory.mktemp("local_ddp")
    output, objectives = _train([], out, tiny_data, *DDP)
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in output  # the second process joined
    assert len(objectives) == 2 and objectives[0] == objectives[1], objectives
    return objectives[0], _steps_per_epoch(out)


def test_ddp_fits_one_model_with_two_cpu_processes(tiny_data, local_ddp, tmp_path):
    single_out = tmp_path / "single"
    _, single = _train([], single_out, tiny_data, "trainer.devices=1")
    single_steps = _steps_per_epoch(single_out)
    objective, ddp_steps = local_ddp
    assert ddp_steps == math.ceil(single_steps / 2) and single_steps == 5
    assert 0 < objective < 3  # a fitted model (ln units); not equal to the 1-process fit: other batches


@pytest.mark.slurm
def test_ddp_as_a_two_task_slurm_job_equals_the_local_ddp_fit(slurm, tiny_data, local_ddp, tmp_path):
    out = tmp_path / "slurm_ddp"
    script = tmp_path / "ddp.sh"  # Lightning reads --ntasks-per-node (it refuses a bare --ntasks)
    script.write_text(
        "#!/bin/bash\nexec srun "
        + " ".join([sys.executable, "pipelines/train.py", *TINY, *_paths(tiny_data, out), *DDP])
        + "\n"
    )
    job = slurm.sbatch(
        "--nodes=1",
        "--ntasks-per-node=2",
        "--cpus-per-task=1",
        "--mem=4G",
        f"--output={tmp_path / 'job.log'}",
        str(script),
    )
    assert slurm.wait(job) == "COMPLETED", (tmp_path / "job.log").read_text()[-3000:]
    log = (tmp_path / "job.log").read_text()
    objectives = [float(x) for x in re.findall(r'"objective": ([-0-9.eE+]+)', log)]
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in log
    assert objectives == [local_ddp[0]] * 2  # srun's 2 tasks give exactly the local 2-process fit
    assert _steps_per_epoch(out) == local_ddp[1]


def _sweep(launcher: str, data: Path, out: Path) -> dict:
    """A 2-trial Optuna sweep (+sweep=ionic) run through ``hydra/launcher=<launcher>``; its best trial."""
    sweep_dir = out / "sweep"
    command = [
        sys.executable,
        "pipelines/train.py",
        "-m",
        "+sweep=ionic",
        *TINY,
        *[p for p in _paths(data, out) if not p.startswith(("paths.models=", "paths.logs="))],  # per trial: sweep's
        f"hydra/launcher={launcher}",
        "hydra.launcher.cpus_per_task=1",
        "hydra.launcher.timeout_min=30",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.n_jobs=2",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())


def _submitit_jobs(sweep_dir: Path) -> list[str]:
    """Job ids of the folders submitit made (its submission folder keeps the literal ``%j``)."""
    return sorted(p.name for p in (sweep_dir / ".submitit").iterdir() if "%" not in p.name)


def test_sweep_through_the_submitit_local_launcher(tiny_data, tmp_path):
    best = _sweep("local", tiny_data, tmp_path)
    assert 0 < best["best_value"] < 3 and "model.lr" in best["best_params"]
    assert len(_submitit_jobs(tmp_path / "sweep")) == 2  # one submitit job per trial


@pytest.mark.slurm
def test_sweep_through_submitit_slurm_runs_each_trial_as_a_slurm_job(slurm, tiny_data, tmp_path):
    best = _sweep("slurm", tiny_data, tmp_path)
    assert 0 < best["best_value"] < 3 and "model.lr" in best["best_params"]
    jobs = [job for job in _submitit_jobs(tmp_path / "sweep") if re.fullmatch(r"\d+_\d+", job)]  # <array>_<task>
    assert len(jobs) == 2 and len({job.split("_")[0] for job in jobs}) == 1  # one array of 2 tasks
    assert [slurm.wait(job) for job in jobs] == ["COMPLETED", "COMPLETED"]  # results come before sacct says so
