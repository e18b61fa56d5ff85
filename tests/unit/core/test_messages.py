"""Bad config values are reported before any step runs, each by its key; user errors print one message."""

import os
import subprocess
import sys

import pytest

from matdisco.core.config import CONF_DIR, compose
from matdisco.core.errors import ConfigError, InputError
from matdisco.core.schema import config_problems, validate_config
from matdisco.core.steps import user_errors

REPO = CONF_DIR.parent


@pytest.mark.parametrize(
    "override, expected",
    [
        ("seed=abc", "seed='abc': expected to be a valid integer"),
        ("seed=null", "seed=null: expected to be a valid integer"),
        ("model.lr=abc", "model.lr='abc': expected to be a valid number"),
        ("model.lr=-1", "model.lr=-1: expected to be greater than 0"),
        ("data.split.n_test=null", "data.split.n_test=null: expected to be a valid integer"),
        ("trainer.max_epochs=0", "trainer.max_epochs=0: expected to be greater than 0"),
        ("paths.results=/etc", "paths.results=/etc lies outside the project"),
    ],
)
def test_each_bad_value_is_named_by_its_key(override, expected):
    assert any(problem.startswith(expected) for problem in config_problems(compose([override]))), config_problems(
        compose([override])
    )


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as err:
        validate_config(compose(["seed=abc", "model.lr=abc", "data.split.n_test=null"]))
    assert all(key in str(err.value) for key in ("seed=", "model.lr=", "data.split.n_test="))


@pytest.mark.parametrize(
    "overrides", [[], ["data=motifs", "model=motifs_vae", "simulate=md_full"], ["data=hubbard", "model=hubbard_v"]]
)
def test_the_shipped_configs_are_valid(overrides):
    assert config_problems(compose(overrides)) == []


