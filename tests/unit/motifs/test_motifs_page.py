"""The motifs section of the results page (matdisco.motifs.page) from tiny metrics laid out by the steps' own
builders (motifs.evaluate.evaluate_metrics / sample_metrics, motifs.generate.generate_metrics and its parts):
the model next to its baselines, samples against MD, inpainting, interpolation, hole refilling, and the
published a-Si structure next to ours."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from omegaconf import OmegaConf

from matdisco.core.report import NOT_COMPUTED
from matdisco.motifs import keys, page
from matdisco.motifs.environments import gram_full, gram_upper
from matdisco.motifs.evaluate import evaluate_metrics, sample_metrics
from matdisco.motifs.generate import generate_metrics, inpainting_entry, interpolation_metrics, vacancy_metrics
from matdisco.motifs.scoring import distribution_metrics, inpainting_scores, novelty, shell_rmsd_summary, validity
from matdisco.motifs.structure import REFERENCES
from page_helpers import build, row_of, section, write_tree

VALIDITY = OmegaConf.create({"min_distance_angstrom": 1.8, "max_negative_fraction": 0.05})


def environments(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random 4-neighbour environments at 2.35 Angstrom (n, 4, 3)."""
    directions = rng.standard_normal((n, 4, 3))
    return 2.35 * directions / np.linalg.norm(directions, axis=-1, keepdims=True)


def evaluate_file() -> dict:
    """metrics/motifs/evaluate.json from ``motifs.scoring`` on random environments (noise robustness and the
    reconstruction errors need a model: their entries by hand, in ``motifs.scoring``'s layout)."""
    rng = np.random.default_rng(2)
    train, test, samples = environments(40, rng), environments(20, rng), environments(30, rng)
    comparison = {
        name: {
            **shell_rmsd_summary(test + scale * rng.standard_normal(test.shape), test, (4,)),
            "fraction_invalid": fraction_invalid,
        }
        for name, scale, fraction_invalid in (
            ("model", 0.1, 0.0),
            ("mean_environment", 0.6, 0.05),
            ("nearest_training_environment", 0.4, 0.0),
            ("pca_3", 0.3, 0.1),
        )
    }
    sampled = sample_metrics(
        "gmm",
        len(samples),
        distribution_metrics(samples, test, 2.85),
        validity(samples, gram_full(gram_upper(samples)), np.zeros(len(samples)), VALIDITY),
        novelty(samples, train, test, (4,)),
    )
    return evaluate_metrics(
        decoding="spectral",
        reconstruction={"n_environments": len(test), "rmsd_o3_angstrom_median": 0.2},
        samples=sampled,
        samples_standard_normal=sampled,
        noise_robustness={
            "noise_angstrom": 0.02,
            "fraction_relabelled": 0.01,
            "input_rmsd_label_free_angstrom_median": 0.031,
            "input_rmsd_label_free_angstrom_p90": 0.052,
            "output_rmsd_label_free_angstrom_median": 0.044,
            "output_rmsd_label_free_angstrom_p90": 0.081,
        },
        reconstruction_vs_baselines=comparison,
        cell_folds=None,
        md_train_vs_test=distribution_metrics(train, test, 2.85),
        md_test_validity=validity(test, gram_full(gram_upper(test)), np.zeros(len(test)), VALIDITY),
    )


def vacancy_rows(n_sites: int, rng: np.random.Generator) -> list[dict]:
    """Per-hole scores of every refiller (``<method>_<score>``), the model best."""
    offsets = dict(zip(keys.VACANCY_METHODS, (0.2, 0.3, 1.0)))
    return [
        {
            "site": site,
            **{
                f"{name}_{score}": offsets[name] * (1 + k) + 0.01 * rng.standard_normal()
                for name in keys.VACANCY_METHODS
                for k, score in enumerate(keys.VACANCY_SCORES)
            },
        }
        for site in range(n_sites)
    ]


