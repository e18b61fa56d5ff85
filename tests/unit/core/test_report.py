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


def fold_metrics(rmse: float) -> dict:
    return {
        "kfold": {"rmse_mean": rmse, "rmse_std": 0.05, "mae_mean": rmse / 2, "r2_mean": 0.9, "r2_std": 0.01},
        "out_of_fold": {"rmse": rmse + 0.01},
        "default_test": {"rmse": rmse + 0.02},
    }


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A tree with some metrics of every study; ionic_gnn, hubbard_v and motifs inpainting are missing."""
    write_json(
        tmp_path,
        "metrics/ionic/evaluate.json",
        {
            "models": {"ionic_additive": fold_metrics(0.812), "ridge_additive": fold_metrics(0.934)},
            "out_of_fold_minus_ionic_additive": {
                "ridge_additive": {"rmse": {"diff": 0.122, "ci_low": 0.05, "ci_high": 0.2}}
            },
            "n_points_scored_per_model": 1234,
            "n_ils_excluded_unseen_types": 3,
        },
    )
    write_json(
        tmp_path,
        "metrics/ionic/screening.json",
        {
            "model": "ionic_gnn",
            "n_pairs": 4321,
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
                {"label": "thiocyanate + pyrrolidin-1-ium", "status": "measured in the data (not a candidate)"},
            ],
        },
    )
    write_json(
        tmp_path,
        "metrics/hubbard/hubbard_u_evaluate.json",
        {
            "paper_mare": 0.03,
            "schemes": {
                "by_path": {
                    "all": {"n": 40, "mae_eV": 0.0456, "mare": 0.0117},
                    "baseline_species_mean": {"mare": 0.0889},
                    "baselines": {"persistence": {"mare": 0.0222}},
                }
            },
        },
    )
    write_json(
        tmp_path,
        "metrics/motifs/structure.json",
        {"comparison": {"mean_coordination": {"ours": 3.97, "experiment": 3.88}}},
    )
    write_json(
        tmp_path,
        "metrics/motifs/evaluate.json",
        {
            "reconstruction_vs_baselines": {
                "model": {"rmsd_label_free_all_angstrom_median": 0.61, "rmsd_label_free_all_angstrom_p90": 0.99},
                "pca_8": {"rmsd_label_free_all_angstrom_median": 0.42},
            },
            "md_train_vs_test": {"w1_distance_angstrom": 0.0123},
        },
    )
    tiny_png(tmp_path / "plots/ionic/parity.png")
    tiny_png(tmp_path / "plots/hubbard_ml/hubbard_u/parity_by_path.png")
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


def test_headline_numbers_appear_next_to_their_baselines(repo):
    page = build(repo)
    ionic, hubbard, motifs = (section(page, s) for s in ("ionic", "hubbard", "motifs"))
    assert "0.812 \u00b1 0.050" in ionic and "0.934 \u00b1 0.050" in ionic  # model and ridge baseline, k-fold RMSE
    assert "+0.122 [+0.050, +0.200]" in ionic and "1234 points" in ionic
    assert "1.2 %" in hubbard and "8.9 %" in hubbard and "2.2 %" in hubbard and "baseline MARE: persistence" in hubbard
    assert "0.61 / 0.99" in motifs and "pca_8" in motifs and "0.012" in motifs


def test_published_figures_sit_next_to_ours(repo):
    page = build(repo)
    assert re.search(r"<td>4\.39</td><td>3\.77 \(rank 12 of 4321\)</td>", section(page, "ionic"))
    assert re.search(r"<td>2\.60</td><td>measured in the data \(not a candidate\)</td>", section(page, "ionic"))
    assert re.search(r"<td>3\.0 %</td><td>1\.2 %</td>", section(page, "hubbard"))
    assert re.search(r"<td>3\.88</td><td>3\.97</td>", section(page, "motifs"))
    assert "npj Comput. Mater. 11, 19 (2025)" in page and "Phys. Rev. B 60, 13520" in page


def test_missing_values_are_shown_as_not_computed(repo):
    page = build(repo)
    ionic = section(page, "ionic")
    gnn_row = re.search(r"<tr><td>ionic_gnn</td>.*?</tr>", ionic).group(0)  # expected model, no metrics
    assert gnn_row.count(NOT_COMPUTED) == 6
    assert re.search(
        r"<tr><td>hubbard_v</td><td>held-out paths</td>(<td class=\"missing\">not computed</td>)+</tr>",
        section(page, "hubbard"),
    )
    assert f'<td class="missing">{NOT_COMPUTED}</td>' in section(page, "motifs")  # no inpainting metrics


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
    assert '<img src="../../plots/hubbard_ml/hubbard_u/parity_by_path.png"' in section(page, "hubbard")
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
    assert "0.812" in out.read_text() and str(out) in capsys.readouterr().out


def test_published_figures_match_the_repository_sources():
    """PUBLISHED quotes numbers the repository holds elsewhere; they must stay equal."""
    from matdisco.motifs.structure import REFERENCES

    hubbard = yaml.safe_load((REPO / "conf/data/hubbard.yaml").read_text())["evaluate"]
    ionic = yaml.safe_load((REPO / "conf/data/ionic.yaml").read_text())["screening"]["reference_pairs"]
    published = {(p.study, p.ours[1][-2] if p.study == "ionic" else p.quantity): p.published for p in PUBLISHED}
    for pair in ionic:
        assert published[("ionic", pair["label"])] == f"{pair['sigma_S_per_m']:.2f}"
    for kind in ("u", "v"):
        entry = next(p for p in PUBLISHED if p.ours[0] == f"metrics/hubbard/hubbard_{kind}_evaluate.json")
        assert entry.published == f"{100 * hubbard[kind]['paper_mare']:.1f} %"
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