def test_user_errors_print_one_message_and_exit_1(capsys, monkeypatch):
    monkeypatch.delenv("MATDISCO_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exited, user_errors():
        raise InputError("bad row", where="x.csv row 3")
    assert exited.value.code == 1
    assert capsys.readouterr().err.splitlines()[0] == "error: bad row in x.csv row 3"


def test_debug_flag_keeps_the_traceback(monkeypatch):
    monkeypatch.setenv("MATDISCO_DEBUG", "1")
    with pytest.raises(InputError), user_errors():
        raise InputError("bad row")


def test_a_bad_value_on_a_step_command_line_stops_it_before_it_runs():
    env = {**os.environ, "MATDISCO_DEBUG": "0", "WANDB_MODE": "disabled"}
    done = subprocess.run(
        [sys.executable, "pipelines/train.py", "seed=abc", "model.lr=abc", "run_name=bad"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    assert "seed='abc'" in done.stderr and "model.lr='abc'" in done.stderr


def _project_copy(folder):
    """A folder that looks like a matdisco project (pyproject.toml naming it, conf/)."""
    folder.mkdir(parents=True)
    (folder / "conf").mkdir()
    (folder / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text())
    return folder


def test_a_copied_project_folder_is_refused_until_set_up_there(tmp_path):
    # issue 28: a copied project ran the original folder's code and conf/ (the venv's editable install)
    from matdisco.core.config import require_installed_here

    copy = _project_copy(tmp_path / "copy")
    with pytest.raises(ConfigError, match=rf"project folder {copy} is not the one the venv runs.*make setup"):
        require_installed_here(copy)
    require_installed_here(REPO)
    require_installed_here(tmp_path)  # not a project folder: nothing to say


def test_make_setup_makes_a_venv_copied_from_another_folder_again(tmp_path):
    # issue 28: `make setup` kept a copied .venv whose scripts run the original folder's venv
    (tmp_path / "Makefile").write_text((REPO / "Makefile").read_text())
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "python").chmod(0o755)
    (bin_dir / "pip").write_text("#!/elsewhere/.venv/bin/python3\n")
    done = subprocess.run(["make", "-s", "check-venv"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "was made in another folder (/elsewhere/.venv/bin/python3)" in done.stdout
    assert not (tmp_path / ".venv").exists()


@pytest.mark.parametrize(
    "override, expected",
    [
        ("model.lr=inf", "model.lr=inf: expected to be a finite number"),
        ("model.l2=nan", "model.l2=nan: expected to be a finite number"),
        ("data.split.val_fraction=nan", "data.split.val_fraction=nan: expected to be a finite number"),
        ("data.screening.temperatures_K=[298.15,-5]", "data.screening.temperatures_K.1=-5: expected to be greater"),
        ("data.screening.temperatures_K=[inf]", "data.screening.temperatures_K.0=inf: expected to be a finite number"),
        ("data.screening.temperatures_K=[]", "data.screening.temperatures_K=[]: List should have at least 1 item"),
        (
            "data.curation.temperature_range_K=[500,200]",
            "data.curation.temperature_range_K=[500, 200]: the low end must lie below",
        ),
        ("data.melting.margin_K=inf", "data.melting.margin_K=inf: expected to be a finite number"),
        ("seed=-1", "seed=-1: expected to be greater than or equal to 0"),
    ],
)
def test_numbers_must_be_finite_and_temperatures_positive(override, expected):
    # issue 28, the general rule: a config number is checked for finiteness as well as range
    problems = config_problems(compose([override]))
    assert any(problem.startswith(expected) for problem in problems), problems


def test_an_output_folder_that_cannot_be_written_stops_the_step_before_it_runs(tmp_path):
    # issue 28: a read-only metrics/ ended a hand run in a traceback after its work was done
    taken = tmp_path / "metrics"
    taken.write_text("a file where the metrics folder should be")
    cfg = compose([f"paths.metrics={taken}", "paths.allow_outside_project=true"])
    with pytest.raises(ConfigError, match=rf"paths\.metrics={taken}: {taken} is a file \(expected a folder\)"):
        validate_config(cfg, "train")
    validate_config(cfg)  # without a step only the values are checked
    if os.geteuid() != 0:  # root writes read-only folders
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        cfg = compose([f"paths.models={locked}/models", "paths.allow_outside_project=true"])
        with pytest.raises(ConfigError, match=rf"paths\.models=.*: {locked} is not writable"):
            validate_config(cfg, "train")


def test_a_permission_error_prints_one_message(capsys, monkeypatch):
    monkeypatch.delenv("MATDISCO_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exited, user_errors():
        raise PermissionError(13, "Permission denied", "metrics/ionic/evaluate.json")
    assert exited.value.code == 1
    assert "Permission denied: 'metrics/ionic/evaluate.json'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "override, expected",
    [
        ("data.generate.max_paths=-1", "data.generate.max_paths=-1: expected to be greater than 0"),
        ("data.generate.target=nxt", "data.generate.target='nxt': expected to be 'next' or 'converged'"),
        ("data.generate.saving_margin_eV=nan", "data.generate.saving_margin_eV=nan: expected to be a finite number"),
    ],
)
def test_hubbard_generate_settings_are_checked(override, expected):
    # issue 28, the general rule: max_paths=-1 silently dropped the last held-out path
    problems = config_problems(compose(["data=hubbard", override]))
    assert any(problem.startswith(expected) for problem in problems), problems


@pytest.mark.parametrize(
    "override, expected",
    [
        ("data.generate.n_samples=0", "data.generate.n_samples=0: expected to be greater than 0"),
        ("data.evaluate.max_negative_fraction=2", "data.evaluate.max_negative_fraction=2: expected to be less than"),
        (
            "data.generate.inpaint.k_known=[4,2]",
            "data: generate.inpaint.k_known [4]: each must be below n_neighbours=4",
        ),
    ],
)
def test_motifs_evaluate_and_generate_settings_are_checked(override, expected):
    # issue 28, the general rule: counts and fractions of the motifs steps are typed and in range
    problems = config_problems(compose(["data=motifs", "model=motifs_vae", override]))
    assert any(problem.startswith(expected) for problem in problems), problems
