"""The results page (matdisco.core.report) built from tiny metrics made here: every study, its numbers
next to the baselines, missing values as "not computed", no scripts or network, published figures
equal to the repository's sources."""

from __future__ import annotations

import html
import json
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from matdisco.cli import main
from matdisco.core import report
from matdisco.core.report import NOT_COMPUTED, PUBLISHED, STUDIES

REPO = Path(__file__).resolve().parents[3]


def tiny_png(path: Path, width: int = 2, height: int = 2) -> None:
    """A valid RGB PNG of ``width`` x ``height`` grey pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def write_json(root: Path, relative: str, data: dict) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


# ---------------------------------------------------------------- metrics as the writers build them

IONIC_BASELINES = ["temperature_only", "ridge_additive"]  # ion_identity left out: "not computed"
IONIC_MODELS = ["ionic_additive"]  # ionic_gnn left out: "not computed"


def ionic_evaluate_report() -> dict:
    """metrics/ionic/evaluate.json as ``matdisco.ionic.evaluate.evaluate`` assembles it, from the scoring
    functions on 8 ILs x 3 temperatures (2 IL-grouped folds and a default split)."""
    from matdisco.core.metrics import group_resamples
    from matdisco.ionic import keys
    from matdisco.ionic.evaluate import UMANA_2025
    from matdisco.ionic.scoring import (
        LN_LAMBDA_OFFSET,
        ILScorer,
        at_reference_temperature,
        fold_metrics,
        interval_summary,
        wide_out_of_fold,
    )

    rng = np.random.default_rng(0)
    error_scale = {"temperature_only": 0.9, "ridge_additive": 0.5, "ionic_additive": 0.3}
    rows = []
    for il in range(8):
        for temperature_K in (298.15, 320.0, 350.0):
            ln_sigma = -2.0 + 0.4 * il + 0.01 * (temperature_K - 298.15)
            for fold in [f"fold_{il % 2}"] + (["default"] if il < 2 else []):
                for name, scale in error_scale.items():
                    rows.append(
                        {
                            keys.FOLD: fold,
                            keys.IL_ID: f"il{il}",
                            keys.TEMPERATURE_K: temperature_K,
                            keys.SIGMA_S_PER_M: float(np.exp(ln_sigma)),
                            keys.PRESSURE_KPA: 101.3,
                            keys.LN_SIGMA: ln_sigma,
                            LN_LAMBDA_OFFSET: -1.0 if il < 5 else np.nan,
                            keys.MODEL: name,
                            keys.PRED_LN_SIGMA: ln_sigma + scale * rng.standard_normal(),
                        }
                    )
    scored = pd.DataFrame(rows)
    predictors = IONIC_BASELINES + IONIC_MODELS
    wide = wide_out_of_fold(scored)
    at_reference = at_reference_temperature(wide, predictors, 298.15, 5.0)
    scorer = ILScorer(wide, at_reference, predictors)
    values, differences = interval_summary(scorer, group_resamples(len(scorer.ils), 50, 0), IONIC_BASELINES)
    folds = fold_metrics(scored)
    return {
        "predictors": {
            name: {
                "kind": "baseline" if name in IONIC_BASELINES else "model",
                "out_of_fold": values[name],
                **folds[name],
            }
            for name in predictors
        },
        "differences": differences,
        "counts": {
            "n_folds": 2,
            "n_points": len(wide),
            "n_ils": len(scorer.ils),
            "n_ils_298": len(at_reference),
            "temperature_K": 298.15,
            "window_K": 5.0,
            "n_points_lambda": 15,
            "n_ils_lambda": 5,
            "n_resamples": 50,
            "n_ils_excluded_unseen_types": 3,
        },
        "literature": UMANA_2025,
    }


def ionic_screening_summary() -> dict:
    """metrics/ionic/screening.json as ``matdisco.ionic.generate.generate`` assembles it (verdict counts of
    ``screening.verdict_counts`` on 6 pairs, the melting model's CV in ``melting.cross_validate``'s layout)."""
    from matdisco.ionic import keys
    from matdisco.ionic.melting import verdict_quality
    from matdisco.ionic.screening import (
        PASSES_ALL,
        PROTIC,
        SIGMA_CAP_S_PER_M,
        SINGLE_POINT_ION,
        VERDICTS,
        verdict_counts,
    )

    n = 6
    table = pd.DataFrame(
        {
            keys.TEMPERATURE_K: [298.15] * n,
            **{verdict: [k != index for k in range(n)] for index, verdict in enumerate(VERDICTS)},
            PROTIC: [True, False, False, False, False, True],
            SINGLE_POINT_ION: [False] * n,
            keys.PRED_SIGMA_S_PER_M: [5.5, 1.0, 2.0, np.nan, 0.5, 0.1],
            SIGMA_CAP_S_PER_M: [9.0] * n,
        }
    )
    table[PASSES_ALL] = table[list(VERDICTS)].all(axis=1)
    tm_K = np.array([250.0, 260.0, 350.0, 400.0])
    melting_cv = {
        "n_salts": 4,
        "n_folds": 2,
        "ridge": {"rmse_K": 31.4, "mae_K": 25.0},
        "mean": {"rmse_K": 52.1, "mae_K": 45.0},
        "cation_family_mean": {"rmse_K": 44.7, "mae_K": 40.0},
        "liquid_verdict": verdict_quality(tm_K - 10.0, tm_K, 20.0),
    }
    return {
        "model": "ionic_gnn",
        "temperature_K": 298.15,
        "model_description": "ionic_gnn (ensemble of 5 member(s)), fitted on the 193 training ILs of the default split",
        "melting_cv": melting_cv,
        "n_temperatures": 1,
        **verdict_counts(table, 298.15),
        "top_pair": "EMIM + DCA",
        "top_sigma_S_per_m": 5.5,
        "talk_reference_pairs": [
            {
                "label": "dicyanamide + pyrrolidin-1-ium",
                "talk_sigma_S_per_m": 4.39,
                "pred_sigma_S_per_m": 3.77,
                "rank": 12,
                "of": 4321,
            },
            {"label": "thiocyanate + pyrrolidin-1-ium", "status": "measured in the data: 2.1 S/m at 298.1 K"},
        ],
    }


def hubbard_rows(material: str, n_paths: int, offset_eV: float, rng: np.random.Generator) -> pd.DataFrame:
    """Distinct test rows of one holdout as ``hubbard.evaluate.scored_rows`` leaves them (target, model, baselines)."""
    from matdisco.hubbard import keys as K
    from matdisco.hubbard.baselines import BASELINES, PERSISTENCE
    from matdisco.hubbard.features import TARGET
    from matdisco.hubbard.scoring import PRED, baseline_column

    n = 4 * n_paths
    target = 5.0 + offset_eV + 0.1 * rng.standard_normal(n)
    rows = pd.DataFrame(
        {
            K.PATH_ID: [f"{material}_path{k // 4}" for k in range(n)],
            K.MATERIAL: material,
            K.ITERATION: np.tile(np.arange(4), n_paths),
            TARGET: target,
            PRED: target + 0.02 * rng.standard_normal(n),
        }
    )
    for k, name in enumerate(BASELINES):
        rows[baseline_column(name)] = target + 0.05 * (k + 1) * rng.standard_normal(n)
    rows.loc[rows[K.ITERATION] == 0, baseline_column(PERSISTENCE)] = np.nan  # no applied input at iteration 0
    return rows


def hubbard_evaluate_results() -> dict:
    """``results`` of ``matdisco.hubbard.evaluate.evaluate`` for hubbard_u only (hubbard_v etc. missing), with
    the extract split, two leave-one-material-out folds and their pooled score from ``hubbard.scoring.fold_metrics``."""
    from matdisco.hubbard.scoring import fold_metrics

    rng = np.random.default_rng(1)
    folds = {
        "extract_split": hubbard_rows("NiO", 5, 0.0, rng),
        "lomo_NiO": hubbard_rows("NiO", 3, 0.5, rng),
        "lomo_LiCoO2": hubbard_rows("LiCoO2", 3, 1.0, rng),
    }
    schemes = {name: fold_metrics(rows, 100, 0) for name, rows in folds.items()}
    schemes["lomo (pooled)"] = fold_metrics(pd.concat([folds["lomo_NiO"], folds["lomo_LiCoO2"]]), 100, 0)
    return {
        "hubbard_u": {
            "model": "hubbard_u",
            "kind": "u",
            "parameter": "U",
            "target": "next",
            "n_points": 200,
            "n_paths": 11,
            "schemes": schemes,
            "skipped": {"strain_high": "no training rows outside the block"},
            "cpu_s": 12.0,
        }
    }


def motifs_evaluate_metrics() -> dict:
    """metrics/motifs/evaluate.json as ``matdisco.motifs.evaluate.evaluate`` assembles it, the scores from
    ``motifs.scoring`` on random 4-neighbour environments (noise robustness needs a model: built by hand)."""
    from omegaconf import OmegaConf

    from matdisco.motifs.environments import gram_full, gram_upper
    from matdisco.motifs.scoring import distribution_metrics, novelty, shell_rmsd_summary, validity

    rng = np.random.default_rng(2)
    ev = OmegaConf.create({"min_distance_angstrom": 1.8, "max_negative_fraction": 0.05})

    def environments(n: int) -> np.ndarray:
        directions = rng.standard_normal((n, 4, 3))
        return 2.35 * directions / np.linalg.norm(directions, axis=-1, keepdims=True)

    train, test, samples = environments(40), environments(20), environments(30)
    grams = gram_full(gram_upper(test))
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
    sample_metrics = {
        **distribution_metrics(samples, test, 2.85),
        **validity(samples, gram_full(gram_upper(samples)), np.zeros(len(samples)), ev),
        "novelty": novelty(samples, train, test, (4,)),
    }
    return {
        "decoding": "spectral",
        "reconstruction": {"n_environments": len(test), "rmsd_o3_angstrom_median": 0.2},
        "samples": {"latent_density": "gmm", "n_samples": len(samples), **sample_metrics},
        "noise_robustness": {
            "noise_angstrom": 0.02,
            "fraction_relabelled": 0.01,
            "input_rmsd_label_free_angstrom_median": 0.031,
            "input_rmsd_label_free_angstrom_p90": 0.052,
            "output_rmsd_label_free_angstrom_median": 0.044,
            "output_rmsd_label_free_angstrom_p90": 0.081,
        },
        "reconstruction_vs_baselines": comparison,
        "md_train_vs_test": distribution_metrics(train, test, 2.85),
        "md_test_validity": validity(test, grams, np.zeros(len(test)), ev),
    }


def motifs_generate_metrics() -> dict:
    """metrics/motifs/generate.json as ``matdisco.motifs.generate.generate`` assembles it: inpainting scores from
    ``motifs.scoring.inpainting_scores`` (second-shell atoms missing only for k = 1); interpolation and vacancy
    summaries by hand."""
    from matdisco.motifs.scoring import inpainting_scores

    rng = np.random.default_rng(3)
    inpainting = {}
    for k in (3, 2, 1):
        missing = rng.standard_normal((10, 4 - k, 3))
        bonded = np.arange(4 - k) < (2 if k == 1 else 4)  # k = 1: the third missing atom is a second-shell one
        bonded = np.broadcast_to(bonded, (10, 4 - k))
        inpainting[f"k{k}"] = {
            "n_environments": 10,
            "known_atoms_rmsd_angstrom_median": 0.01,
            **{
                name: inpainting_scores(missing + scale * rng.standard_normal(missing.shape), missing, bonded)
                for name, scale in (
                    ("model", 0.2),
                    ("random_baseline", 1.5),
                    ("mean_baseline", 1.0),
                    ("tetrahedral_baseline", 0.5),
                    ("nearest_training_baseline", 0.3),
                )
            },
            "fraction_model_beats_random": 0.9,
        }
    return {
        "samples": {"path": "results/motifs/samples.extxyz", "n_samples": 100, "latent_density": "gmm"},
        "interpolation": {
            "start_coordination": 4,
            "end_coordination": 5,
            "max_frame_step_rmsd_angstrom": 0.123,
            "mean_frame_step_rmsd_angstrom": 0.05,
            "max_frame_step_atom_displacement_angstrom": 0.4,
            "n_frames": 8,
            "fraction_frames_invalid": 0.125,
            "min_pair_distance_angstrom": 2.01,
            "end_rmsd_o3_angstrom": 0.07,
            "max_discarded_fraction": 0.0,
        },
        "inpainting": inpainting,
        "vacancy": {
            "cell": "cell_007.extxyz",
            "potential": "edip",
            "n_sites": 4,
            "hole_atoms": 5,
            "model_rmsd_angstrom_median": 0.21,
            "model_delta_energy_eV_median": 0.52,
            "model_relaxed_delta_energy_eV_median": 0.03,
            "model_relaxed_rmsd_angstrom_median": 0.11,
            "tetrahedral_growth_rmsd_angstrom_median": 0.31,
            "tetrahedral_growth_delta_energy_eV_median": 0.62,
            "tetrahedral_growth_relaxed_delta_energy_eV_median": 0.04,
            "tetrahedral_growth_relaxed_rmsd_angstrom_median": 0.12,
            "largest_hole_rmsd_angstrom_median": 0.97,
            "largest_hole_delta_energy_eV_median": 3.4,
            "largest_hole_relaxed_delta_energy_eV_median": 0.4,
            "largest_hole_relaxed_rmsd_angstrom_median": 0.8,
            "model_minus_largest_hole_rmsd_angstrom": {"mean": -0.76, "ci_low": -0.9, "ci_high": -0.6},
            "sites": [],
        },
    }


@pytest.fixture(scope="module")
def written() -> dict:
    """Every metrics file of the fixture tree (relative path -> content), built once."""
    from matdisco.hubbard.scoring import evaluation_markdown

    hubbard = hubbard_evaluate_results()
    return {
        "metrics/ionic/evaluate.json": ionic_evaluate_report(),
        "metrics/ionic/screening.json": ionic_screening_summary(),
        "metrics/hubbard/evaluate.json": {"variants": hubbard},
        "results/hubbard/evaluation.md": evaluation_markdown(hubbard),
        "metrics/motifs/structure.json": {"comparison": {"mean_coordination": {"ours": 3.97, "experiment": 3.88}}},
        "metrics/motifs/evaluate.json": motifs_evaluate_metrics(),
        "metrics/motifs/generate.json": motifs_generate_metrics(),
    }


@pytest.fixture
def repo(tmp_path: Path, written: dict) -> Path:
    """A tree with the metrics of every study; ion_identity, ionic_gnn and hubbard_v(_converged) are missing."""
    for relative, content in written.items():
        if relative.endswith(".json"):
            write_json(tmp_path, relative, content)
        else:
            (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / relative).write_text(content)
    tiny_png(tmp_path / "plots/ionic/parity.png")
    tiny_png(tmp_path / "plots/hubbard_ml/hubbard_u/parity_extract_split.png")
    (tmp_path / "plots/hubbard").mkdir(parents=True)
    (tmp_path / "plots/hubbard/data_report.md").write_text("# Hubbard data\n")
    (tmp_path / "results/ionic").mkdir(parents=True)
    (tmp_path / "results/ionic/model_comparison.md").write_text(
        "# comparison\n| model | RMSE |\n|---|---|\n| <b>x</b> | 0.812 |\n"
    )
    return tmp_path


def build(root: Path) -> str:
    page = root / "results/report/index.html"
    report.write_report(root, page, experiments=False)
    return page.read_text()


def section(page: str, study: str) -> str:
    match = re.search(rf'<section id="{study}">(.*?)</section>', page, re.S)
    assert match, f"no section for study {study}"
    return match.group(1)


def test_every_study_has_a_section_with_its_heading(repo):
    page = build(repo)
    for study, heading in STUDIES.items():
        assert f"<h2>{heading}" in section(page, study)
    assert '<section id="experiments">' in page


def interval(entry: dict, digits: int = 3, key: str = "value", signed: str = "") -> str:
    """``value [low, high]`` of a writer's interval entry, as the page shows it."""
    return "{:{s}.{d}f} [{:{s}.{d}f}, {:{s}.{d}f}]".format(
        entry[key], entry["ci_low"], entry["ci_high"], s=signed, d=digits
    )


