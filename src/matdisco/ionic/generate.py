"""``ionic_generate``: every cation x anion pair of the data with its predictions and verdicts, ranked
with the default-split ensemble of ``data.screening.model``; and :func:`predict_pairs`, the same
for pairs a user names (``matdisco predict ionic``). Science in :mod:`matdisco.ionic.screening`."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from matdisco.core.config import artifact
from matdisco.core.io import atomic_path, atomic_write_json, atomic_write_text
from matdisco.ionic import keys
from matdisco.ionic.data import load_points, model_dir, processed_dir
from matdisco.ionic.melting import MeltingModel
from matdisco.ionic.prediction import Ensemble
from matdisco.ionic.screening import (
    VerdictRules,
    assess,
    candidate_pairs,
    identity_verdicts,
    locate_references,
    nearest_measured,
    pair_table,
    rank,
    top_markdown,
    verdict_counts,
    with_data_temperatures,
    with_names,
)
from matdisco.ionic.sources import CONDUCTIVITY_TABLES, load_snapshot


@dataclass
class ScreeningInputs:
    """What every verdict needs: the curated points and ions, the ensemble, the melting model, the rules."""

    points: pd.DataFrame
    ions: pd.DataFrame
    ensemble: Ensemble
    melting: MeltingModel
    rules: VerdictRules
    scheme: str


def load_inputs(cfg) -> ScreeningInputs:
    """Load the processed data and ``data.screening.model``'s default-split ensemble (paths.models),
    and fit the melting-point model on the snapshot's melting_point.csv (seconds)."""
    settings = cfg.data.screening
    tables = load_snapshot(cfg.paths.raw, (*CONDUCTIVITY_TABLES, "melting_point.csv"))
    melting = MeltingModel.train(tables["melting_point.csv"], tables, dict(cfg.data.melting), seed=int(cfg.seed))
    rules = VerdictRules(
        min_ils_per_ion=int(settings.min_ils_per_ion),
        min_points_per_ion=int(settings.min_points_per_ion),
        max_spread_ln=float(settings.max_spread_ln),
        sigma_range_window_K=float(settings.sigma_range_window_K),
        liquid_margin_K=float(cfg.data.melting.margin_K),
    )
    return ScreeningInputs(
        points=load_points(cfg),
        ions=pd.read_parquet(processed_dir(cfg) / "ions.parquet"),
        ensemble=Ensemble.load(model_dir(cfg, settings.model) / "default"),
        melting=melting,
        rules=rules,
        scheme=cfg.data.typing.scheme,
    )


def generate(cfg) -> dict:
    """Assess every pair of the ion table and rank those passing every verdict.

    Writes results/ionic/screening.csv (every pair and temperature with its verdict columns),
    results/ionic/screening_top20.md (the top ``data.screening.top_n``) and metrics/ionic/screening.json
    (counts per verdict, the melting model's CV error, the ensemble size).
    """
    settings = cfg.data.screening
    inputs = load_inputs(cfg)
    pairs = candidate_pairs(inputs.ions, inputs.points)
    temperatures_K = [float(t) for t in settings.temperatures_K]
    table = assess(pairs, inputs.ensemble, inputs.points, inputs.melting, inputs.rules, inputs.scheme, temperatures_K)
    ranked = rank(table, temperatures_K[0])
    references = locate_references(table, ranked, inputs.points, list(settings.reference_pairs), temperatures_K[0])
    counts = verdict_counts(table, temperatures_K[0])
    context = {
        "model": settings.model,
        "temperature_K": temperatures_K[0],
        "top_n": int(settings.top_n),
        "n_members": len(inputs.ensemble.members),
        "rules": asdict(inputs.rules),
        "melting_cv": inputs.melting.cv,
    }
    with atomic_path(artifact(cfg, "results", "ionic", "screening.csv")) as tmp:
        table.sort_values(
            [keys.TEMPERATURE_K, "passes_all", keys.PRED_LN_SIGMA], ascending=[True, False, False]
        ).to_csv(tmp, index=False)
    atomic_write_text(
        artifact(cfg, "results", "ionic", "screening_top20.md"), top_markdown(ranked, counts, references, context)
    )
    top = ranked.iloc[0] if len(ranked) else None
    summary = {
        **{k: v for k, v in context.items() if k != "top_n"},
        "ensemble_note": "fewer than 5 members" if context["n_members"] < 5 else "",
        "n_temperatures": len(temperatures_K),
        **counts,
        "top_pair": f"{top[keys.CATION_NAME]} + {top[keys.ANION_NAME]}" if top is not None else None,
        "top_sigma_S_per_m": float(top[keys.PRED_SIGMA_S_PER_M]) if top is not None else None,
        "talk_reference_pairs": references,
    }
    atomic_write_json(artifact(cfg, "metrics", "ionic", "screening.json"), summary)
    return {k: summary[k] for k in ("n_pairs", "n_passing_all", "top_pair", "top_sigma_S_per_m")}


def predict_pairs(cfg, requested: list[tuple[str, str, float]]) -> tuple[pd.DataFrame, ScreeningInputs]:
    """Predictions and every verdict of (cation SMILES, anion SMILES, temperature K) triples.

    SMILES are canonicalised; a pair that is not one cation and one anion of a neutral salt raises
    :class:`InputError`. Returns one row per triple, in order (with the nearest measured point of a
    salt already in the data), and the inputs used (ensemble, rules).
    """
    from matdisco.ionic.curation import salt_of_fragments

    unique_pairs = list(dict.fromkeys((c, a) for c, a, _ in requested))  # each distinct pair parsed once
    salt_of = {
        (c, a): salt_of_fragments([*c.split("."), *a.split(".")], where=f"pair {c} + {a}") for c, a in unique_pairs
    }
    salts = [salt_of[(c, a)] for c, a, _ in requested]
    inputs = load_inputs(cfg)
    unique = list(dict.fromkeys((s.cation_smiles, s.anion_smiles) for s in salts))
    pairs = with_names(pair_table([c for c, _ in unique], [a for _, a in unique]), inputs.ions)
    pairs = identity_verdicts(pairs, inputs.points)
    wanted = pd.DataFrame(
        {
            keys.CATION_SMILES: [s.cation_smiles for s in salts],
            keys.ANION_SMILES: [s.anion_smiles for s in salts],
            keys.TEMPERATURE_K: [float(t) for _, _, t in requested],
        }
    )
    on = [keys.CATION_SMILES, keys.ANION_SMILES, keys.TEMPERATURE_K]
    rows = pairs.merge(wanted.drop_duplicates(), on=on[:2])  # each distinct (pair, temperature) once
    table = assess(rows, inputs.ensemble, inputs.points, inputs.melting, inputs.rules, inputs.scheme, None)
    table = with_data_temperatures(nearest_measured(table, inputs.points), inputs.points)
    return wanted.merge(table, on=on, how="left"), inputs
