"""Periodic environments, ordering rule, Gram entries, normalisation, permutation augmentation."""

import numpy as np
import pytest
from ase.build import bulk

from matdisco.motifs.environments import (
    GramNormaliser,
    augment,
    diagonal_mask,
    environments,
    gram_full,
    gram_upper,
    split_cells,
)

A_SI = 5.431


def test_diamond_environment_is_periodic_and_ordered():
    small = bulk("Si", "diamond", a=A_SI, cubic=True)  # 8 atoms, box shorter than 2 r_cut
    coords_small, counts_small = environments(small, 4.0, 8)
    coords_big, counts_big = environments(small.repeat(3), 4.0, 8)
    distances = np.linalg.norm(coords_small, axis=-1)
    assert np.all(counts_small == 16) and np.all(counts_big == 16)  # 4 at 2.35 A + 12 at 3.84 A
    assert np.allclose(distances[:, :4], A_SI * np.sqrt(3) / 4)
    assert np.allclose(distances[:, 4:], A_SI / np.sqrt(2))
    assert np.all(np.diff(distances, axis=1) >= -1e-12)
    assert np.allclose(
        np.sort(gram_upper(coords_small[0, :4])), np.sort(gram_upper(coords_big[0, :4]))
    )  # second shell: ties


def test_too_few_neighbours_are_nan_not_padded():
    cell = bulk("Si", "diamond", a=A_SI, cubic=True)
    coords, counts = environments(cell, 3.0, 8)
    assert np.all(counts == 4)
    assert np.all(np.isnan(coords[:, 4:])) and not np.any(np.isnan(coords[:, :4]))


def test_normalisation_is_invertible_with_separate_statistics():
    rng = np.random.default_rng(0)
    upper = gram_upper(3.0 * rng.standard_normal((300, 8, 3)))
    normaliser = GramNormaliser.fit(upper)
    normalised = normaliser.normalise(upper)
    diagonal = diagonal_mask(8)
    assert np.allclose(normaliser.denormalise(normalised), upper)
    for part in (diagonal, ~diagonal):
        assert normalised[:, part].mean() == pytest.approx(0.0, abs=1e-9)
        assert normalised[:, part].std() == pytest.approx(1.0)
    assert GramNormaliser.from_dict(normaliser.to_dict()) == normaliser


def test_augmentation_permutes_labels_consistently():
    rng = np.random.default_rng(1)
    coords = 3.0 * rng.standard_normal((20, 8, 3))
    grams, perms, source = augment(coords, 3, rng)
    assert grams.shape == (80, 36) and perms.shape == (80, 8)
    assert np.array_equal(source[:20], np.arange(20)) and np.all(perms[:20] == np.arange(8))
    assert np.all(np.sort(perms, axis=1) == np.arange(8))
    for row in range(80):
        expected = gram_full(gram_upper(coords[source[row]]))[np.ix_(perms[row], perms[row])]
        assert np.allclose(gram_full(grams[row]), expected)
    assert np.allclose(
        np.array(list(GramNormaliser.fit(grams).to_dict().values())),
        np.array(list(GramNormaliser.fit(grams[:20]).to_dict().values())),
    )


def test_split_keeps_cells_whole_and_needs_training_cells():
    codes = split_cells(6, 1, 1, np.random.default_rng(0))
    assert sorted(codes.tolist()) == [0, 0, 0, 0, 1, 2]
    with pytest.raises(ValueError, match="training cell"):
        split_cells(2, 1, 1, np.random.default_rng(0))


def test_extract_rejects_cells_with_too_few_neighbours(make_cfg):
    from ase.io import write

    from matdisco.core.errors import InputError
    from matdisco.motifs import extract
    from matdisco.motifs.data import cells_dir

    cfg = make_cfg(
        "data=motifs",
        "model=motifs_vae",
        "simulate=md_quick",
        "data.n_neighbours=8",
        "data.split.val_cells=0",
        "data.split.test_cells=0",
    )
    cells_dir(cfg).mkdir(parents=True)
    write(cells_dir(cfg) / "cell_000.extxyz", bulk("Si", "diamond", a=9.0, cubic=True), format="extxyz")  # bonds 3.9 A
    with pytest.raises(InputError, match="fewer than 8 neighbours") as error:
        extract(cfg)
    assert "cell_000.extxyz" in str(error.value)
