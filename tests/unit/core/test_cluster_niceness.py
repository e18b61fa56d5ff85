"""A niced run's subprocesses in sessions of their own (QE under mpirun) keep its nice value: with
autogroup scheduling a new session would otherwise get a full CPU share beside interactive work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = """
import pathlib, subprocess
from matdisco.core.cluster import track_process_group
process = subprocess.Popen(["sleep", "30"], start_new_session=True)
with track_process_group(process):
    print(pathlib.Path(f"/proc/{process.pid}/autogroup").read_text().split()[-1])
    process.kill()
    process.wait()
"""


def _session_nice(prefix: list[str]) -> int:
    done = subprocess.run(
        [*prefix, sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, timeout=60
    )
    return int(done.stdout.strip())


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="no autogroup scheduling on this kernel")
def test_a_new_session_gets_the_nice_value_of_the_process_that_started_it():
    own = os.nice(0)  # the test may itself run niced
    assert _session_nice(["nice", "-n", "7"]) == min(own + 7, 19)
    assert _session_nice([]) == own
