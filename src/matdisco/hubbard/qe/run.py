"""Run a QE executable under MPI in its calculation folder, with timing and failure detection.

The MPI launcher is configuration: QE from Debian is built with OpenMPI, so the default is
``/usr/bin/mpirun --allow-run-as-root``, never a bare ``mpirun`` (the venv ships an MPICH one).
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from matdisco.core.errors import MatdiscoError

DEFAULT_MPI = ("/usr/bin/mpirun", "--allow-run-as-root")


class QERunError(MatdiscoError):
    """A QE executable exited with a non-zero status or ran past its time limit."""


class QEInterrupted(MatdiscoError):
    """A QE run was killed by a signal (the campaign was stopped): not a failure of the calculation."""


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


def run_qe(launcher: Launcher, program: str, folder: Path, input_name: str, output_name: str) -> float:
    """Run ``program`` in ``folder`` with stdout to ``output_name``; return the wall time in s.

    Raises :class:`QERunError` on a non-zero exit or a timeout (the message names the output file
    and the last lines of stderr), :class:`QEInterrupted` when the run was killed by a signal.
    """
    folder = Path(folder)
    # one thread per rank: Debian's OpenBLAS (libblas.so.3 alternative) would otherwise start one per core
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    start = time.perf_counter()
    with open(folder / output_name, "w") as stdout, open(folder / f"{output_name}.err", "w") as stderr:
        try:
            process = subprocess.run(
                launcher.command(program, input_name),
                cwd=folder,
                stdout=stdout,
                stderr=stderr,
                env=env,
                timeout=launcher.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise QERunError(f"{program} ran past {launcher.timeout_s:.0f} s in {folder / output_name}") from error
    elapsed = time.perf_counter() - start
    if process.returncode < 0:
        raise QEInterrupted(f"{program} in {folder} was killed by signal {-process.returncode}")
    if process.returncode != 0:
        tail = (folder / f"{output_name}.err").read_text(errors="replace").strip().splitlines()[-3:]
        raise QERunError(
            f"{program} exited with status {process.returncode} in {folder / output_name}: {' | '.join(tail)}"
        )
    return elapsed