def percent_interval(entry: dict) -> str:
    return " ".join(
        (f"{100 * entry['value']:.1f} %", f"[{100 * entry['ci_low']:.1f} %,", f"{100 * entry['ci_high']:.1f} %]")
    )


def row_of(section_html: str, first_cell: str) -> str:
    match = re.search(rf"<tr><td>{re.escape(html.escape(first_cell))}</td>.*?</tr>", section_html, re.S)
    assert match, f"no row starting with {first_cell!r}"
    return match.group(0)


def test_ionic_scores_sit_next_to_every_baseline_with_intervals(repo, written):
    ionic = section(build(repo), "ionic")
    evaluate = written["metrics/ionic/evaluate.json"]
    for name, entry in evaluate["predictors"].items():
        row = row_of(ionic, name)
        kfold = entry["kfold"]
        assert f"{kfold['rmse_mean']:.3f} \u00b1 {kfold['rmse_std']:.3f}" in row
        for metric in ("rmse_ln", "per_il_rmse_ln", "r2_298", "spearman_298", "r2_ln_lambda"):
            assert interval(entry["out_of_fold"][metric]) in row, (name, metric)
        assert f"<td>{entry['kind']}</td>" in row
    difference = evaluate["differences"]["ionic_additive_minus_ridge_additive"]
    row = row_of(ionic, "ionic_additive \u2212 ridge_additive")
    assert interval(difference["rmse_ln"], signed="+") in row
    assert f"<td>{difference['rmse_ln']['p_model_better']:.2f}</td>" in row
    assert "ionic_additive \u2212 temperature_only" in ionic
    assert "24 points of 8 ILs over 2 IL-grouped folds" in ionic and "3 IL(s) left out" in ionic
    assert "Digital Discovery 4" in ionic  # the literature figures of the file


