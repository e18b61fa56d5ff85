"""The motifs section of the results page (:mod:`matdisco.core.report`): reconstruction against the no-model
baselines, noise robustness and samples against MD (``metrics/motifs/evaluate.json``, laid out by
:func:`matdisco.motifs.evaluate.evaluate_metrics`); inpainting against placement baselines, interpolation and
hole refilling (``generate.json``, :func:`matdisco.motifs.generate.generate_metrics`); and the published a-Si
structure next to ours (``structure.json``). Keys from :mod:`matdisco.motifs.keys`; lengths in Angstrom.
"""

from __future__ import annotations

from matdisco.core.report import NOT_COMPUTED, Published, Table, dig, fmt, fmt_interval, fmt_pair
from matdisco.motifs import keys

HEADING = "Amorphous-silicon motifs: a VAE of local environments"
EVALUATE = "metrics/motifs/evaluate.json"
GENERATE = "metrics/motifs/generate.json"
STRUCTURE = "metrics/motifs/structure.json"
LAAZIRI = "K. Laaziri et al., Phys. Rev. B 60, 13520 (1999), annealed a-Si (experiment)"
DERINGER = "V. L. Deringer et al., J. Phys. Chem. Lett. 9, 2879 (2018), GAP-MD a-Si"
SW_QUENCH = "Stillinger-Weber a-Si quenched fast (as quoted in Deringer et al. 2018)"

PUBLISHED = [
    Published(quantity, published, citation, (STRUCTURE, ("comparison", key, "ours"), kind))
    for quantity, published, citation, key, kind in (
        ("mean coordination", "3.88", LAAZIRI, "mean_coordination", "f2"),
        ("bond-angle standard deviation (degrees)", "9.6 - 10.5", LAAZIRI, "bond_angle_std_deg", "f1"),
        ("RDF first peak (Angstrom)", "2.35", LAAZIRI, "rdf_first_peak_angstrom", "f3"),
        ("fraction of coordination defects", "< 2.0 %", DERINGER, "fraction_defects", "pct"),
        ("fraction of 5-fold atoms", "12.0 %", SW_QUENCH, "fraction_5fold", "pct"),
    )
]
"""Published a-Si structure (matdisco.motifs.structure.REFERENCES; a test keeps them equal)."""

RECONSTRUCTION_ROWS = ("model", "mean_environment", "nearest_training_environment")
"""Predictors of ``reconstruction_vs_baselines`` listed first (then the PCA baseline(s) the file holds)."""
SAMPLE_ROWS = {keys.SAMPLES: "VAE samples", keys.SAMPLES_STANDARD_NORMAL: "VAE samples, z ~ N(0, 1)"}
INPAINTING_COLUMNS = ("model", "nearest_training_baseline", "tetrahedral_baseline", "random_baseline", "mean_baseline")
INPAINTED_GROUPS = {"bonded_": "bonded (first shell)", "second_shell_": "second shell"}
"""Groups of missing atoms scored apart by ``motifs.scoring.inpainting_scores`` (key prefixes), with their labels."""
VACANCY_COLUMNS = dict(
    zip(
        keys.VACANCY_SCORES,
        (
            "RMSD to the removed atoms, unrelaxed (Angstrom)",
            "energy change, unrelaxed (eV)",
            "energy change, relaxed (eV)",
            "RMSD after relaxation (Angstrom)",
        ),
    )
)
"""Column labels of the hole-refilling scores."""


def tables(metrics: dict) -> list[Table]:
    """Reconstruction against the no-model baselines, noise robustness, samples against MD (``evaluate.json``);
    inpainting against placement baselines, interpolation and vacancy refilling (``generate.json``)."""
    evaluate = metrics.get(EVALUATE)
    generate = metrics.get(GENERATE)
    return [
        reconstruction_table(evaluate),
        noise_table(evaluate),
        samples_table(evaluate),
        inpainting_table(generate),
        interpolation_table(generate),
        vacancy_table(generate),
        *(variant_table(metrics, variant) for variant in variant_names(metrics)),
    ]


def variant_names(metrics: dict) -> list[str]:
    """Data variants with metrics of their own (``metrics/motifs/<variant>/*.json``, e.g. the talk's setting)."""
    prefix = "metrics/motifs/"
    return sorted(
        {key[len(prefix) :].split("/")[0] for key in metrics if key.startswith(prefix) and key.count("/") == 3}
    )


