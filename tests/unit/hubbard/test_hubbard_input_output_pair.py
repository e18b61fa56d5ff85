"""A pw.x output paired with another structure's input is refused, naming both files, before any
prediction is made or written (issue: U(Ni) was predicted from Co occupations and a NiO scf.in written)."""

import gzip
import shutil

import numpy as np
import pytest

from matdisco.core.errors import InputError
from matdisco.hubbard.prediction import record_from_pw
from matdisco.hubbard.qe.edit import require_same_structure


def _plain(qe_reference, tmp_path, example, name):
    source = qe_reference(example, name)
    target = tmp_path / name.removesuffix(".gz")
    if source.suffix == ".gz":
        with gzip.open(source, "rb") as compressed, open(target, "wb") as out:
            shutil.copyfileobj(compressed, out)
    else:
        shutil.copy(source, target)
    return target


def test_the_matching_input_is_accepted(qe_reference, tmp_path):
    out = _plain(qe_reference, tmp_path, "example10", "LiCoO2.scf.out.gz")
    record = record_from_pw(out, _plain(qe_reference, tmp_path, "example10", "LiCoO2.scf.in"))
    assert [s["species"] for s in record["sites"]] == ["Co", "O", "O"]


def test_another_structures_input_is_refused_naming_both_files(qe_reference, tmp_path):
    out = _plain(qe_reference, tmp_path, "example10", "LiCoO2.scf.out.gz")
    nio_input = _plain(qe_reference, tmp_path, "example02", "NiO.scf1.in")
    with pytest.raises(InputError, match="atom 1 is Ni in the input but Co in the output") as error:
        record_from_pw(out, nio_input)
    assert "NiO.scf1.in" in str(error.value) and "LiCoO2.scf.out" in str(error.value)


def test_same_species_at_other_positions_is_refused():
    text = (
        "&SYSTEM\n nat = 2, ntyp = 1\n/\nATOMIC_SPECIES\n Si 28.1 Si.UPF\n"
        "ATOMIC_POSITIONS angstrom\n Si 0.0 0.0 0.0\n Si 1.40 1.36 1.36\n"
    )
    cell = np.eye(3) * 5.43
    good = np.array([[0.0, 0.0, 0.0], [1.3575, 1.3575, 1.3575]])
    with pytest.raises(InputError, match="atom 2 sits"):
        require_same_structure(text, "in.pwi", ["Si", "Si"], good, cell, "out.pwo")
    shifted = good + np.array([5.43, 0.0, 0.0])  # a periodic image is the same structure
    require_same_structure(
        text.replace("1.40 1.36 1.36", "1.3575 1.3575 1.3575"), "in.pwi", ["Si", "Si"], shifted, cell, "out.pwo"
    )
    with pytest.raises(InputError, match="the input has 2 atoms, the output 1"):
        require_same_structure(text, "in.pwi", ["Si"], good[:1], cell, "out.pwo")
