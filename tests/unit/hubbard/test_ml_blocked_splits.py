"""Blocked holdouts of the Hubbard evaluation: no path (or, leaving a material out, material) in train and test."""

import pandas as pd
import pytest

from matdisco.core.errors import ConfigError
from matdisco.hubbard import keys as K
from matdisco.hubbard.splits import blocked_runs, formal_oxidation_state, li_content

SCHEMES = {
    "strain_high": {"type": "range", "column": "strain", "min": 0.02},
    "distortion": {"type": "each", "column": "distortion"},
    "li_content": {"type": "each", "column": "li_content"},
    "lomo": {"type": "each", "column": "material"},
    "oxidation_state": {"type": "each", "column": "oxidation_state"},
}


@pytest.fixture
def points():
    rows = []
    for material in ("LiCoO2", "Li0.5CoO2", "CoO2", "NiO"):
        for strain in (-0.02, 0.0, 0.02, 0.03):
            for distortion in (None, "jt"):
                path = f"{material}/{strain}/{distortion}"
                for iteration in range(2):
                    rows.append(
                        {
                            K.PATH_ID: path,
                            K.MATERIAL: material,
                            K.STRAIN: strain,
                            K.DISTORTION: distortion,
                            K.ITERATION: iteration,
                            K.SPLIT_BY_PATH: "val" if strain == 0.0 and distortion is None else "train",
                        }
                    )
    return pd.DataFrame(rows)


def test_li_content_from_material_name():
    assert [li_content(m) for m in ("LiCoO2", "Li0.5CoO2", "CoO2", "NiO", "Li2MnO3")] == [1.0, 0.5, 0.0, 0.0, 2.0]


def test_formal_oxidation_state_from_material_name():
    names = ("NiO", "LiNiO2", "NiO2", "Li0.5CoO2", "LiCrO2", "Li2MnO3")
    assert [formal_oxidation_state(m) for m in names] == [2.0, 3.0, 4.0, 3.5, 3.0, 4.0]
    no_one_metal = [formal_oxidation_state(m) for m in ("LiNiCoO2", "Li2O")]
    assert all(value != value for value in no_one_metal)  # NaN


def test_no_path_or_material_in_train_and_test(points):
    runs, empty = blocked_runs(points, SCHEMES)
    assert empty == {}
    names = [run.name for run in runs]
    assert names == [
        "distortion_jt",
        "li_content_0.0",
        "li_content_0.5",
        "li_content_1.0",
        "lomo_CoO2",
        "lomo_Li0.5CoO2",
        "lomo_LiCoO2",
        "lomo_NiO",
        "oxidation_state_2.0",
        "oxidation_state_3.0",
        "oxidation_state_3.5",
        "oxidation_state_4.0",
        "strain_high",
    ]
    for run in runs:
        train, test = points.iloc[run.train], points.iloc[run.test]
        assert run.train and run.test
        assert not set(train[K.PATH_ID]) & set(test[K.PATH_ID]), run.name
        assert not set(points.iloc[run.val][K.PATH_ID]) & set(test[K.PATH_ID]), run.name
        if run.name.startswith(("lomo", "li_content", "oxidation_state")):
            assert not set(train[K.MATERIAL]) & set(test[K.MATERIAL]), run.name
    strain = next(run for run in runs if run.name == "strain_high")
    assert set(points.iloc[strain.test][K.STRAIN]) == {0.02, 0.03} and points.iloc[strain.train][K.STRAIN].max() < 0.02


def test_blocked_runs_are_deterministic(points):
    first, second = blocked_runs(points, SCHEMES)[0], blocked_runs(points.copy(), dict(reversed(SCHEMES.items())))[0]
    assert [(r.name, r.train, r.val, r.test) for r in first] == [(r.name, r.train, r.val, r.test) for r in second]


def test_unknown_scheme_type_names_the_key(points):
    with pytest.raises(ConfigError, match="blocked.bad.type"):
        blocked_runs(points, {"bad": {"type": "random", "column": "strain"}})


def test_a_block_without_rows_or_without_training_rows_is_reported(points):
    runs, empty = blocked_runs(
        points,
        {
            "huge": {"type": "range", "column": "strain", "min": 0.5},
            "all": {"type": "range", "column": "strain"},
            "none": {"type": "each", "column": "distortion"},
        },
    )
    assert [r.name for r in runs] == ["none_jt"]
    assert empty["huge"] == "no rows with strain in [0.5, None]" and "no training rows" in empty["all"]


def test_a_block_of_whole_materials_validates_on_another_whole_material(points):
    """Leaving materials out, early stopping must see an unseen material too: the validation rows are
    the by-material val material (CoO2), or its test material (NiO) when CoO2 is the held-out one;
    a strain block keeps the by-path val paths."""
    labels = {"CoO2": "val", "NiO": "test", "LiCoO2": "train", "Li0.5CoO2": "train"}
    points = points.assign(**{K.SPLIT_BY_MATERIAL: points[K.MATERIAL].map(labels)})
    runs = {run.name: run for run in blocked_runs(points, SCHEMES)[0]}
    for name, val_material in [("lomo_LiCoO2", "CoO2"), ("lomo_CoO2", "NiO"), ("oxidation_state_4.0", "NiO")]:
        run = runs[name]
        assert set(points.iloc[run.val][K.MATERIAL]) == {val_material}, name
        assert val_material not in set(points.iloc[run.train][K.MATERIAL]) | set(points.iloc[run.test][K.MATERIAL])
    strain = runs["strain_high"]
    assert set(points.iloc[strain.val][K.SPLIT_BY_PATH]) == {"val"}


def test_validation_path_keeps_the_by_path_val_paths_for_material_blocks(points):
    """``validation: path`` (the design before session 33, kept for ablations): a left-out material
    validates on the by-path val paths of the training materials, not on another whole material."""
    labels = {"CoO2": "val", "NiO": "test", "LiCoO2": "train", "Li0.5CoO2": "train"}
    points = points.assign(**{K.SPLIT_BY_MATERIAL: points[K.MATERIAL].map(labels)})
    lomo = {"type": "each", "column": "material", "validation": "path"}
    run = next(r for r in blocked_runs(points, {"lomo": lomo})[0] if r.name == "lomo_LiCoO2")
    val = points.iloc[run.val]
    assert set(val[K.SPLIT_BY_PATH]) == {"val"}
    assert set(val[K.MATERIAL]) == {"Li0.5CoO2", "CoO2", "NiO"}


def test_unknown_validation_names_the_key(points):
    with pytest.raises(ConfigError, match="blocked.lomo.validation"):
        blocked_runs(points, {"lomo": {"type": "each", "column": "material", "validation": "random"}})