def test_ionic_screening_shows_verdict_counts_and_the_melting_baselines(repo, written):
    ionic = section(build(repo), "ionic")
    screening = written["metrics/ionic/screening.json"]
    for verdict, n_passing in screening["passing"].items():
        assert f"<tr><td>{verdict}</td><td>{n_passing}</td><td>{screening['failing'][verdict]}</td></tr>" in ionic
    n_all, n_pairs = screening["n_passing_all"], screening["n_pairs"]
    assert f"<tr><td>every verdict</td><td>{n_all}</td><td>{n_pairs - n_all}</td></tr>" in ionic
    assert "<td>31.4</td>" in ionic and "<td>52.1</td>" in ionic and "<td>44.7</td>" in ionic
    assert "EMIM + DCA" in ionic and "without a prediction: 1" in ionic


def test_hubbard_model_sits_next_to_every_baseline_with_path_intervals(repo, written):
    from matdisco.hubbard.baselines import BASELINES

    hubbard = section(build(repo), "hubbard")
    schemes = written["metrics/hubbard/evaluate.json"]["variants"]["hubbard_u"]["schemes"]
    for holdout in ("extract_split", "lomo (pooled)"):
        entry, row = schemes[holdout], row_of(hubbard, holdout)
        model = entry["predictors"]["model"]
        assert f"<td>{entry['n_paths']}</td><td>{entry['n_distinct']}</td>" in row
        assert interval(model["mae_eV"]) in row and percent_interval(model["mare"]) in row
        for name in BASELINES:
            assert percent_interval(entry["predictors"][name]["mare"]) in row, (holdout, name)
            assert interval(entry["model_minus_baseline"][name], key="diff", signed="+") in row, (holdout, name)
    assert "lomo_NiO" not in re.sub(r"<details>.*?</details>", "", hubbard, flags=re.S)  # shown pooled only
    assert "strain_high: no training rows outside the block" in hubbard
    assert "baseline persistence" in hubbard and "hubbard_u (U, target next)" in hubbard


