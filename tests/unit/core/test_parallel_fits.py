"""`core.training.run_fits`: the same results, in job order, whether fits run here or in workers."""

import os

import torch

from matdisco.core.training import run_fits


def seeded_draw(job: int) -> tuple[int, list[float], int]:
    """A stand-in fit: seeded by its job, reports the draw and the process that made it."""
    torch.manual_seed(1000 + job)
    return job, torch.rand(3, dtype=torch.float64).tolist(), os.getpid()


def test_parallel_fits_give_the_serial_results_in_job_order():
    jobs = [3, 0, 2, 1]
    serial = run_fits(seeded_draw, jobs, "serial", parallel_fits=1, torch_num_threads=1)
    parallel = run_fits(seeded_draw, jobs, "parallel", parallel_fits=2, torch_num_threads=1)
    assert [r[:2] for r in parallel] == [r[:2] for r in serial]
    assert [r[0] for r in parallel] == jobs
    assert {r[2] for r in serial} == {os.getpid()}
    assert os.getpid() not in {r[2] for r in parallel}, "parallel fits run in worker processes"


def sleeping_fit(pid_dir: str, job: int) -> int:
    """A stand-in fit that writes its process id and then runs for ten minutes."""
    import time
    from pathlib import Path

    Path(pid_dir, f"{job}.pid").write_text(str(os.getpid()))
    time.sleep(600)
    return job


def test_fit_workers_end_when_the_step_is_killed(tmp_path):
    # issue 28: `kill -9` of a training step left its two parallel-fit workers running
    import signal
    import subprocess
    import sys
    import time

    script = (
        "from functools import partial\n"
        "from matdisco.core.training import run_fits\n"
        "import test_parallel_fits as t\n"
        f"run_fits(partial(t.sleeping_fit, {str(tmp_path)!r}), [0, 1], 'kill me', 2, 1)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.path.dirname(__file__)}
    step = subprocess.Popen([sys.executable, "-c", script], env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300  # spawned workers import torch: slow on a loaded machine
    while len(list(tmp_path.glob("*.pid"))) < 2 and time.monotonic() < deadline and step.poll() is None:
        time.sleep(0.2)
    workers = [int(p.read_text()) for p in tmp_path.glob("*.pid")]
    step.send_signal(signal.SIGKILL)
    step.wait()
    assert len(workers) == 2, "both fits started"
    assert _survivors(workers) == [], "fit workers outlived the killed step"  # each polls every PARENT_POLL_S


def _survivors(pids: list[int], wait_s: float = 60.0) -> list[int]:
    """Those of ``pids`` still running after up to ``wait_s`` s; they are killed before returning."""
    import signal
    import time

    deadline = time.monotonic() + wait_s
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = [pid for pid in pids if _alive(pid)]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    return alive


def _alive(pid: int) -> bool:
    """True while process ``pid`` runs (a zombie counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_wandb_service_ends_when_the_step_is_killed(tmp_path):
    # issue 28: `kill -9` of a training step was said to leave the W&B processes alive; the offline W&B
    # service of the pinned wandb watches the process that started it (--pid) and ends with it
    import signal
    import subprocess
    import sys
    import time

    script = (
        "import pathlib, time\n"
        "from omegaconf import OmegaConf\n"
        "from matdisco.core.loggers import make_loggers\n"
        "cfg = OmegaConf.create({'logger': {'kind': 'wandb', 'mode': 'offline', 'project': 'kill-test'}})\n"
        f"root = pathlib.Path({str(tmp_path)!r})\n"
        "loggers = make_loggers(cfg, root / 'logs', 'kill-me', {'run': 'test'})\n"
        "loggers[-1].log_metrics({'loss': 1.0})\n"
        "(root / 'started').write_text('')\n"
        "time.sleep(600)\n"
    )
    env = {**os.environ, "WANDB_MODE": "offline"}
    step = subprocess.Popen([sys.executable, "-c", script], env=env, stderr=subprocess.DEVNULL, cwd=tmp_path)
    deadline = time.monotonic() + 300
    while not (tmp_path / "started").exists() and time.monotonic() < deadline and step.poll() is None:
        time.sleep(0.2)
    services = _services_of(step.pid)
    step.send_signal(signal.SIGKILL)
    step.wait()
    assert services, "the W&B run started its service"
    assert _survivors(services) == [], "W&B service outlived the killed step"


def _services_of(pid: int) -> list[int]:
    """Process ids started with the arguments ``--pid <pid>`` (W&B's service names the process it serves)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    args = cmdline.read().decode(errors="replace").split("\0")
            except OSError:
                continue
            if any(a == "--pid" and b == str(pid) for a, b in zip(args, args[1:])):
                found.append(int(entry))
    return found
