"""The tiny Hubbard campaign (simulate=dfpt_tiny: two NiO2 paths, real pw.x and hp.x with 2 MPI ranks,
25/200 Ry, k and q at Gamma) on a real SLURM: as a job array through the submitit launcher it gives
the records of a local run; a time-limit signal requeues a job, scancel leaves an interrupted
iteration, and a resubmitted job completes the path with no failed record."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from matdisco.hubbard import keys as K
from matdisco.hubbard.records import read_records

REPO = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slurm

FIRST_PATH = "NiO2_strain+0.0pct"


def _campaign_overrides(root: Path) -> list[str]:
    return [
        "simulate=dfpt_tiny",
        f"simulate.root={root}",
        f"simulate.records={root}/records.jsonl",
        f"simulate.failures={root}/failures.jsonl",
        f"run_name={root.name}",
    ]


def _run(command: list[str], log: Path) -> None:
    with open(log, "w") as out:
        done = subprocess.run(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, timeout=1800)
    assert done.returncode == 0, log.read_text()[-3000:]


def _physics(record: dict) -> dict:
    """What a record computed (no timings, hosts or job ids)."""
    return {
        "hubbard_out": record[K.HUBBARD_OUT],
        "u_out": [s[K.U_OUT] for s in record[K.SITES]],
        "v_out": [p[K.V_OUT] for p in record[K.PAIRS]],
        "occupations": [s[K.OCCUPATIONS] for s in record[K.SITES]],
        "energy_Ry": record[K.ENERGY_RY],
        "converged": record[K.CONVERGED],
    }


@pytest.mark.slow  # real QE on 2 paths, locally and as an array: 10-20 min (make test-slow)
def test_tiny_campaign_as_a_job_array_equals_a_local_run(slurm, tmp_path):
    local, array = tmp_path / "local", tmp_path / "array"
    one_iteration = ["simulate.max_iterations=1", "simulate.passes=[1]"]
    start = time.perf_counter()
    _run([sys.executable, "pipelines/simulate.py", *_campaign_overrides(local), *one_iteration], tmp_path / "local.log")
    local_s = time.perf_counter() - start
    start = time.perf_counter()
    launcher = [
        "hydra/launcher=slurm",
        "hydra.launcher.cpus_per_task=2",
        "hydra.launcher.mem_gb=2",
        "hydra.launcher.timeout_min=60",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        "simulate.worker=0,1",
    ]
    command = [sys.executable, "pipelines/simulate.py", "-m", *_campaign_overrides(array), *one_iteration, *launcher]
    _run(command, tmp_path / "array.log")
    array_s = time.perf_counter() - start
    print(f"tiny campaign wall time: local {local_s:.0f} s, SLURM array of 2 workers {array_s:.0f} s")

    expected = {r[K.RECORD_ID]: r for r in read_records(local / "records.jsonl")}
    got = {r[K.RECORD_ID]: r for r in read_records(array / "records.jsonl")}
    assert len(expected) == 2 and got.keys() == expected.keys()  # 2 paths x 1 iteration
    assert read_records(local / "failures.jsonl") == [] and read_records(array / "failures.jsonl") == []
    for record_id, record in got.items():
        want, have = _physics(expected[record_id]), _physics(record)
        assert have["hubbard_out"] == want["hubbard_out"] and have["u_out"] == want["u_out"], record_id
        assert have["v_out"] == want["v_out"] and have["converged"] == want["converged"], record_id
        for site, (got_site, want_site) in enumerate(zip(have["occupations"], want["occupations"], strict=True)):
            np.testing.assert_allclose(
                got_site, want_site, atol=1e-6, err_msg=f"{record_id} site {site}"
            )  # Ni 5x5, O 3x3
        assert have["energy_Ry"] == pytest.approx(want["energy_Ry"], abs=1e-6)
        assert record[K.PROVENANCE]["mpi_ranks"] == 2 and record[K.PROVENANCE]["slurm_job"]
        assert expected[record_id][K.PROVENANCE]["slurm_job"] is None
    jobs = {r[K.PROVENANCE]["slurm_job"] for r in got.values()}
    assert all("_" in job for job in jobs)  # array tasks (<array job>_<task>)


def _wait_for(condition, what: str, timeout_s: float = 2400) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def _started(folder: Path, name: str) -> bool:
    out = folder / name
    return out.is_file() and out.stat().st_size > 0


@pytest.mark.slow  # requeue, scancel and resubmission of real QE jobs: up to 40 min (make test-slow)
def test_time_limit_requeues_scancel_interrupts_and_a_resubmitted_job_completes(slurm, tmp_path):
    root = tmp_path / "campaign"
    path_dir = root / FIRST_PATH
    submit = [
        "--cpus-per-task=2",
        "--mem=2G",
        f"--output={tmp_path / 'job.log'}",
        f"--export=ALL,MATDISCO_PYTHON={sys.executable}",
        "scripts/slurm/campaign.sbatch",
        *_campaign_overrides(root),
        f"simulate.only_paths=[{FIRST_PATH}]",
    ]
    job = slurm.sbatch(*submit)
    # the time-limit warning (what --signal=B:USR2@300 sends) in the middle of iteration 0's pw.x run
    _wait_for(lambda: _started(path_dir / "iter_0", "scf1.out"), "iteration 0's pw.x")
    subprocess.run(["scancel", "--signal=USR2", "--batch", job], check=True)
    _wait_for(lambda: slurm.restarts(job) >= 1, "the job's requeue", timeout_s=120)
    # the requeued job resumes; scancel in the middle of iteration 1's hp.x run
    _wait_for(lambda: _started(path_dir / "iter_1", "hp.out"), "iteration 1's hp.x")
    subprocess.run(["scancel", job], check=True)
    assert slurm.wait(job) == "CANCELLED"
    # sacct says CANCELLED as scancel signals the job: the campaign's last lines may follow a moment later
    job_log = tmp_path / "job.log"
    _wait_for(lambda: "stopped by SIGTERM" in job_log.read_text(), f"the campaign's SIGTERM message in {job_log}", 60)
    log = job_log.read_text()
    assert "stopped by SIGUSR2; SLURM job" in log and "requeued (requeue 1 of 3)" in log, log[-3000:]
    assert "stopped by SIGTERM" in log, log[-3000:]
    marker = json.loads((path_dir / "iter_1" / "interrupted.json").read_text())
    assert marker["signal"] == "SIGTERM" and marker["job"] == job
    assert not (path_dir / "iter_1" / "record.json").exists()
    assert read_records(root / "failures.jsonl") == []
    assert [r[K.RECORD_ID] for r in read_records(root / "records.jsonl")] == [f"{FIRST_PATH}/iter_0"]
    # resubmitted, the path completes: iteration 1 redone, nothing failed
    again = slurm.sbatch(*submit)
    assert slurm.wait(again) == "COMPLETED", (tmp_path / "job.log").read_text()[-3000:]
    records = read_records(root / "records.jsonl")
    assert [r[K.RECORD_ID] for r in records] == [f"{FIRST_PATH}/iter_0", f"{FIRST_PATH}/iter_1"]
    assert all(r[K.STATUS] == "ok" for r in records) and read_records(root / "failures.jsonl") == []
    assert records[1][K.PROVENANCE]["slurm_job"] == again
