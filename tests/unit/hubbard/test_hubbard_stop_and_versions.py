"""A campaign stopped by a signal leaves an interrupted, resumable iteration (never a failed record);
MPI inside a SLURM job; the QE version decides how the Hubbard input is written."""

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from matdisco.core import cluster
from matdisco.core.errors import ConfigError
from matdisco.hubbard import campaign as C
from matdisco.hubbard import keys as K
from matdisco.hubbard.qe import run as R
from matdisco.hubbard.qe.inputs import hubbard_card, hubbard_style
from matdisco.hubbard.qe.run import Launcher, mpi_environment
from matdisco.hubbard.records import read_records
from matdisco.hubbard.structures import layered_r3m

# A pw.x that prints QE's banner for the version probe and otherwise starts a child and waits: the
# child's pid shows whether stopping the run reached the whole process group.
FAKE_PW = """#!/bin/sh
if [ "$2" = /dev/null ]; then echo "     Program PWSCF v.{version} starts on  7Dec2026"; exit 1; fi
sleep 60 &
echo $! > child.pid
wait
"""


def _fake_qe_bin(tmp_path, version="6.7MaX"):
    bin_dir = tmp_path / f"bin_{version}"
    bin_dir.mkdir()
    for program in ("pw.x", "hp.x"):
        (bin_dir / program).write_text(FAKE_PW.replace("{version}", version))
        os.chmod(bin_dir / program, 0o755)
    R.program_version.cache_clear()
    return bin_dir


def _tiny_campaign(tmp_path, bin_dir):
    material = C.Material(
        name="NiO2",
        structure={
            "builder": "layered_r3m",
            "metal": "Ni",
            "a_angstrom": 2.878,
            "c_angstrom": 14.19,
            "z_oxygen": 0.2585,
            "li_fraction": 0.0,
        },
        occupations="smearing",
        kpts=(1, 1, 1),
        qpts=(1, 1, 1),
    )
    settings = {
        "pseudo_dir": str(tmp_path), "pseudopotentials": {"Ni": "Ni.UPF", "O": "O.UPF"}, "ecutwfc_Ry": 25.0,
        "ecutrho_Ry": 200.0, "conv_thr_Ry": 1e-9, "mixing_beta": 0.3, "electron_maxstep": 100, "smearing": "mv",
        "degauss_Ry": 0.01, "lda_plus_u_kind": 2, "u_projection_type": "ortho-atomic", "conv_thr_chi": 1e-5,
    }  # fmt: skip
    return C.Campaign(
        materials=[material],
        strains=[0.0],
        settings=settings,
        launcher=Launcher(mpi=(), ranks=1, bin_dir=str(bin_dir), timeout_s=120),
        root=tmp_path / "runs",
        records_path=tmp_path / "records.jsonl",
        failures_path=tmp_path / "failures.jsonl",
        max_iterations=1,
    )


def _signal_self_when(condition, signum):
    def send():
        for _ in range(600):
            if condition():
                os.kill(os.getpid(), signum)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGUSR2])
def test_stop_signal_leaves_an_interrupted_iteration_not_a_failure(tmp_path, monkeypatch, signum):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.delenv("SLURM_ARRAY_TASK_ID", raising=False)
    campaign = _tiny_campaign(tmp_path, _fake_qe_bin(tmp_path))
    folder = campaign.root / C.plan(campaign)[0].path_id / "iter_0"
    _signal_self_when(lambda: (folder / "child.pid").is_file(), signum)
    with pytest.raises(cluster.JobStopped, match=f"stopped by {signal.Signals(signum).name}.*not a SLURM job"):
        C.run_campaign(campaign)
    marker = json.loads((folder / "interrupted.json").read_text())
    assert marker["signal"] == signal.Signals(signum).name and "pw.x" in marker["reason"]
    assert not (folder / "record.json").exists()
    assert read_records(campaign.failures_path) == [] and read_records(campaign.records_path) == []
    child = Path(f"/proc/{int((folder / 'child.pid').read_text())}/stat")
    time.sleep(0.2)  # the whole process group of the run was stopped (gone, or a zombie nobody reaped)
    assert not child.exists() or child.read_text().split(")")[-1].split()[0] == "Z"
    assert signal.getsignal(signum) is signal.SIG_DFL  # handlers restored after the campaign


def test_a_stopping_worker_leaves_the_other_paths_alone(tmp_path, monkeypatch):
    """Found on the SLURM array: after its own path was interrupted, a worker went on to the next path
    (whose worker had just exited), and wiped that path's interrupted folder."""
    campaign = _tiny_campaign(tmp_path, _fake_qe_bin(tmp_path))
    campaign.strains = [0.0, 0.02]
    first, second = C.plan(campaign)
    other = campaign.root / second.path_id / "iter_0"
    other.mkdir(parents=True)
    (other / "interrupted.json").write_text("{}")
    _signal_self_when(lambda: (campaign.root / first.path_id / "iter_0" / "child.pid").is_file(), signal.SIGTERM)
    with pytest.raises(cluster.JobStopped):
        C.run_campaign(campaign)
    assert (other / "interrupted.json").is_file()


def test_interrupted_iteration_is_redone_by_the_next_run(tmp_path, monkeypatch):
    campaign = _tiny_campaign(tmp_path, _fake_qe_bin(tmp_path))
    path = C.plan(campaign)[0]
    folder = campaign.root / path.path_id / "iter_0"
    _signal_self_when(lambda: (folder / "child.pid").is_file(), signal.SIGTERM)
    with pytest.raises(cluster.JobStopped):
        C.run_campaign(campaign)
    calls = []

    def finish(campaign, path, iteration, hubbard_in, folder):
        calls.append(sorted(p.name for p in folder.iterdir()) if folder.exists() else [])
        record = {K.RECORD_ID: f"{path.path_id}/iter_{iteration}", K.STATUS: "ok", K.CONVERGED: True}
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "record.json").write_text(json.dumps(record))
        return record

    monkeypatch.setattr(C, "run_iteration", finish)
    assert C.run_campaign(campaign)["ok_iterations"] == 1
    assert calls == [[]]  # the interrupted folder was wiped, then the iteration ran again