def test_motifs_model_sits_next_to_its_baselines(repo, written):
    motifs = section(build(repo), "motifs")
    evaluate, generate = written["metrics/motifs/evaluate.json"], written["metrics/motifs/generate.json"]
    for name, entry in evaluate["reconstruction_vs_baselines"].items():
        row = row_of(motifs, name)
        for stem in ("label_free_all", "label_free_shell1", "fixed_label_all", "fixed_label_shell1"):
            median, p90 = (entry[f"rmsd_{stem}_angstrom_{q}"] for q in ("median", "p90"))
            assert f"<td>{median:.2f} / {p90:.2f}</td>" in row, (name, stem)
    assert "label free shell1" in motifs and "fixed label all" in motifs
    samples = evaluate["samples"]
    assert f"<td>{samples['w1_distance_angstrom']:.3f}</td>" in row_of(motifs, "VAE samples (latent density gmm)")
    floor = row_of(motifs, "MD train vs MD test (baseline)")
    assert f"<td>{evaluate['md_train_vs_test']['w1_angle_deg']:.2f}</td>" in floor
    assert f"<td>{samples['novelty']['held_out_to_train_angstrom_median']:.3f}</td>" in floor
    assert "<td>0.03 / 0.05</td>" in motifs and "<td>0.04 / 0.08</td>" in motifs  # noise: input floor, output
    for k, groups in (("1", ("", "bonded_", "second_shell_")), ("2", ("",))):
        entry = generate["inpainting"][f"k{k}"]
        for prefix in groups:
            cells = "".join(
                f"<td>{entry[name][f'{prefix}rmsd_angstrom_median']:.3f}</td>"
                for name in (
                    "model",
                    "nearest_training_baseline",
                    "tetrahedral_baseline",
                    "random_baseline",
                    "mean_baseline",
                )
            )
            scored = f"{entry['model'][f'{prefix}n_atoms']} atoms" if prefix else "10 environments"
            assert re.search(rf"<tr><td>{k}</td><td>[^<]+</td><td>{scored}</td>{cells}<td>(90.0 %)?</td></tr>", motifs)
    assert motifs.count("<td>second shell</td>") == 1  # k = 2, 3: only bonded atoms missing, no group rows
    assert "<td>12.5 %</td>" in motifs and "<td>0.123</td>" in motifs  # interpolation: invalid frames, largest step
    assert "<tr><td>model</td><td>0.210</td><td>0.520</td>" in motifs
    assert "<tr><td>largest_hole</td><td>0.970</td><td>3.400</td>" in motifs
    assert "<tr><td>tetrahedral_growth</td><td>0.310</td><td>0.620</td>" in motifs
    assert "<td>model - largest_hole</td><td>-0.760 [-0.900, -0.600]</td>" in motifs


