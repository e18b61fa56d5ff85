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