def test_failed_qe_run_while_stopping_counts_as_interrupted(tmp_path, monkeypatch):
    """mpirun may exit with a status (not by a signal) when its ranks are killed: with a stop signal
    received, that is still an interruption."""
    campaign = _tiny_campaign(tmp_path, _fake_qe_bin(tmp_path))
    path = C.plan(campaign)[0]

    def failing_run(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.1)
        raise R.QERunError("mpirun exited with status 1")

    monkeypatch.setattr(C, "run_qe", failing_run)
    with pytest.raises(cluster.JobStopped):
        C.run_campaign(campaign)
    assert read_records(campaign.failures_path) == []
    assert (campaign.root / path.path_id / "iter_0" / "interrupted.json").is_file()


def test_time_limit_signal_requeues_the_slurm_job(tmp_path, monkeypatch):
    commands = []

    def scontrol(command, **kwargs):
        commands.append(command)
        return cluster.subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(cluster.subprocess, "run", scontrol)
    monkeypatch.setenv("SLURM_JOB_ID", "41")
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "40")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "1")
    monkeypatch.setenv("SLURM_RESTART_COUNT", "1")
    assert "requeue 2 of 3" in cluster.requeue_after_stop(signal.SIGUSR2, max_requeues=3)
    assert commands == [["scontrol", "requeue", "40_1"]]
    assert "not requeued" in cluster.requeue_after_stop(signal.SIGTERM, max_requeues=3)  # scancel: stop
    monkeypatch.setenv("SLURM_RESTART_COUNT", "3")
    assert "not requeued (3 of 3" in cluster.requeue_after_stop(signal.SIGUSR2, max_requeues=3)
    assert len(commands) == 1


def test_mpi_ranks_start_inside_a_slurm_job_with_cpus_per_task():
    launcher = Launcher(ranks=2)
    outside = mpi_environment(launcher, {"PATH": "/usr/bin"})
    assert "OMPI_MCA_ras" not in outside and outside["OMP_NUM_THREADS"] == "1"
    inside = mpi_environment(launcher, {"SLURM_JOB_ID": "7", "SLURM_CPUS_PER_TASK": "2"})
    assert inside["OMPI_MCA_ras"] == "^slurm"  # OpenMPI would count one slot for --ntasks=1
    with pytest.raises(ConfigError, match="mpi_ranks = 4 but SLURM job 7 has 2 CPUs"):
        mpi_environment(Launcher(ranks=4), {"SLURM_JOB_ID": "7", "SLURM_CPUS_PER_TASK": "2"})


@pytest.mark.parametrize(
    ("version", "style"),
    [("6.7MaX", "namelist"), ("6.8", "namelist"), ("7.0", "namelist"), ("7.1", "card"), ("7.3.1", "card")],
)
def test_hubbard_input_style_follows_the_qe_version(version, style):
    assert hubbard_style(version) == style


@pytest.mark.parametrize("version", [None, "", "5.4", "8.0", "git-abc"])
def test_unknown_qe_version_is_refused(version):
    with pytest.raises(ConfigError, match="Quantum ESPRESSO version"):
        hubbard_style(version)


def test_hubbard_card_names_manifolds_and_supercell_atoms():
    atoms = layered_r3m("Ni", 2.878, 14.19, 0.2585, li_fraction=0.0)
    card = hubbard_card(atoms, [(1, 1, 6.5), (1, 29, 0.31), (2, 2, 1e-8)], kind=2, projection="ortho-atomic")
    assert card.splitlines() == [
        "HUBBARD {ortho-atomic}",
        "  V Ni-3d Ni-3d 1 1 6.5",
        "  V Ni-3d O-2p 1 29 0.31",  # atom 29 of the 3x3x3 supercell is an O (29 = 9 cells x 3 + 2)
        "  V O-2p O-2p 2 2 1d-08",
    ]
    assert hubbard_card(atoms, [(1, 1, 6.5)], kind=0, projection="atomic").splitlines()[1] == "  U Ni-3d 6.5"
    with pytest.raises(ConfigError, match="needs lda_plus_u_kind = 2"):
        hubbard_card(atoms, [(1, 29, 0.3)], kind=0, projection="atomic")


@pytest.mark.parametrize(("version", "card"), [("6.7MaX", False), ("7.2", True)])
def test_campaign_writes_the_hubbard_input_its_qe_reads(tmp_path, version, card):
    """The fake pw.x fails at once (no output): the iteration fails, but its input shows the form."""
    bin_dir = _fake_qe_bin(tmp_path, version)
    (bin_dir / "pw.x").write_text(FAKE_PW.replace("{version}", version).replace("sleep 60 &", "exit 3"))
    campaign = _tiny_campaign(tmp_path, bin_dir)
    (tmp_path / "Ni.UPF").write_text('z_valence="18.0"')
    (tmp_path / "O.UPF").write_text('z_valence="6.0"')
    C.run_campaign(campaign)
    text = (campaign.root / C.plan(campaign)[0].path_id / "iter_0" / "scf1.in").read_text()
    assert ("HUBBARD {ortho-atomic}" in text) is card
    assert ("lda_plus_u" in text) is not card and ("Hubbard_V(1,1,1)" in text) is not card