def test_published_figures_sit_next_to_ours(repo, written):
    page = build(repo)
    assert re.search(r"<td>4\.39</td><td>3\.77 \(rank 12 of 4321\)</td>", section(page, "ionic"))
    assert re.search(r"<td>2\.60</td><td>measured in the data: 2\.1 S/m at 298\.1 K</td>", section(page, "ionic"))
    mare = written["metrics/hubbard/evaluate.json"]["variants"]["hubbard_u"]["schemes"]["extract_split"]
    assert f"<td>3.0 %</td><td>{percent_interval(mare['predictors']['model']['mare'])}</td>" in section(page, "hubbard")
    assert re.search(r"<td>5\.0 %</td><td class=\"missing\">not computed</td>", section(page, "hubbard"))
    assert re.search(r"<td>3\.88</td><td>3\.97</td>", section(page, "motifs"))
    assert "npj Comput. Mater. 11, 19 (2025)" in page and "Phys. Rev. B 60, 13520" in page


def test_missing_values_are_shown_as_not_computed(repo):
    page = build(repo)
    ionic = section(page, "ionic")
    for name in ("ion_identity", "ionic_gnn"):  # expected predictors without metrics: every cell but the name
        assert row_of(ionic, name).count(NOT_COMPUTED) == 8
    hubbard = section(page, "hubbard")
    for variant in ("hubbard_v", "hubbard_u_converged", "hubbard_v_converged"):
        assert f"{variant} (not computed, target not computed)" in hubbard
    assert re.search(r"<tr><td>extract_split</td>(<td class=\"missing\">not computed</td>)+</tr>", hubbard)