def variant_table(metrics: dict, variant: str) -> Table:
    """The default and ``variant`` side by side on the same cells: reconstruction (cell folds and the test cell),
    samples, interpolation, inpainting by number of missing atoms (model against tetrahedral completion, the
    strongest placement baseline) and hole refilling."""
    sides = {
        "default": (metrics.get(EVALUATE), metrics.get(GENERATE)),
        variant: (
            metrics.get(f"metrics/motifs/{variant}/evaluate.json"),
            metrics.get(f"metrics/motifs/{variant}/generate.json"),
        ),
    }
    rows = [
        [label, *(cell(evaluate, generate) for evaluate, generate in sides.values())] for label, cell in VARIANT_ROWS
    ]
    for missing in (1, 2, 3):
        rows.append(
            [
                f"inpainting, {missing} atom(s) missing: model / tetrahedral completion, RMSD median (Angstrom)",
                *(_inpainting_pair(generate, missing) for _, generate in sides.values()),
            ]
        )
    return Table(
        f"The default against the {variant} setting (same cells, same scoring)",
        ["score", *sides],
        rows,
        note="Cell folds: a VAE per held-out cell, label-free RMSD over the setting's own neighbours; the interval "
        "is the model's median minus the best baseline's, 95 % over resampled cells. Invalid: decoded environments "
        "with atoms too close or a non-PSD Gram matrix.",
    )


def _best_fold_baseline(evaluate: object) -> str:
    """``name: model - name`` interval for the cell-fold baseline with the lowest median RMSD."""
    methods = dig(evaluate, (keys.CELL_FOLDS, "methods")) or {}
    baselines = {name: row for name, row in methods.items() if name != "model" and isinstance(row, dict)}
    if not baselines:
        return NOT_COMPUTED
    best = min(baselines, key=lambda name: dig(baselines[name], ("median_angstrom",)) or float("inf"))
    return f"{best}: {fmt_interval(dig(baselines[best], ('model_minus_this_median_angstrom',)), signed=True)}"


def _inpainting_pair(generate: object, missing: int) -> str:
    """``model / tetrahedral`` RMSD median of the inpainting entry with ``missing`` atoms missing per environment."""
    for entry in (dig(generate, (keys.INPAINTING,)) or {}).values():
        counts = [dig(entry, ("model", f"{group}n_atoms")) or 0 for group in INPAINTED_GROUPS]
        n_environments = dig(entry, ("n_environments",))
        if n_environments and sum(counts) == missing * n_environments:
            return fmt_pair(
                dig(entry, ("model", "rmsd_angstrom_median")),
                dig(entry, ("tetrahedral_baseline", "rmsd_angstrom_median")),
            )
    return NOT_COMPUTED


VARIANT_ROWS = [
    (
        "cell folds: model, label-free RMSD median (Angstrom)",
        lambda e, g: fmt(dig(e, (keys.CELL_FOLDS, "methods", "model", "median_angstrom"))),
    ),
    ("cell folds: best baseline, model - baseline (Angstrom)", lambda e, g: _best_fold_baseline(e)),
    (
        "test cell: model, fixed-label RMSD median (Angstrom)",
        lambda e, g: fmt(dig(e, (keys.RECONSTRUCTION_VS_BASELINES, "model", "rmsd_fixed_label_all_angstrom_median"))),
    ),
    (
        "test cell: model, label-free RMSD median (Angstrom)",
        lambda e, g: fmt(dig(e, (keys.RECONSTRUCTION_VS_BASELINES, "model", "rmsd_label_free_all_angstrom_median"))),
    ),
    (
        "samples (configured density): invalid",
        lambda e, g: fmt(dig(e, (keys.SAMPLES, "fraction_invalid")), "pct"),
    ),
    (
        "samples, z ~ N(0, 1): invalid",
        lambda e, g: fmt(dig(e, (keys.SAMPLES_STANDARD_NORMAL, "fraction_invalid")), "pct"),
    ),
    (
        "samples (configured density): W1 of all angles (deg)",
        lambda e, g: fmt(dig(e, (keys.SAMPLES, "w1_angle_deg"))),
    ),
    ("interpolation: frames invalid", lambda e, g: fmt(dig(g, (keys.INTERPOLATION, "fraction_frames_invalid")), "pct")),
    (
        "hole refilling: model - tetrahedral growth, energy before relaxation (eV)",
        lambda e, g: fmt_interval(
            dig(g, (keys.VACANCY, "model_minus_tetrahedral_growth_delta_energy_eV")), kind="f2", signed=True
        ),
    ),
]
"""(label, cell(evaluate.json, generate.json)) of each row of :func:`variant_table`."""