def generate_file() -> dict:
    """metrics/motifs/generate.json: inpainting scores from ``motifs.scoring.inpainting_scores`` (second-shell
    atoms missing only for k = 1), an interpolation of random frames and hole refilling of made-up holes."""
    rng = np.random.default_rng(3)
    inpainting = {}
    for k in (3, 2, 1):
        missing = rng.standard_normal((10, 4 - k, 3))
        bonded = np.broadcast_to(np.arange(4 - k) < (2 if k == 1 else 4), (10, 4 - k))  # k = 1: one second-shell atom
        inpainting[f"k{k}"] = inpainting_entry(
            n_environments=10,
            method="optimise",
            diagnostics={"known_atoms_rmsd_angstrom_median": 0.01},
            scores={
                name: inpainting_scores(missing + scale * rng.standard_normal(missing.shape), missing, bonded)
                for name, scale in (
                    ("model", 0.2),
                    ("random_baseline", 1.5),
                    ("mean_baseline", 1.0),
                    ("tetrahedral_baseline", 0.5),
                    ("nearest_training_baseline", 0.3),
                )
            },
            fraction_model_beats_random=0.9,
        )
    frames = environments(8, rng)
    return generate_metrics(
        samples={"path": "results/motifs/samples.extxyz", keys.N_SAMPLES: 100, keys.LATENT_DENSITY: "gmm"},
        interpolation=interpolation_metrics(frames, np.zeros(8), frames[-1], 4, 5, 0.125),
        inpainting=inpainting,
        vacancy=vacancy_metrics("cell_007.extxyz", "edip", 5, vacancy_rows(4, rng), 50, rng),
    )


@pytest.fixture(scope="module")
def written() -> dict:
    """The motifs metrics files (relative path -> content), built once."""
    return {
        page.EVALUATE: evaluate_file(),
        page.GENERATE: generate_file(),
        page.STRUCTURE: {"comparison": {"mean_coordination": {"ours": 3.97, "experiment": 3.88}}},
    }


@pytest.fixture(scope="module")
def motifs(written, tmp_path_factory) -> str:
    """The motifs section of the page built from :func:`written`."""
    return section(build(write_tree(tmp_path_factory.mktemp("repo"), written)), "motifs")


def test_reconstruction_and_samples_sit_next_to_their_baselines(motifs, written):
    evaluate = written[page.EVALUATE]
    for name, entry in evaluate[keys.RECONSTRUCTION_VS_BASELINES].items():
        row = row_of(motifs, name)
        for stem in ("label_free_all", "label_free_shell1", "fixed_label_all", "fixed_label_shell1"):
            median, p90 = (entry[f"rmsd_{stem}_angstrom_{q}"] for q in ("median", "p90"))
            assert f"<td>{median:.2f} / {p90:.2f}</td>" in row, (name, stem)
    assert "label free shell1" in motifs and "fixed label all" in motifs
    samples = evaluate[keys.SAMPLES]
    assert f"<td>{samples['w1_distance_angstrom']:.3f}</td>" in row_of(motifs, "VAE samples (latent density gmm)")
    floor = row_of(motifs, "MD train vs MD test (baseline)")
    assert f"<td>{evaluate[keys.MD_TRAIN_VS_TEST]['w1_angle_deg']:.2f}</td>" in floor
    assert f"<td>{samples[keys.NOVELTY]['held_out_to_train_angstrom_median']:.3f}</td>" in floor
    assert "<td>0.03 / 0.05</td>" in motifs and "<td>0.04 / 0.08</td>" in motifs  # noise: input floor, output


def test_inpainting_shows_every_placement_baseline_and_the_shell_groups(motifs, written):
    inpainting = written[page.GENERATE][keys.INPAINTING]
    for k, groups in (("1", ("", "bonded_", "second_shell_")), ("2", ("",))):
        entry = inpainting[f"k{k}"]
        for prefix in groups:
            cells = "".join(
                f"<td>{entry[name][f'{prefix}rmsd_angstrom_median']:.3f}</td>" for name in page.INPAINTING_COLUMNS
            )
            scored = f"{entry['model'][f'{prefix}n_atoms']} atoms" if prefix else "10 environments"
            assert re.search(rf"<tr><td>{k}</td><td>[^<]+</td><td>{scored}</td>{cells}<td>(90.0 %)?</td></tr>", motifs)
    assert motifs.count("<td>second shell</td>") == 1  # k = 2, 3: only bonded atoms missing, no group rows