def test_headline_holdouts_hide_the_folds_of_pooled_schemes():
    schemes = {"extract_split": {}, "strain_high": {}, "lomo_NiO": {}, "lomo_LiCoO2": {}, "lomo (pooled)": {}}
    assert report.headline_holdouts(schemes) == ["extract_split", "strain_high", "lomo (pooled)"]
    assert report.headline_holdouts({"lomo_NiO": {}}) == ["lomo_NiO"]  # a single fold, not pooled: shown


def test_fmt_interval_formats_values_differences_and_missing_bounds():
    entry = {"value": 0.01234, "ci_low": -0.002, "ci_high": 0.03}
    assert report.fmt_interval(entry) == "0.012 [-0.002, 0.030]"
    assert report.fmt_interval(entry, "pct", signed=True) == "+1.2 % [-0.2 %, +3.0 %]"
    assert report.fmt_interval({"diff": -0.5, "ci_low": None}, key="diff", signed=True) == "-0.500"
    assert report.fmt_interval({"value": float("nan")}) == NOT_COMPUTED and report.fmt_interval(None) == NOT_COMPUTED


def test_an_empty_tree_builds_a_page_of_not_computed(tmp_path):
    page = build(tmp_path)
    for study in STUDIES:
        assert NOT_COMPUTED in section(page, study)
    assert "No plots" in page