def reconstruction_table(evaluate: object) -> Table:
    """Label-free and fixed-label RMSD, over all neighbours and per shell, of the model and each baseline."""
    comparison = dig(evaluate, (keys.RECONSTRUCTION_VS_BASELINES,)) or {}
    stems = [
        stem
        for stem in dict.fromkeys(
            key.removesuffix("_angstrom_median")
            for row in comparison.values()
            for key in (row if isinstance(row, dict) else {})
            if key.startswith("rmsd_") and key.endswith("_angstrom_median")
        )
    ] or ["rmsd_label_free_all", "rmsd_fixed_label_all"]
    table = Table(
        "Reconstruction of held-out environments: O(3)-aligned RMSD about the centre (Angstrom, median / p90)",
        ["predictor", "role", *(stem.removeprefix("rmsd_").replace("_", " ") for stem in stems), "decoded invalid"],
        note="label free: minimum over relabellings within each shell; fixed label: neighbours in distance order. "
        f"Decoding: {fmt(dig(evaluate, (keys.DECODING,)), 'text')}.",
    )
    for name in [*RECONSTRUCTION_ROWS, *sorted(set(comparison) - set(RECONSTRUCTION_ROWS))]:
        row = comparison.get(name)
        table.rows.append(
            [
                name,
                "model" if name == "model" else "baseline",
                *(_median_p90(row, f"{stem}_angstrom") for stem in stems),
                fmt(dig(row, ("fraction_invalid",)), "pct"),
            ]
        )
    return table


def noise_table(evaluate: object) -> Table:
    """Label-free RMSD between clean and noisy environments (input) and between their reconstructions (output)."""
    noise = dig(evaluate, (keys.NOISE_ROBUSTNESS,))
    return Table(
        f"Noise robustness: every atom of a held-out cell moved by {fmt(dig(noise, ('noise_angstrom',)))} Angstrom rms",
        ["compared", "label-free RMSD (Angstrom, median / p90)"],
        [
            ["input: noisy vs clean environments (the floor)", _median_p90(noise, "input_rmsd_label_free_angstrom")],
            ["output: their reconstructions", _median_p90(noise, "output_rmsd_label_free_angstrom")],
        ],
        note=f"Environments with a neighbour slot moved by more than 10x the noise: {fmt(dig(noise, ('fraction_relabelled',)), 'pct')}.",
    )


def samples_table(evaluate: object) -> Table:
    """Samples against held-out MD: W1 distances, validity and novelty; MD train vs MD test is the floor."""
    table = Table(
        "Samples against held-out MD: Wasserstein-1 distances, validity, novelty (lower W1 is better)",
        [
            "environments",
            "W1 distances (Angstrom)",
            "W1 all angles (deg)",
            "W1 bond angles (deg)",
            "invalid",
            "nearest-training distance (Angstrom, median)",
            "near copies",
        ],
        note="MD train vs MD test is the floor: two sets of real environments differ this much (its validity and "
        "distance to training are those of the held-out MD). Near copies: samples nearer to training than the "
        "held-out 10th percentile.",
    )
    for name, label in SAMPLE_ROWS.items():
        row = dig(evaluate, (name,))
        density = fmt(dig(row, (keys.LATENT_DENSITY,)), "text")
        table.rows.append(
            [
                label if density == NOT_COMPUTED else f"{label} (latent density {density})",
                *_w1_cells(row),
                fmt(dig(row, ("fraction_invalid",)), "pct"),
                fmt(dig(row, (keys.NOVELTY, "sample_to_train_angstrom_median"))),
                fmt(dig(row, (keys.NOVELTY, "fraction_near_copies")), "pct"),
            ]
        )
    table.rows.append(
        [
            "MD train vs MD test (baseline)",
            *_w1_cells(dig(evaluate, (keys.MD_TRAIN_VS_TEST,))),
            fmt(dig(evaluate, (keys.MD_TEST_VALIDITY, "fraction_invalid")), "pct"),
            fmt(dig(evaluate, (keys.SAMPLES, keys.NOVELTY, "held_out_to_train_angstrom_median"))),
            "",
        ]
    )
    return table


def _w1_cells(row: object) -> list[str]:
    """W1 distances (Angstrom), all angles and bond angles (degrees) of one row of samples."""
    return [
        fmt(dig(row, ("w1_distance_angstrom",))),
        fmt(dig(row, ("w1_angle_deg",)), "f2"),
        fmt(dig(row, ("w1_bond_angle_deg",)), "f2"),
    ]


