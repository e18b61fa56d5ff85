"""A tiny ionic data set of hand-made salts: name tables, melting points and a user conductivity CSV."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from matdisco.ionic.sources import RAW_MELTING_K, RAW_SUBDIR
from tiny import TRAINING

CATIONS = {"EMIM": "CCn1cc[n+](C)c1", "BMIM": "CCCCn1cc[n+](C)c1", "BMPyrr": "CCCC[N+]1(C)CCCC1"}
ANIONS = {"BF4": "F[B-](F)(F)F", "NTf2": "O=S(=O)(C(F)(F)F)[N-]S(=O)(=O)C(F)(F)F", "DCA": "N#C[N-]C#N"}
UNMEASURED = ("BMPyrr", "DCA")  # the one pair of the grid left out of the data
GLASSY = ("EMIM Cl", "CCn1cc[n+](C)c1.[Cl-]")  # an IL whose sigma never reaches 1e-3 S/m
MELTING_K = {
    "EMIM BF4": 288.0,
    "BMIM BF4": 202.0,
    "EMIM NTf2": 257.0,
    "BMIM NTf2": 269.0,
    "BMPyrr NTf2": 255.0,
    "BMPyrr DCA": 250.0,
    "EMIM Cl": 360.0,
    "BMPyrr BF4": 425.0,
}
TEMPERATURES_K = (293.15, 303.15, 313.15, 323.15)
RUN_OVERRIDES = (  # a seconds-long extract + train + screen on the tiny data (additive model, no k-fold)
    "data.split.n_test=2",
    "data.split.n_folds=2",
    "data.split.kfold=false",
    "data.melting.n_folds=2",
    *TRAINING,
    "data.screening.model=ionic_additive",
)


def user_rows() -> list[str]:
    """CSV lines (header first) of the measured salts: smooth Arrhenius series, two sources."""
    lines = ["name,cation_smiles,anion_smiles,salt_smiles,temperature_K,sigma_S_per_m,source"]
    for i, (c_name, cation) in enumerate(CATIONS.items()):
        for j, (a_name, anion) in enumerate(ANIONS.items()):
            if (c_name, a_name) == UNMEASURED:
                continue
            for T in TEMPERATURES_K:
                sigma = np.exp(-1.0 - 0.4 * i + 0.3 * j - 2500.0 * (1.0 / T - 1.0 / 298.15))
                lines.append(f"{c_name} {a_name},{cation},{anion},,{T},{sigma:.5g},lab-{(i + j) % 2}")
    lines.append(f"{GLASSY[0]},,,{GLASSY[1]},298.15,2.0e-5,lab-0")
    return lines


@pytest.fixture
def tiny_ionic(tmp_path):
    """The tiny data set under ``tmp_path`` (see :func:`write_tiny_ionic`)."""
    return write_tiny_ionic(tmp_path)


@pytest.fixture(scope="module")
def tiny_ionic_shared(tmp_path_factory):
    """The tiny data set once per test module (for module-scoped fixtures that train on it)."""
    return write_tiny_ionic(tmp_path_factory.mktemp("tiny_ionic"))


def write_tiny_ionic(tmp_path):
    """Raw folder (tmp_path/raw) with name tables and melting points, and a user CSV of points.

    Returns a namespace: raw_dir, user_csv, n_rows (data rows of the CSV), run_overrides (a tiny
    extract + train + screen) and the constants above.
    """
    folder = tmp_path / "raw" / RAW_SUBDIR
    folder.mkdir(parents=True)
    (folder / "electrical_conductivity.csv").write_text(
        '"Electrical conductivity, S/m","Pressure, kPa","Temperature, K",salt_name\n1.0,101.325,298.15,EMIM BF4\n'
    )
    (folder / "cationInfo.csv").write_text("name,smiles\n" + "".join(f"{n},{s}\n" for n, s in CATIONS.items()))
    (folder / "anionInfo.csv").write_text(
        "name,smiles\n" + "".join(f"{n},{s}\n" for n, s in ANIONS.items()) + "chloride,[Cl-]\n"
    )
    salts = {f"{c} {a}": f"{CATIONS[c]}.{ANIONS[a]}" for c in CATIONS for a in ANIONS} | {GLASSY[0]: GLASSY[1]}
    (folder / "compounds.csv").write_text(
        "id,name,smiles\n" + "".join(f"{i},{n},{s}\n" for i, (n, s) in enumerate(salts.items()))
    )
    (folder / "melting_point.csv").write_text(
        f'salt_name,"{RAW_MELTING_K}"\n' + "".join(f"{n},{t}\n" for n, t in MELTING_K.items())
    )
    user_csv = tmp_path / "my_points.csv"
    user_csv.write_text("\n".join(user_rows()) + "\n")
    return SimpleNamespace(
        raw_dir=tmp_path / "raw",
        user_csv=user_csv,
        n_rows=len(user_rows()) - 1,
        cations=CATIONS,
        anions=ANIONS,
        unmeasured=UNMEASURED,
        glassy=GLASSY,
        run_overrides=RUN_OVERRIDES,
    )