def test_a_broken_metrics_file_is_reported_not_fatal(repo):
    (repo / "metrics/motifs/evaluate.json").write_text("{not json")
    motifs = section(build(repo), "motifs")
    assert "unreadable" in motifs and NOT_COMPUTED in motifs


def test_plots_and_tables_are_relative_links_and_tables_are_escaped(repo):
    page = build(repo)
    assert '<img src="../../plots/ionic/parity.png"' in section(page, "ionic")
    assert '<img src="../../plots/hubbard_ml/hubbard_u/parity_extract_split.png"' in section(page, "hubbard")
    assert "&lt;b&gt;x&lt;/b&gt;" in section(page, "ionic")
    assert '<a href="../../plots/hubbard/data_report.md">' in section(page, "hubbard")


def test_the_page_loads_nothing_from_the_network_and_runs_no_script(repo):
    page = build(repo)
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_experiments_table_lists_changed_params_and_metrics():
    entries = [
        {
            "rev": "workspace",
            "data": {
                "params": {"params.yaml": {"data": {"ionic_gnn": {"hidden": 64}}}},
                "metrics": {"metrics/ionic/evaluate.json": {"data": {"rmse": 0.8}}},
            },
            "experiments": [
                {
                    "revs": [
                        {
                            "rev": "abcdef123456",
                            "name": "wide-gnn",
                            "data": {
                                "timestamp": "2026-12-01T10:00:00",
                                "params": {"params.yaml": {"data": {"ionic_gnn": {"hidden": 128}}}},
                                "metrics": {"metrics/ionic/evaluate.json": {"data": {"rmse": 0.7}}},
                            },
                        }
                    ]
                }
            ],
        }
    ]
    table = report.experiments_table(entries)
    assert table.rows == [
        [
            "wide-gnn",
            "abcdef1",
            "2026-12-01T10:00:00",
            "params.yaml:ionic_gnn.hidden = 128",
            "metrics/ionic/evaluate.json:rmse: 0.8 \u2192 0.7",
        ]
    ]