def inpainting_table(generate: object) -> Table:
    """Per number of known atoms: median RMSD of the model and each placement baseline over all missing atoms,
    and per group (bonded, second shell) where both groups were missing."""
    inpainting = dig(generate, (keys.INPAINTING,)) or {NOT_COMPUTED: None}
    table = Table(
        "Inpainting: missing atoms placed from k known ones, RMSD of the placed atoms after matching (Angstrom, median)",
        ["known atoms", "missing atoms", "scored", *INPAINTING_COLUMNS, "model beats random"],
        note="Baselines: tetrahedral completion of the known bonds, random and mean placement at the mean neighbour radius.",
    )
    for name in sorted(inpainting, key=lambda k: (len(k), k)):
        entry = inpainting[name]
        known = name.removeprefix("k")
        table.rows.append(
            [
                known,
                "all",
                f"{fmt(dig(entry, ('n_environments',)), 'int')} environments",
                *(fmt(dig(entry, (predictor, "rmsd_angstrom_median"))) for predictor in INPAINTING_COLUMNS),
                fmt(dig(entry, ("fraction_model_beats_random",)), "pct"),
            ]
        )
        n_atoms = {prefix: dig(entry, ("model", f"{prefix}n_atoms")) for prefix in INPAINTED_GROUPS}
        if all(isinstance(n, int) and n > 0 for n in n_atoms.values()):
            table.rows += [
                [
                    known,
                    label,
                    f"{n_atoms[prefix]} atoms",
                    *(fmt(dig(entry, (p, f"{prefix}rmsd_angstrom_median"))) for p in INPAINTING_COLUMNS),
                    "",
                ]
                for prefix, label in INPAINTED_GROUPS.items()
            ]
    return table


def interpolation_table(generate: object) -> Table:
    """Validity and smoothness of the latent interpolation between two held-out environments."""
    path = dig(generate, (keys.INTERPOLATION,))
    return Table(
        f"Latent interpolation: {fmt(dig(path, ('start_coordination',)), 'int')}-fold to "
        f"{fmt(dig(path, ('end_coordination',)), 'int')}-fold centre, {fmt(dig(path, ('n_frames',)), 'int')} frames",
        ["quantity", "value"],
        [
            ["frames invalid", fmt(dig(path, ("fraction_frames_invalid",)), "pct")],
            ["smallest pair distance (Angstrom)", fmt(dig(path, ("min_pair_distance_angstrom",)))],
            ["largest step between frames, RMSD (Angstrom)", fmt(dig(path, ("max_frame_step_rmsd_angstrom",)))],
            ["mean step between frames, RMSD (Angstrom)", fmt(dig(path, ("mean_frame_step_rmsd_angstrom",)))],
            ["largest step of one atom (Angstrom)", fmt(dig(path, ("max_frame_step_atom_displacement_angstrom",)))],
            ["last frame vs end environment, O(3) RMSD (Angstrom)", fmt(dig(path, ("end_rmsd_o3_angstrom",)))],
        ],
    )


def vacancy_table(generate: object) -> Table:
    """Holes refilled in a held-out cell: the model next to tetrahedral growth and largest-hole placement (medians
    over holes), and the model-minus-baseline mean with its interval from resampling holes."""
    vacancy = dig(generate, (keys.VACANCY,))
    table = Table(
        f"Hole refilling: {fmt(dig(vacancy, ('n_sites',)), 'int')} holes of {fmt(dig(vacancy, ('hole_atoms',)), 'int')} "
        f"atoms cut out of {fmt(dig(vacancy, ('cell',)), 'text')} and regrown (medians over holes; potential "
        f"{fmt(dig(vacancy, ('potential',)), 'text')}); the unrelaxed columns are the headline",
        ["predictor", *VACANCY_COLUMNS.values()],
        note="Rows 'model - X': mean over holes of the per-hole difference [95 % interval, holes resampled].",
    )
    for name in keys.VACANCY_METHODS:
        table.rows.append([name, *(fmt(dig(vacancy, (f"{name}_{key}_median",))) for key in VACANCY_COLUMNS)])
    for name in keys.VACANCY_METHODS[1:]:
        table.rows.append(
            [
                f"model - {name}",
                *(fmt_interval(dig(vacancy, (f"model_minus_{name}_{key}",)), signed=True) for key in VACANCY_COLUMNS),
            ]
        )
    return table


def _median_p90(row: object, stem: str) -> str:
    """``median / p90`` of ``<stem>_median`` and ``<stem>_p90`` in ``row``."""
    return fmt_pair(dig(row, (f"{stem}_median",)), dig(row, (f"{stem}_p90",)))
