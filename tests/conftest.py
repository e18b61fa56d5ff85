"""Shared fixtures: config composition with every artifact folder moved under a temporary path, and
the real SLURM cluster of the `slurm` tests (scripts/slurm/up.sh; `.ci/run` brings one up)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from matdisco.core.config import compose

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
REPO = Path(__file__).resolve().parents[1]
ARTIFACT_KINDS = ("raw", "processed", "datasets", "models", "metrics", "plots", "results", "logs")


@pytest.fixture
def make_cfg(tmp_path):
    """Compose conf/ with overrides; every ``paths.*`` folder lies under ``tmp_path``."""

    def _make(*overrides: str, keep_paths: tuple[str, ...] = ()):
        paths = [f"paths.{kind}={tmp_path / kind}" for kind in ARTIFACT_KINDS if kind not in keep_paths]
        return compose(
            paths + ["paths.allow_outside_project=true", "logger=csv", "trainer.enable_progress_bar=false", *overrides]
        )

    return _make


@pytest.fixture(scope="session")
def slurm():
    """Skip unless `sinfo` reaches a cluster with an idle or mixed node (SLURM_CONF of scripts/slurm/up.sh)."""
    try:
        states = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, timeout=20)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        pytest.skip("no SLURM client (scripts/slurm/up.sh installs and starts a one-node cluster)")
    if states.returncode != 0 or not {"idle", "mixed", "allocated"} & set(states.stdout.split()):
        pytest.skip(f"no SLURM cluster reachable (SLURM_CONF={os.environ.get('SLURM_CONF')}; scripts/slurm/up.sh)")
    return SlurmClient()


class SlurmClient:
    """sbatch / scancel / sacct of the test cluster, and the project's Python for commands."""

    python = sys.executable

    def sbatch(self, *args: str) -> str:
        out = subprocess.run(["sbatch", "--parsable", *args], capture_output=True, text=True, check=True, cwd=REPO)
        return out.stdout.strip().split(";")[0]

    def state(self, job: str) -> str:
        """The job's state in sacct (allocation line), e.g. RUNNING, COMPLETED, CANCELLED; '' before it shows."""
        out = subprocess.run(["sacct", "-n", "-X", "-P", "-j", job, "-o", "State"], capture_output=True, text=True)
        return out.stdout.strip().splitlines()[-1].split()[0] if out.stdout.strip() else ""

    def wait(self, job: str, timeout_s: float = 2400) -> str:
        """Wait until the job ended; its final state."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = self.state(job)
            if state and state not in ("PENDING", "RUNNING", "REQUEUED", "CONFIGURING", "COMPLETING", "RESIZING"):
                return state
            time.sleep(2)
        raise AssertionError(f"SLURM job {job} still {self.state(job)} after {timeout_s} s")

    def restarts(self, job: str) -> int:
        """How often the job was requeued (sacct's Restarts... not in 22.05: from scontrol while known)."""
        out = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True)
        for word in out.stdout.split():
            if word.startswith("Restarts="):
                return int(word.split("=")[1])
        return 0
