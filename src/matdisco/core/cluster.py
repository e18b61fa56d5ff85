"""Running inside a batch job (SLURM): stop signals, the subprocesses they must stop, and requeue.

A job is told to stop by SIGTERM (``scancel``, preemption, the time limit itself) or, when it was
submitted with ``--signal=B:USR2@<s>`` (sbatch) or ``signal_delay_s`` (the submitit launcher), by
SIGUSR2 that many seconds before its time limit. Inside :func:`stop_on_signals` both only set a
flag (:func:`stop_signal`) that long computations check between units of work; the handler also
stops every subprocess group registered with :func:`track_process_group` (an MPI run and its
ranks) and forwards the signal to this process's multiprocessing children (parallel workers),
so a stopped job leaves interrupted work, never a failure. SIGUSR2 means "out of time": the job
asks SLURM to requeue it (:func:`requeue_after_stop`), and the next run resumes.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from matdisco.core.errors import MatdiscoError

STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR2)
TIME_LIMIT_SIGNAL = signal.SIGUSR2

_state: dict[str, int | None] = {"signal": None}
_process_groups: set[int] = set()


class JobStopped(MatdiscoError):
    """A stop signal ended the computation early; what was finished is kept, the rest resumes."""


def stop_signal() -> int | None:
    """The first stop signal received inside :func:`stop_on_signals` (None when none was)."""
    return _state["signal"]


def _on_stop(signum: int, _frame: object) -> None:
    if _state["signal"] is None:
        _state["signal"] = signum
    for child in multiprocessing.active_children():
        _kill(child.pid, signum, os.kill)
    for group in list(_process_groups):
        _kill(group, signal.SIGTERM, os.killpg)


def _kill(target: int | None, signum: int, kill: Callable[[int, int], None]) -> None:
    if target is None:
        return
    try:
        kill(target, signum)
    except ProcessLookupError:
        pass


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGUSR2 set :func:`stop_signal` and stop the tracked
    subprocess groups instead of killing this process; the previous handlers come back after it.
    Outside the main thread (where Python cannot handle signals) the block runs unchanged."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _state["signal"] = None
    previous = {signum: signal.signal(signum, _on_stop) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def track_process_group(process: subprocess.Popen) -> Iterator[None]:
    """Register ``process`` (started with ``start_new_session=True``, so its pid is its group) for
    the stop handler; a signal that arrived before it started stops it at once. The new session
    also gets this process's nice value (:func:`share_niceness`)."""
    share_niceness(process.pid)
    _process_groups.add(process.pid)
    try:
        if _state["signal"] is not None:
            _kill(process.pid, signal.SIGTERM, os.killpg)
        yield
    finally:
        _process_groups.discard(process.pid)


def share_niceness(session_pid: int) -> None:
    """Give the scheduler group of the new session led by ``session_pid`` this process's nice value.

    On Linux with autogroup scheduling (``/proc/sys/kernel/sched_autogroup_enabled``) every session
    gets its own CPU share, and the nice value of its processes counts only inside it: a niced
    campaign's QE run, started in a session of its own, would otherwise take half of a busy machine.
    Best effort: nothing happens where ``/proc/<pid>/autogroup`` is absent or not writable, or when
    this process is not niced.
    """
    niceness = os.getpriority(os.PRIO_PROCESS, 0)
    if niceness <= 0:
        return
    try:
        with open(f"/proc/{session_pid}/autogroup", "w") as group:
            group.write(str(niceness))
    except OSError:
        return


def slurm_job_id() -> str | None:
    """This job's id as ``scontrol`` names it (``<array job>_<task>`` for an array task); None outside SLURM."""
    if os.environ.get("SLURM_ARRAY_TASK_ID"):
        return f"{os.environ['SLURM_ARRAY_JOB_ID']}_{os.environ['SLURM_ARRAY_TASK_ID']}"
    return os.environ.get("SLURM_JOB_ID")


def requeue_after_stop(signum: int, max_requeues: int) -> str:
    """After a stop by ``signum``: requeue this SLURM job when the signal was the time-limit warning
    (SIGUSR2) and it was requeued fewer than ``max_requeues`` times; return what happened, in words."""
    job = slurm_job_id()
    name = signal.Signals(signum).name
    restarts = int(os.environ.get("SLURM_RESTART_COUNT") or 0)
    if signum == TIME_LIMIT_SIGNAL and job is not None and restarts < max_requeues:
        done = subprocess.run(["scontrol", "requeue", job], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return f"stopped by {name}; SLURM job {job} requeued (requeue {restarts + 1} of {max_requeues})"
        return f"stopped by {name}; `scontrol requeue {job}` failed ({done.stderr.strip()}): resubmit to resume"
    reason = f"not requeued ({restarts} of {max_requeues} requeues used)" if job else "not a SLURM job"
    return f"stopped by {name}; {reason}: resubmit the same command to resume"
