"""The QE runner on fake executables: exit status, signals, timing, command line."""

import os

import pytest

from matdisco.hubbard.qe.run import Launcher, QEInterrupted, QERunError, run_qe


def _fake(tmp_path, body):
    exe = tmp_path / "pw.x"
    exe.write_text("#!/bin/sh\n" + body + "\n")
    os.chmod(exe, 0o755)
    return Launcher(mpi=(), bin_dir=str(tmp_path))


def test_command_line_uses_configured_mpirun():
    launcher = Launcher(ranks=2)
    assert launcher.command("hp.x", "hp.in") == ["/usr/bin/mpirun", "--allow-run-as-root", "-np", "2", "/usr/bin/hp.x", "-in", "hp.in"]


def test_success_writes_stdout_and_times(tmp_path):
    seconds = run_qe(_fake(tmp_path, "echo JOB DONE."), "pw.x", tmp_path, "scf.in", "scf.out")
    assert seconds >= 0 and (tmp_path / "scf.out").read_text() == "JOB DONE.\n"


def test_non_zero_exit_is_a_failure_naming_the_output(tmp_path):
    with pytest.raises(QERunError, match=r"status 3 in .*scf.out: boom"):
        run_qe(_fake(tmp_path, "echo boom >&2; exit 3"), "pw.x", tmp_path, "scf.in", "scf.out")


def test_killed_run_is_an_interruption_not_a_failure(tmp_path):
    with pytest.raises(QEInterrupted, match="signal 15"):
        run_qe(_fake(tmp_path, "kill -TERM $$"), "pw.x", tmp_path, "scf.in", "scf.out")
