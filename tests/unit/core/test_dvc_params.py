"""`dvc exp run -S <model>.<key>=...` reaches any model and marks exactly that model's stages changed."""

import shutil
import subprocess

import pytest
from dvc.dependency.param import ParamsDependency
from dvc.repo import Repo

from matdisco.core.config import CONF_DIR

REPO = CONF_DIR.parent

# One change per family (model, data and simulate sections) -> the stages that must rerun.
CHANGES = {
    "ionic_gnn.hidden=128": {"ionic_train@ionic_gnn"},
    "ionic.screening.top_n=10": {"ionic_generate"},
    "motifs_vae.beta=0.01": {"motifs_train", "motifs_evaluate"},  # evaluate trains the cell-fold VAEs
    "md_dataset.spotcheck.tolerance_angstrom=1e-5": {"motifs_simulate"},
    "hubbard_u.lr=0.01": {"hubbard_train@hubbard_u", "hubbard_train@hubbard_u_converged", "hubbard_evaluate"},
    "hubbard_v.trainer.max_epochs=3": {
        "hubbard_train@hubbard_v",
        "hubbard_train@hubbard_v_converged",
        "hubbard_evaluate",
    },
}


def _params_deps(repo: Repo) -> dict[str, ParamsDependency]:
    return {
        stage.addressing: dep for stage in repo.index.stages for dep in stage.deps if isinstance(dep, ParamsDependency)
    }


def test_every_stage_param_is_a_key_of_params_yaml_and_train_stages_name_their_model():
    repo = Repo(str(REPO))
    for name, dep in _params_deps(repo).items():
        assert dep.def_path == "params.yaml", f"{name} reads params from {dep.def_path}, not params.yaml sections"
        missing = set(dep.params) - set(dep.read_params())
        assert not missing, f"stage {name}: params {sorted(missing)} are not keys of params.yaml"
    for stage in repo.index.stages:
        if "pipelines/train.py" in (stage.cmd or ""):
            model = stage.cmd.split("model=")[1].split()[0]
            assert model in _params_deps(repo)[stage.addressing].params, (
                f"{stage.addressing} must list the section {model}"
            )


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory):
    """The tracked files of the working tree in a fresh folder (a git repo, so DVC finds its root)."""
    root = tmp_path_factory.mktemp("repo")
    files = (
        subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    )
    for name in filter(None, files):
        if (REPO / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    _lock_params(root)
    return root


def _lock_params(root) -> None:
    """Record params.yaml's current values in the copy's dvc.lock (as a finished `dvc repro` would), so
    the test sees only what its own change does, whether or not the committed lock is up to date."""
    from dvc.utils.serialize import dump_yaml, load_yaml

    lock = load_yaml(root / "dvc.lock")
    for name, dep in _params_deps(Repo(str(root))).items():
        name = name.rsplit(":", 1)[-1]
        if name in lock["stages"]:
            lock["stages"][name]["params"] = {"params.yaml": dep.read_params()}
    dump_yaml(root / "dvc.lock", lock)


def _stages_with_changed_params(root) -> set[str]:
    status = Repo(str(root)).status()
    changed = set()
    for stage, entries in status.items():
        for entry in entries:
            if isinstance(entry, dict) and "params.yaml" in entry.get("changed deps", {}):
                changed.add(stage.rsplit(":", 1)[-1])
    return changed


def test_no_stage_is_changed_before_the_experiment(repo_copy):
    assert _stages_with_changed_params(repo_copy) == set()


@pytest.mark.parametrize("override", sorted(CHANGES))
def test_exp_run_set_marks_exactly_the_model_stages_changed(repo_copy, override):
    from dvc.utils.hydra import compose_and_dump

    original = (repo_copy / "params.yaml").read_bytes()
    try:
        # what `dvc exp run -S <override>` does first (DVC's Hydra mode, .dvc/config config_name=params)
        compose_and_dump(str(repo_copy / "params.yaml"), str(repo_copy / "conf"), None, "params", "", [override])
        assert _stages_with_changed_params(repo_copy) == CHANGES[override]
    finally:
        (repo_copy / "params.yaml").write_bytes(original)
