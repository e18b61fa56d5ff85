"""Hand-run chains of the motifs family: experiments name the data the stages read, environments and model must
agree with the data settings (one clear message instead of an IndexError), hand runs log into their run folder."""

import numpy as np
import pytest

from matdisco.core.config import compose, hand_run_paths
from matdisco.core.errors import InputError
from matdisco.core.training import save_module
from matdisco.motifs import keys
from matdisco.motifs.data import environments_path, load_environments, model_path
from matdisco.motifs.environments import GramNormaliser, gram_upper
from matdisco.motifs.models import build_module, load_trained


@pytest.mark.parametrize("experiment", ["motifs", "motifs_talk", "motifs_shell_loss"])
def test_motifs_experiments_read_the_committed_cells_as_the_stages_do(experiment):
    cfg = compose([f"experiment={experiment}"])
    assert cfg.simulate.name == "md_dataset"
    assert cfg.data.family == "motifs" and cfg.model.family == "motifs"


def test_talk_experiment_is_the_talk_setting_with_its_augmentation():
    cfg = compose(["experiment=motifs_talk"])
    assert cfg.data.n_neighbours == 8 and cfg.model.latent_dim == 8
    assert list(cfg.model.hidden_dims) == [28, 18]
    assert cfg.data.n_permutations == 8


@pytest.mark.parametrize("step", ["train", "evaluate"])
def test_hand_runs_log_into_their_run_folder(step):
    cfg = compose(["data=motifs", "model=motifs_vae", "run_name=mine"])
    moved = hand_run_paths(cfg, step, [])
    assert moved.paths.logs == "runs/mine/logs"


def _project(tmp_path, n_neighbours: int):
    paths = [f"paths.{kind}={tmp_path / kind}" for kind in ("processed", "models")]
    return compose(
        ["data=motifs", "model=motifs_vae", f"data.n_neighbours={n_neighbours}", "paths.allow_outside_project=true"]
        + paths
    )


def test_environments_of_another_neighbour_count_are_refused(tmp_path):
    cfg4 = _project(tmp_path, 4)
    coords = np.random.default_rng(0).normal(size=(6, 4, 3))
    environments_path(cfg4).parent.mkdir(parents=True)
    np.savez(environments_path(cfg4), **{keys.COORDS: coords, keys.GRAM: gram_upper(coords)})
    assert load_environments(cfg4)[keys.COORDS].shape == (6, 4, 3)
    with pytest.raises(InputError, match="environments hold 4 neighbours, but data.n_neighbours is 8"):
        load_environments(_project(tmp_path, 8))


def test_a_model_of_another_neighbour_count_is_refused(tmp_path):
    cfg4 = _project(tmp_path, 4)
    coords = np.random.default_rng(1).normal(size=(20, 4, 3))
    normaliser = GramNormaliser.fit(gram_upper(coords))
    model_path(cfg4).parent.mkdir(parents=True)
    save_module(model_path(cfg4), build_module(cfg4.model, 10, normaliser))
    assert load_trained(model_path(cfg4), 4)[1].n_neighbours == 4
    with pytest.raises(InputError, match="model was trained on 4 neighbours, but data.n_neighbours is 8"):
        load_trained(model_path(cfg4), 8)


def test_the_talk_variant_writes_beside_the_default_and_shares_the_cells():
    from matdisco.motifs.data import cells_dir, out_parts

    default, talk = compose(["data=motifs"]), compose(["experiment=motifs_talk"])
    assert out_parts(default) == ("motifs",) and out_parts(talk) == ("motifs", "talk")
    assert str(environments_path(talk)) == "data/processed/motifs/talk/environments.npz"
    assert str(model_path(talk)) == "models/motifs/talk/vae.ckpt"
    assert cells_dir(talk) == cells_dir(default)
