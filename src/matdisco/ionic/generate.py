"""``ionic_generate``: every cation x anion pair of the data with its predictions and verdicts, ranked
with ``data.screening.model`` fitted on the default split's training ILs (a trained ensemble, or
``gbm_descriptors``, fitted here in seconds); and :func:`predict_pairs`, the same for pairs a user
names (``matdisco predict ionic``). Intervals: the model's conformal half-widths from
metrics/ionic/evaluate.json (``calibration``). Science in :mod:`matdisco.ionic.screening`."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from matdisco.core.config import artifact
from matdisco.core.io import atomic_path, atomic_write_json, atomic_write_text
from matdisco.ionic import keys
from matdisco.ionic.data import load_points, load_splits, model_dir, processed_dir
from matdisco.ionic.descriptors import GBM, FittedGbm, descriptor_gbm, fit_gbm
from matdisco.ionic.ions import ion_key
from matdisco.ionic.melting import MeltingModel
from matdisco.ionic.prediction import Ensemble
from matdisco.ionic.screening import (
    Screener,
    VerdictRules,
    assess,
    candidate_pairs,
    ensemble_predict,
    identity_verdicts,
    locate_references,
    model_line,
    nearest_measured,
    pair_table,
    rank,
    salt_keys,
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
    screener: Screener
    melting: MeltingModel
    rules: VerdictRules


def gbm_predict(model: FittedGbm):
    """``predict(pairs, temperatures_K)`` of a fitted descriptor GBM (one fit: no spread, no atom types);
    ``temperatures_K`` None: each row of ``pairs`` at its own ``temperature_K``."""

    def predict(pairs: pd.DataFrame, temperatures_K: list[float] | None) -> pd.DataFrame:
        grid = (
            [pairs[keys.TEMPERATURE_K].to_numpy(float)]
            if temperatures_K is None  # each row at its own temperature
            else [np.full(len(pairs), float(t)) for t in temperatures_K]
        )
        frames = []
        for temperature in grid:
            ln_sigma = model.predict(pairs[keys.CATION_SMILES], pairs[keys.ANION_SMILES], temperature)
            frames.append(
                pairs.assign(
                    **{
                        keys.TEMPERATURE_K: temperature,
                        keys.PRED_LN_SIGMA: ln_sigma,
                        keys.PRED_LN_SIGMA_STD: 0.0,
                        keys.PRED_SIGMA_S_PER_M: np.exp(ln_sigma),
                        keys.UNSEEN_TYPES: "",
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)

    return predict


def model_half_widths(cfg, model_name: str) -> tuple[dict[str, float] | None, float]:
    """The conformal half-widths of ``model_name`` (class -> ln units) and their level, from
    metrics/ionic/evaluate.json (``calibration``); (None, level asked) where it has none."""
    path = artifact(cfg, "metrics", "ionic", "evaluate.json")
    level = float(cfg.data.evaluate.calibration.level)
    calibration = json.loads(path.read_text()).get("calibration", {}) if path.is_file() else {}
    entry = calibration.get(model_name)
    if entry is None or float(calibration["level"]) != level:
        return None, level
    return {label: float(width) for label, width in entry["half_width_ln"].items()}, level


def blend_predict(predicts: list):
    """``predict(pairs, temperatures_K)`` of a blend: the plain mean of its members' ln sigma
    (as ``data.evaluate.blends`` scores it); unseen types of any member carried over."""

    def predict(pairs: pd.DataFrame, temperatures_K: list[float] | None) -> pd.DataFrame:
        tables = [member(pairs, temperatures_K) for member in predicts]
        ln_sigma = np.mean([t[keys.PRED_LN_SIGMA].to_numpy() for t in tables], axis=0)
        unseen = [
            " ".join(sorted(set(" ".join(words).split()))) for words in zip(*(t[keys.UNSEEN_TYPES] for t in tables))
        ]
        return tables[0].assign(
            **{
                keys.PRED_LN_SIGMA: ln_sigma,
                keys.PRED_LN_SIGMA_STD: 0.0,
                keys.PRED_SIGMA_S_PER_M: np.exp(ln_sigma),
                keys.UNSEEN_TYPES: unseen,
            }
        )

    return predict


def member_predict(cfg, name: str, training: pd.DataFrame) -> tuple:
    """(predict, description) of one predictor fitted on the default split's ``training`` points:
    the descriptor GBM (fitted now, seconds), a blend of ``data.evaluate.blends``, or a trained ensemble."""
    blends = cfg.data.evaluate.blends or {}
    if name == GBM:
        gbm = descriptor_gbm(cfg)
        model = fit_gbm(training, gbm.settings, float(cfg.data.evaluate.baseline_alpha[GBM]), gbm.features)
        return gbm_predict(model), f"{GBM} (gradient-boosted trees on RDKit descriptors, one fit)"
    if name in blends:
        members = [member_predict(cfg, member, training) for member in blends[name]]
        described = " and ".join(description for _, description in members)
        return blend_predict([predict for predict, _ in members]), f"{name} (mean ln sigma of {described})"
    ensemble = Ensemble.load(model_dir(cfg, name) / "default")
    return ensemble_predict(ensemble, cfg.data.typing.scheme), f"{name} (ensemble of {len(ensemble.members)} member(s))"


def load_screener(cfg, points: pd.DataFrame) -> Screener:
    """``data.screening.model`` fitted on the default split's training ILs (train + val)
    (:func:`member_predict`), with its calibrated half-widths."""
    name = cfg.data.screening.model
    default = load_splits(cfg)["default"]
    training = points[points[keys.IL_ID].isin(default["train"] + default["val"])]
    predict, description = member_predict(cfg, name, training)
    n_ils = training[keys.IL_ID].nunique()
    widths, level = model_half_widths(cfg, name)
    return Screener(
        predict=predict,
        training_salt_keys=set(salt_keys(training)),
        training_ion_keys={
            ion_key(s) for column in (keys.CATION_SMILES, keys.ANION_SMILES) for s in training[column].unique()
        },
        half_width_ln=widths,
        level=level,
        description=f"{description}, fitted on the {n_ils} training ILs of the default split",
    )


def load_inputs(cfg) -> ScreeningInputs:
    """Load the processed data and ``data.screening.model`` (:func:`load_screener`), and fit the
    melting-point model on the snapshot's melting_point.csv (seconds)."""
    settings = cfg.data.screening
    tables = load_snapshot(cfg.paths.raw, (*CONDUCTIVITY_TABLES, "melting_point.csv"))
    melting = MeltingModel.train(tables["melting_point.csv"], tables, dict(cfg.data.melting), seed=int(cfg.seed))
    rules = VerdictRules(
        min_ils_per_ion=int(settings.min_ils_per_ion),
        min_points_per_ion=int(settings.min_points_per_ion),
        max_half_width_ln=float(settings.max_half_width_ln),
        sigma_range_window_K=float(settings.sigma_range_window_K),
        liquid_margin_K=float(cfg.data.melting.margin_K),
    )
    points = load_points(cfg)
    return ScreeningInputs(
        points=points,
        ions=pd.read_parquet(processed_dir(cfg) / "ions.parquet"),
        screener=load_screener(cfg, points),
        melting=melting,
        rules=rules,
    )