def test_interpolation_and_hole_refilling_show_the_builders_values(motifs, written):
    generate = written[page.GENERATE]
    path = generate[keys.INTERPOLATION]
    assert "4-fold to 5-fold centre, 8 frames" in motifs and "<td>12.5 %</td>" in motifs
    assert f"<td>{path['max_frame_step_rmsd_angstrom']:.3f}</td>" in motifs
    vacancy = generate[keys.VACANCY]
    assert "4 holes of 5 atoms cut out of cell_007.extxyz" in motifs
    for name in keys.VACANCY_METHODS:
        cells = "".join(f"<td>{vacancy[f'{name}_{score}_median']:.3f}</td>" for score in keys.VACANCY_SCORES)
        assert f"<tr><td>{name}</td>{cells}</tr>" in motifs, name
    difference = vacancy["model_minus_largest_hole_rmsd_angstrom"]
    assert f"<td>model - largest_hole</td><td>{difference['value']:+.3f} [{difference['ci_low']:+.3f}," in motifs


def test_published_structure_sits_next_to_ours(motifs):
    assert "<td>3.88</td><td>3.97</td>" in motifs and "Phys. Rev. B 60, 13520" in motifs
    assert '<td>2.35</td><td class="missing">not computed</td>' in motifs


def test_published_figures_match_the_structure_references():
    published = {item.quantity: item.published for item in page.PUBLISHED}
    experiment = REFERENCES["experiment_laaziri_1999"]
    assert published["mean coordination"] == f"{experiment['mean_coordination']:.2f}"
    assert published["bond-angle standard deviation (degrees)"] == "{:.1f} - {:.1f}".format(
        *experiment["bond_angle_std_deg"]
    )
    assert published["RDF first peak (Angstrom)"] == f"{experiment['rdf_first_peak_angstrom']:.2f}"
    defects = REFERENCES["gap_md_deringer_2018"]["coordination_defect_fraction_below"]
    assert published["fraction of coordination defects"] == f"< {100 * defects:.1f} %"
    assert published["fraction of 5-fold atoms"] == f"{100 * REFERENCES['sw_fast_quench']['fraction_5fold']:.1f} %"


def test_a_variant_sits_beside_the_default_in_one_table(written):
    """A variant's files (metrics/motifs/talk/) give one side-by-side table; its inpainting rows are matched by
    the number of missing atoms, not by the number of known ones."""
    talk_generate = json.loads(json.dumps(written[page.GENERATE]))
    talk_generate[keys.INPAINTING] = {"k7": talk_generate[keys.INPAINTING].pop("k3")}  # 1 missing of 8
    files = {**written, "metrics/motifs/talk/evaluate.json": written[page.EVALUATE]}
    files["metrics/motifs/talk/generate.json"] = talk_generate
    table = page.variant_table(files, "talk")
    assert table.header == ["score", "default", "talk"] and page.variant_names(files) == ["talk"]
    one_missing = next(row for row in table.rows if row[0].startswith("inpainting, 1 atom"))
    assert one_missing[1] == one_missing[2] != NOT_COMPUTED
    two_missing = next(row for row in table.rows if row[0].startswith("inpainting, 2 atom"))
    assert two_missing[1] != NOT_COMPUTED and two_missing[2] == NOT_COMPUTED
    invalid = next(row for row in table.rows if row[0] == "samples, z ~ N(0, 1): invalid")
    assert (
        invalid[1]
        == invalid[2]
        == f"{100 * written[page.EVALUATE][keys.SAMPLES_STANDARD_NORMAL]['fraction_invalid']:.1f} %"
    )
    assert page.variant_table(written, "talk").rows[0][2] == NOT_COMPUTED
