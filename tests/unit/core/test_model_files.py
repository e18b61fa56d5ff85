"""Model files hold only weights and settings: they load with weights_only=True, from a fixed set of classes."""

import io
import pickle

import pytest
import torch

from matdisco.core.errors import InputError
from matdisco.core.training import load_members, load_module, member_path, model_classes, save_module


def _tiny_module():
    from matdisco.ionic.models import AdditiveConductivity

    return AdditiveConductivity(n_types=3)


def test_saved_file_loads_with_weights_only(tmp_path):
    path = tmp_path / "m.pt"
    save_module(path, _tiny_module(), vocabulary=["C", "N", "O"], shape=(2, 3))
    payload = torch.load(path, weights_only=True)
    assert payload["vocabulary"] == ["C", "N", "O"] and payload["shape"] == [2, 3]
    loaded, _ = load_module(path)
    assert type(loaded).__name__ == "AdditiveConductivity"


def test_registry_is_the_model_configs():
    assert "matdisco.ionic.models.AdditiveConductivity" in model_classes()
    assert set(model_classes().values()) == {"ionic_additive", "ionic_gnn", "hubbard_u", "hubbard_v", "motifs_vae"}


def test_a_class_outside_the_registry_is_refused(tmp_path):
    path = tmp_path / "m.pt"
    buffer = io.BytesIO()
    torch.save({"class": "subprocess.Popen", "hyper_parameters": {"args": ["true"]}, "state_dict": {}}, buffer)
    path.write_bytes(buffer.getvalue())
    with pytest.raises(InputError, match="subprocess.Popen"):
        load_module(path)


class _Payload:
    """Runs code when unpickled (what weights_only=True must refuse)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_pickled_object_is_refused_without_running_it(tmp_path):
    path, marker = tmp_path / "m.pt", tmp_path / "ran"
    path.write_bytes(pickle.dumps({"class": "x", "obj": _Payload(marker)}))
    with pytest.raises(InputError, match="more than weights"):
        load_module(path)
    assert not marker.exists()


def test_an_empty_ensemble_folder_is_named_once(tmp_path):
    from matdisco.hubbard.ensemble import Ensemble

    folder = tmp_path / "hubbard_u"
    folder.mkdir()
    with pytest.raises(InputError) as error:
        Ensemble.load(folder)
    assert str(error.value).count(str(folder)) == 1 and "member_*.pt" in str(error.value)


def test_members_load_in_name_order_with_the_first_payload(tmp_path):
    for member in (1, 0):
        save_module(member_path(tmp_path, member), _tiny_module(), vocabulary=[f"v{member}"])
    members, payload = load_members(tmp_path, expected="a test")
    assert len(members) == 2 and payload["vocabulary"] == ["v0"] and not members[0].training
