"""The QE runner on fake executables: exit status, signals, timing, command line."""

import os
import shutil

import pytest

from matdisco.hubbard.qe.run import (
    Launcher,
    QEInterrupted,
    QERunError,
    linked_library,
    run_cpu_s,
    run_qe,
    wait_with_cpu,
)


def _fake(tmp_path, body):
    exe = tmp_path / "pw.x"
    exe.write_text("#!/bin/sh\n" + body + "\n")
    os.chmod(exe, 0o755)
    return Launcher(mpi=(), bin_dir=str(tmp_path))


def test_command_line_uses_configured_mpirun():
    launcher = Launcher(ranks=2)
    assert launcher.command("hp.x", "hp.in") == [
        "/usr/bin/mpirun",
        "--allow-run-as-root",
        "-np",
        "2",
        "/usr/bin/hp.x",
        "-in",
        "hp.in",
    ]


def test_success_writes_stdout_and_times(tmp_path):
    seconds = run_qe(_fake(tmp_path, "echo JOB DONE."), "pw.x", tmp_path, "scf.in", "scf.out")
    assert seconds >= 0 and (tmp_path / "scf.out").read_text() == "JOB DONE.\n"


def test_non_zero_exit_is_a_failure_naming_the_output(tmp_path):
    with pytest.raises(QERunError, match=r"status 3 in .*scf.out: boom"):
        run_qe(_fake(tmp_path, "echo boom >&2; exit 3"), "pw.x", tmp_path, "scf.in", "scf.out")


def test_killed_run_is_an_interruption_not_a_failure(tmp_path):
    with pytest.raises(QEInterrupted, match="signal 15"):
        run_qe(_fake(tmp_path, "kill -TERM $$"), "pw.x", tmp_path, "scf.in", "scf.out")


def test_a_rank_killed_from_outside_is_an_interruption_not_a_failure(tmp_path):
    """mpirun exits 143 when one of its ranks gets SIGTERM from outside (measured with OpenMPI 4): the
    iteration is interrupted (rerun next time), not a failed calculation."""
    with pytest.raises(QEInterrupted, match=r"signal 15 \(exit status 143"):
        run_qe(_fake(tmp_path, "sh -c 'kill -TERM $$'; exit $?"), "pw.x", tmp_path, "scf.in", "scf.out")
    with pytest.raises(QERunError, match="status 134"):  # 128 + SIGABRT: a crash, not a stop from outside
        run_qe(_fake(tmp_path, "exit 134"), "pw.x", tmp_path, "scf.in", "scf.out")


def test_failed_run_is_explained_by_its_output(tmp_path):
    from matdisco.hubbard.campaign import run_explained
    from matdisco.hubbard.qe.outputs import QEOutputError
    from matdisco.hubbard.qe.parse_pw import parse_pw_output

    body = 'echo "     convergence NOT achieved after 200 iterations: stopping"; echo "   JOB DONE."; exit 2'
    with pytest.raises(QEOutputError, match=r"scf2.out:1: SCF not converged.*status 2"):
        run_explained(_fake(tmp_path, body), "pw.x", tmp_path, "scf2", parse_pw_output)
    with pytest.raises(QEOutputError, match=r"scf2.out:1: output file is empty .*status 3"):
        run_explained(_fake(tmp_path, "exit 3"), "pw.x", tmp_path, "scf2", parse_pw_output)


def test_linked_library_resolves_the_file_a_binary_loads():
    libc = linked_library("/bin/ls", "libc.so.6")
    assert libc is not None and os.path.isfile(libc) and not os.path.islink(libc)
    assert linked_library("/bin/ls", "libblas.so.3") is None


def test_linked_library_of_a_missing_binary_is_none(tmp_path):
    assert linked_library(str(tmp_path / "pw.x")) is None


@pytest.mark.skipif(shutil.which("pw.x") is None, reason="Quantum ESPRESSO not installed (make qe)")
def test_pw_x_blas_is_recorded_as_a_real_library():
    blas = linked_library(shutil.which("pw.x"))
    assert blas is not None and "blas" in os.path.basename(blas) and os.path.isfile(blas)


def test_no_run_starts_after_a_stop_signal(tmp_path, monkeypatch):
    # a split hp.x's next piece must not start once the job is being stopped
    import signal

    from matdisco.core import cluster

    monkeypatch.setattr(cluster, "stop_signal", lambda: signal.SIGTERM)
    with pytest.raises(QEInterrupted, match="not started: SIGTERM arrived before"):
        run_qe(_fake(tmp_path, "touch started"), "pw.x", tmp_path, "scf.in", "scf.out")
    assert not (tmp_path / "started").exists() and not (tmp_path / "scf.out").exists()


def test_each_run_leaves_the_cpu_seconds_of_its_process_tree(tmp_path):
    # the busy loop runs in a child of the fake pw.x, as an MPI rank runs under mpirun
    burn = f"{shutil.which('python3')} -c 'import time\nt = time.process_time()\nwhile time.process_time() - t < 0.5: pass'"
    wall_s = run_qe(_fake(tmp_path, burn), "pw.x", tmp_path, "scf.in", "scf.out")
    cpu_s = run_cpu_s(tmp_path, "scf.out")
    assert cpu_s is not None and 0.45 <= cpu_s <= wall_s + 0.1, (cpu_s, wall_s)
    assert run_cpu_s(tmp_path, "never.out") is None


def test_cpu_of_a_rank_its_launcher_never_reaps_is_still_counted(tmp_path):
    # as mpirun after a rank aborts (a split hp.x piece): the rank's CPU is not in the kernel's account
    import subprocess

    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.6: pass"
    script = tmp_path / "launcher.sh"
    script.write_text(f"#!/bin/sh\n{shutil.which('python3')} -c '{burn}' &\nsleep 1.2\nexit 3\n")
    os.chmod(script, 0o755)
    process = subprocess.Popen([str(script)], start_new_session=True)
    status, cpu_s = wait_with_cpu(process, timeout_s=60, sample_s=0.1)
    assert status == 3 and cpu_s >= 0.5, cpu_s
