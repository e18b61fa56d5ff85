"""Run a QE executable under MPI in its calculation folder, with timing and failure detection.

The MPI launcher is configuration: QE from Debian is built with OpenMPI, so the default is
``/usr/bin/mpirun --allow-run-as-root``, never a bare ``mpirun`` (the venv ships an MPICH one).
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from matdisco.core import cluster
from matdisco.core.errors import ConfigError, MatdiscoError
from matdisco.core.io import atomic_write_text
from matdisco.hubbard.qe.outputs import qe_version

DEFAULT_MPI = ("/usr/bin/mpirun", "--allow-run-as-root")


class QERunError(MatdiscoError):
    """A QE executable exited with a non-zero status or ran past its time limit."""


class QEInterrupted(MatdiscoError):
    """A QE run was killed by a signal (the campaign was stopped): not a failure of the calculation."""


CPU_SUFFIX = ".cpu_s"  # next to each QE output: the CPU seconds of its process tree


@dataclass(frozen=True)
class Launcher:
    """How to start QE: MPI command (empty for serial), ranks, binaries folder, time limit (s)."""

    mpi: tuple[str, ...] = DEFAULT_MPI
    ranks: int = 2
    bin_dir: str = "/usr/bin"
    timeout_s: float = 3600.0

    def command(self, program: str, input_name: str) -> list[str]:
        """Argument list for ``program`` (``pw.x``, ``hp.x``) reading ``input_name``."""
        executable = str(Path(self.bin_dir) / program)
        prefix = [*self.mpi, "-np", str(self.ranks)] if self.mpi else []
        return [*prefix, executable, "-in", input_name]


def mpi_environment(launcher: Launcher, environ: dict[str, str]) -> dict[str, str]:
    """The environment of a QE run: one thread per rank (Debian's OpenBLAS would otherwise start one
    per core) and, inside a SLURM job, OpenMPI told to ignore SLURM's task count: a job with
    ``--ntasks=1 --cpus-per-task=N`` gives OpenMPI one slot, so ``mpirun -np N`` would refuse to start
    ("not enough slots"); the ranks then run on the job's N CPUs. More ranks than the job's CPUs is a
    :class:`ConfigError`."""
    env = {**environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    if launcher.mpi and "SLURM_JOB_ID" in environ:
        cpus = int(environ.get("SLURM_CPUS_PER_TASK") or environ.get("SLURM_CPUS_ON_NODE") or launcher.ranks)
        if launcher.ranks > cpus:
            raise ConfigError(
                f"simulate.mpi_ranks = {launcher.ranks} but SLURM job {environ['SLURM_JOB_ID']} has {cpus} CPUs "
                "per task: ask for --cpus-per-task >= mpi_ranks (hydra.launcher.cpus_per_task)"
            )
        env["OMPI_MCA_ras"] = "^slurm"
    return env


def run_qe(launcher: Launcher, program: str, folder: Path, input_name: str, output_name: str) -> float:
    """Run ``program`` in ``folder`` with stdout to ``output_name``; return the wall time in s.

    The run gets its own process group (MPI launcher and ranks), which a stop signal
    (:mod:`matdisco.core.cluster`) or the time limit terminates as a whole. Raises
    :class:`QERunError` on a non-zero exit or a timeout (the message names the output file and the
    last lines of stderr), :class:`QEInterrupted` when the run was killed by a signal (also one that
    reached a rank from outside and made the launcher exit 128 + n: :func:`launcher_signal`) or a stop
    signal reached this process while it ran (an interrupted run is rerun, never recorded as failed).
    """
    folder = Path(folder)
    if cluster.stop_signal() is not None:  # e.g. a split hp.x's next piece after a stop: none starts
        name = signal.Signals(cluster.stop_signal()).name
        raise QEInterrupted(f"{program} in {folder} not started: {name} arrived before")
    env = mpi_environment(launcher, dict(os.environ))
    start = time.perf_counter()
    with open(folder / output_name, "w") as stdout, open(folder / f"{output_name}.err", "w") as stderr:
        process = subprocess.Popen(
            launcher.command(program, input_name),
            cwd=folder,
            stdout=stdout,
            stderr=stderr,
            env=env,
            start_new_session=True,
        )
        with cluster.track_process_group(process):
            try:
                returncode, cpu_s = wait_with_cpu(process, launcher.timeout_s)
            except subprocess.TimeoutExpired as error:
                stop_group(process)
                raise QERunError(f"{program} ran past {launcher.timeout_s:.0f} s in {folder / output_name}") from error
            finally:
                if process.poll() is None:  # an exception (e.g. KeyboardInterrupt) left it running
                    stop_group(process)
    elapsed = time.perf_counter() - start
    atomic_write_text(folder / f"{output_name}{CPU_SUFFIX}", f"{cpu_s:.3f}\n")
    stopped_by = cluster.stop_signal()
    if returncode != 0 and stopped_by is not None:
        name = signal.Signals(stopped_by).name
        raise QEInterrupted(f"{program} in {folder} was stopped by {name} (exit status {returncode})")
    if returncode < 0:
        raise QEInterrupted(f"{program} in {folder} was killed by signal {-returncode}")
    if (outside := launcher_signal(returncode)) is not None:
        raise QEInterrupted(
            f"{program} in {folder} was killed by signal {outside} (exit status {returncode}: "
            "a rank or its launcher was signalled from outside)"
        )
    if returncode != 0:
        tail = (folder / f"{output_name}.err").read_text(errors="replace").strip().splitlines()[-3:]
        raise QERunError(f"{program} exited with status {returncode} in {folder / output_name}: {' | '.join(tail)}")
    return elapsed


OUTSIDE_SIGNALS = (signal.SIGHUP, signal.SIGINT, signal.SIGKILL, signal.SIGTERM)


def launcher_signal(returncode: int) -> int | None:
    """The signal n behind an exit status 128 + n of the MPI launcher (OpenMPI's mpirun exits 143 when a
    rank got SIGTERM from outside, 137 after SIGKILL) for the ``OUTSIDE_SIGNALS``; None for any other
    status (QE's own errors exit with small statuses)."""
    signum = returncode - 128
    return signum if signum in OUTSIDE_SIGNALS else None


def wait_with_cpu(process: subprocess.Popen, timeout_s: float, sample_s: float = 2.0) -> tuple[int, float]:
    """Wait for ``process`` (at most ``timeout_s``, else :class:`subprocess.TimeoutExpired`); its exit
    status and the CPU seconds (user + system) of its process tree. The kernel's account of the process
    and the descendants it waited for misses MPI ranks that end by aborting (a split hp.x piece: mpirun
    then does not reap them), so the descendants are also read from /proc every ``sample_s``; the larger
    of the two counts (at most ``sample_s`` of a rank's last CPU can be missed). Unlike QE's own timing
    lines, this exists for a run that stops with an error and does not grow with the machine's load."""
    deadline = time.monotonic() + timeout_s
    next_sample, sampled = 0.0, {}
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return process.returncode, max(usage.ru_utime + usage.ru_stime, sum(sampled.values()))
        now = time.monotonic()
        if now > deadline:
            raise subprocess.TimeoutExpired(process.args, timeout_s)
        if now >= next_sample:
            for child, cpu_s in descendants_cpu_s(process.pid).items():
                sampled[child] = max(sampled.get(child, 0.0), cpu_s)
            next_sample = now + sample_s
        time.sleep(0.2)


def descendants_cpu_s(root: int) -> dict[int, float]:
    """CPU seconds (user + system) used so far by each running descendant of process ``root``, from /proc."""
    parent, cpu_s = {}, {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()  # from field 3 (state) on
        except OSError:
            continue
        parent[int(entry)] = int(fields[1])
        cpu_s[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    found = {}
    for pid, seconds in cpu_s.items():
        ancestor = parent.get(pid)
        while ancestor is not None and ancestor not in (root, 0, 1):
            ancestor = parent.get(ancestor)
        if ancestor == root:
            found[pid] = seconds
    return found


def run_cpu_s(folder: Path, output_name: str) -> float | None:
    """CPU seconds of the QE run that wrote ``folder/output_name`` (:func:`wait_with_cpu`), None if unknown."""
    path = Path(folder) / f"{output_name}{CPU_SUFFIX}"
    return float(path.read_text()) if path.is_file() else None


def stop_group(process: subprocess.Popen, grace_s: float = 10.0) -> None:
    """SIGTERM to the process group of ``process`` (MPI launcher and ranks), SIGKILL after ``grace_s``."""
    for signum, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


@functools.cache
def linked_library(executable: str, soname: str = "libblas.so.3") -> str | None:
    """The file that ``executable`` loads for ``soname``, symbolic links resolved, as ``ldd`` reports it:
    which BLAS a QE build runs on (Debian's reference BLAS or OpenBLAS through the alternatives; CPU time
    and the last printed digits depend on it). None where ldd is missing or does not list ``soname``."""
    try:
        result = subprocess.run(["ldd", executable], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in result.stdout.splitlines():
        name, _, target = line.strip().partition(" => ")
        if name == soname and target.startswith("/"):
            return os.path.realpath(target.split(" (")[0])
    return None


@functools.cache
def program_version(launcher: Launcher, program: str = "pw.x") -> str | None:
    """The version in ``program``'s banner (``Program PWSCF v.6.7MaX``), from one rank started the way
    the calculations are (inside a SLURM step a bare MPI binary may stop before printing anything) on
    an empty input in a temporary folder: QE prints the banner, then stops on the missing namelist.
    None when no banner was printed."""
    one_rank = Launcher(mpi=launcher.mpi, ranks=1, bin_dir=launcher.bin_dir, timeout_s=launcher.timeout_s)
    with tempfile.TemporaryDirectory() as folder:
        result = subprocess.run(
            one_rank.command(program, "/dev/null"),
            cwd=folder,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=mpi_environment(one_rank, dict(os.environ)),
            timeout=300,
            check=False,
        )
    return qe_version(result.stdout.splitlines())