def test_experiments_section_says_why_when_dvc_is_unavailable():
    assert "dvc exp show failed" in report.render_experiments(
        None, "dvc exp show failed (exit 1): not a DVC repository"
    )
    assert "No DVC experiments" in report.render_experiments([{"rev": "workspace", "data": {}}], "")


def test_cli_report_writes_the_page(repo, capsys):
    out = repo / "page.html"
    assert main(["report", "--root", str(repo), "--out", str(out), "--no-experiments"]) == 0
    assert "ionic_additive \u2212 ridge_additive" in out.read_text() and str(out) in capsys.readouterr().out


def test_published_figures_match_the_repository_sources():
    """PUBLISHED quotes numbers the repository holds elsewhere; they must stay equal."""
    from matdisco.motifs.structure import REFERENCES

    ionic = yaml.safe_load((REPO / "conf/data/ionic.yaml").read_text())["screening"]["reference_pairs"]
    published = {(p.study, p.ours[1][-2] if p.study == "ionic" else p.quantity): p.published for p in PUBLISHED}
    for pair in ionic:
        assert published[("ionic", pair["label"])] == f"{pair['sigma_S_per_m']:.2f}"
    u, v = (100 * report.HUBBARD_PAPER_MARE[p] for p in ("U", "V"))
    assert f"MARE {u:g} % for U, {v:g} % for V" in (REPO / "README.md").read_text()
    hubbard = [p for p in PUBLISHED if p.study == "hubbard"]
    assert [(p.ours[1][1], p.published) for p in hubbard] == [("hubbard_u", f"{u:.1f} %"), ("hubbard_v", f"{v:.1f} %")]
    experiment = REFERENCES["experiment_laaziri_1999"]
    assert published[("motifs", "mean coordination")] == f"{experiment['mean_coordination']:.2f}"
    assert published[("motifs", "bond-angle standard deviation (degrees)")] == "{:.1f} - {:.1f}".format(
        *experiment["bond_angle_std_deg"]
    )
    assert published[("motifs", "RDF first peak (Angstrom)")] == f"{experiment['rdf_first_peak_angstrom']:.2f}"
    assert (
        published[("motifs", "fraction of coordination defects")]
        == f"< {100 * REFERENCES['gap_md_deringer_2018']['coordination_defect_fraction_below']:.1f} %"
    )
    assert (
        published[("motifs", "fraction of 5-fold atoms")]
        == f"{100 * REFERENCES['sw_fast_quench']['fraction_5fold']:.1f} %"
    )
    assert len([p for p in PUBLISHED if p.study == "ionic"]) == len(ionic)


def test_dvc_experiments_outside_a_dvc_repository_gives_a_reason_not_an_error(tmp_path):
    entries, why = report.dvc_experiments(tmp_path)
    assert entries is None and why.startswith("dvc exp show failed")
    assert html.escape(why) in report.render_experiments(entries, why)


def test_ionic_calibration_table_shows_half_widths_and_coverage_with_intervals():
    from matdisco.core.report import _ionic_calibration

    coverage = {"value": 0.912, "ci_low": 0.882, "ci_high": 0.94}
    evaluate = {
        "calibration": {
            "level": 0.9,
            "gbm_descriptors": {
                "half_width_ln": {"seen": 1.43, "unseen_ion": 1.56},
                "coverage": {"all": {"points": coverage, "ils": coverage}, "unseen_ion": {"ils": coverage}},
            },
            "ensemble_spread": {"ionic_gnn": {"points": coverage}},
        }
    }
    table = _ionic_calibration(evaluate)
    assert "90.0 %" in table.title and len(table.rows) == 1
    assert table.rows[0][:3] == ["gbm_descriptors", "1.43", "1.56"]
    assert table.rows[0][3] == "91.2 % [88.2 %, 94.0 %]"
    assert _ionic_calibration({}).rows == [[NOT_COMPUTED] * 6]