def generate(cfg) -> dict:
    """Assess every pair of the ion table and rank those passing every verdict.

    Writes results/ionic/screening.csv (every pair and temperature with its verdict columns),
    results/ionic/screening_top20.md (the top ``data.screening.top_n``) and metrics/ionic/screening.json
    (counts per verdict, the melting model's CV error, the model and its calibrated half-widths).
    """
    settings = cfg.data.screening
    inputs = load_inputs(cfg)
    pairs = candidate_pairs(inputs.ions, inputs.points)
    temperatures_K = [float(t) for t in settings.temperatures_K]
    table = assess(pairs, inputs.screener, inputs.points, inputs.melting, inputs.rules, temperatures_K)
    ranked = rank(table, temperatures_K[0])
    references = locate_references(table, ranked, inputs.points, list(settings.reference_pairs), temperatures_K[0])
    counts = verdict_counts(table, temperatures_K[0])
    context = {
        "model": settings.model,
        "temperature_K": temperatures_K[0],
        "top_n": int(settings.top_n),
        "model_line": model_line(inputs.screener),
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
    summary = screening_metrics(
        model=context["model"],
        temperature_K=context["temperature_K"],
        rules=context["rules"],
        melting_cv=context["melting_cv"],
        model_description=inputs.screener.description,
        half_width_ln=inputs.screener.half_width_ln,
        n_temperatures=len(temperatures_K),
        counts=counts,
        top_pair=f"{top[keys.CATION_NAME]} + {top[keys.ANION_NAME]}" if top is not None else None,
        top_sigma_S_per_m=float(top[keys.PRED_SIGMA_S_PER_M]) if top is not None else None,
        talk_reference_pairs=references,
    )
    atomic_write_json(artifact(cfg, "metrics", "ionic", "screening.json"), summary)
    return {k: summary[k] for k in ("n_pairs", "n_passing_all", keys.TOP_PAIR, keys.TOP_SIGMA_S_PER_M)}


def screening_metrics(
    *,
    model: str,
    temperature_K: float,
    rules: dict,
    melting_cv: dict,
    model_description: str,
    half_width_ln: dict,
    n_temperatures: int,
    counts: dict,
    top_pair: str | None,
    top_sigma_S_per_m: float | None,
    talk_reference_pairs: list[dict],
) -> dict:
    """The layout of metrics/ionic/screening.json (the one place it is built; the results page,
    :mod:`matdisco.ionic.page`, reads it): the ranking model at ``temperature_K`` (K), the rules, the melting
    model's CV, the calibrated half-widths (ln), the verdict ``counts`` of
    :func:`~matdisco.ionic.screening.verdict_counts`, the top pair with its sigma (S/m) and the talk's pairs
    (:func:`~matdisco.ionic.screening.locate_references`)."""
    return {
        keys.MODEL: model,
        keys.TEMPERATURE_K: temperature_K,
        keys.RULES: rules,
        keys.MELTING_CV: melting_cv,
        keys.MODEL_DESCRIPTION: model_description,
        keys.HALF_WIDTH_LN: half_width_ln,
        keys.N_TEMPERATURES: n_temperatures,
        **counts,
        keys.TOP_PAIR: top_pair,
        keys.TOP_SIGMA_S_PER_M: top_sigma_S_per_m,
        keys.TALK_REFERENCE_PAIRS: talk_reference_pairs,
    }


def predict_pairs(cfg, requested: list[tuple[str, str, float]]) -> tuple[pd.DataFrame, ScreeningInputs]:
    """Predictions and every verdict of (cation SMILES, anion SMILES, temperature K) triples.

    SMILES are canonicalised; a pair that is not one cation and one anion of a neutral salt raises
    :class:`InputError`. Returns one row per triple, in order (with the nearest measured point of a
    salt already in the data), and the inputs used (screener, rules).
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
    table = assess(rows, inputs.screener, inputs.points, inputs.melting, inputs.rules, None)
    table = with_data_temperatures(nearest_measured(table, inputs.points), inputs.points)
    return wanted.merge(table, on=on, how="left"), inputs
