"""Screening of cation x anion pairs for high conductivity, each pair with its verdicts.

Ions are separate graphs inside a formula unit (no bonds between them), so the summed (A, B, C)
of a salt is exactly n_cation x (cation sum) + n_anion x (anion sum). The models therefore run
once per ion, and every pair and temperature costs a few arithmetic operations.

Every pair carries the verdicts of :data:`VERDICTS` (True = passes); the ranked list holds only the
pairs passing all of them. Identity is the InChIKey (:func:`matdisco.ionic.ions.ion_key`), so a
salt drawn with the charge on another nitrogen is the same salt. Protic/aprotic is a class, not a
verdict: protic pairs carry :data:`matdisco.ionic.ions.PROTIC_CAVEAT`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import gcd

import numpy as np
import pandas as pd

from matdisco.ionic import keys
from matdisco.ionic.calibration import calibration_class
from matdisco.ionic.curation import canonical_smiles, formal_charge
from matdisco.ionic.data import ion_graphs
from matdisco.ionic.ions import PROTIC_CAVEAT, ion_key, is_protic
from matdisco.ionic.melting import MeltingModel
from matdisco.ionic.prediction import Ensemble, temperature_law_np

VERDICTS = {
    "new_salt": "not measured in the data under any resonance form (salt InChIKeys)",
    "unique": "the one listed form of its salt (other resonance forms of the same salt are duplicates)",
    "likely_liquid": "liquid at the temperature: measured Tm < T, or predicted Tm + margin < T",
    "in_domain": "each ion backed by enough ILs and points of the data (no single-point ion)",
    "known_types": "no atom type unseen in training",
    "confident": "calibrated interval (conformal over held-out ILs) at most the allowed half-width",
    "within_sigma_range": "predicted sigma not above the highest measured sigma near the temperature (no prediction fails)",
}
PASSES_ALL = "passes_all"
PROTIC = "protic"
SINGLE_POINT_ION = "single_point_ion"
TM_PRED_K, TM_PRED_STD_K, TM_MEASURED_K = "tm_pred_K", "tm_pred_std_K", "tm_measured_K"
SIGMA_CAP_S_PER_M = "sigma_cap_S_per_m"
PRED_SIGMA_CAPPED_S_PER_M = "pred_sigma_capped_S_per_m"
TRAINING_IL = "training_il"  # bool: the salt is one of the ILs the model was fitted on (its prediction is a fit)
IONS_SEEN = "n_ions_seen"  # int 0-2: ions of the pair among the model's training ILs
HALF_WIDTH_LN = "half_width_ln"  # calibrated half-width of the stated interval of ln sigma (NaN: not calibrated)


@dataclass
class Screener:
    """A screening model: its predictions, what it was fitted on and its calibrated interval widths.

    ``predict(pairs, temperatures_K)`` returns one row per pair and temperature (``temperatures_K`` None:
    one per row of ``pairs``, at its ``temperature_K``) with pred_ln_sigma, pred_ln_sigma_std,
    pred_sigma_S_per_m and unseen_atom_types added (see :func:`screen`);
    ``training_salt_keys`` / ``training_ion_keys``: salt and ion InChIKeys of its training ILs;
    ``half_width_ln``: calibration class -> half-width (ln units) of the stated interval, with
    ``level`` its coverage (:mod:`matdisco.ionic.calibration`), or None when not calibrated;
    ``description``: what the model is, in words.
    """

    predict: Callable[[pd.DataFrame, list[float] | None], pd.DataFrame]
    training_salt_keys: set[str]
    training_ion_keys: set[str]
    half_width_ln: dict[str, float] | None
    level: float
    description: str


def training_columns(pairs: pd.DataFrame, screener: Screener) -> pd.DataFrame:
    """``pairs`` with ``training_il`` (the salt is a training IL), ``n_ions_seen`` and the calibrated
    ``half_width_ln`` of the pair's class (NaN without a calibration)."""
    n_seen = sum(
        pairs[column].map(lambda s: ion_key(s) in screener.training_ion_keys).astype(int)
        for column in (keys.CATION_SMILES, keys.ANION_SMILES)
    )
    widths = screener.half_width_ln or {}
    return pairs.assign(
        **{
            TRAINING_IL: pairs[keys.SALT_KEY].isin(screener.training_salt_keys),
            IONS_SEEN: n_seen,
            HALF_WIDTH_LN: pd.Series(calibration_class(n_seen), index=pairs.index).map(widths).astype(float),
        }
    )


@dataclass(frozen=True)
class VerdictRules:
    """Thresholds of the verdicts (``data.screening`` and ``data.melting.margin_K``)."""

    min_ils_per_ion: int  # in_domain: ILs of the data holding the ion
    min_points_per_ion: int  # in_domain: points of the data holding the ion
    max_half_width_ln: float  # confident: half-width of the calibrated interval of ln sigma
    sigma_range_window_K: float  # within_sigma_range: measured points this close to T set the cap
    liquid_margin_K: float  # likely_liquid: predicted Tm + this < T


def pair_table(cation_smiles: list[str], anion_smiles: list[str]) -> pd.DataFrame:
    """Pairs (element-wise) with stoichiometry of a neutral formula unit and the salt key.

    Returns columns cation_smiles, anion_smiles, n_cation, n_anion, salt_key (cation InChIKey +
    "." + anion InChIKey).
    """
    key = {s: ion_key(s) for s in set(cation_smiles) | set(anion_smiles)}
    charge = {s: formal_charge(s) for s in key}
    q_cation = np.array([charge[s] for s in cation_smiles], int)
    q_anion = -np.array([charge[s] for s in anion_smiles], int)
    common = np.array([gcd(int(c), int(a)) for c, a in zip(q_cation, q_anion)], int)
    return pd.DataFrame(
        {
            keys.CATION_SMILES: list(cation_smiles),
            keys.ANION_SMILES: list(anion_smiles),
            "n_cation": q_anion // common,
            "n_anion": q_cation // common,
            keys.SALT_KEY: [f"{key[c]}.{key[a]}" for c, a in zip(cation_smiles, anion_smiles)],
        }
    )


def candidate_pairs(ions: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """Every (cation, anion) of the ion table, named, with stoichiometry, salt key and the identity
    verdicts ``new_salt`` and ``unique`` (:func:`identity_verdicts`)."""
    cations = ions[ions[keys.ION_ROLE] == "cation"]
    anions = ions[ions[keys.ION_ROLE] == "anion"]
    grid = cations[[keys.ION_SMILES]].merge(anions[[keys.ION_SMILES]], how="cross", suffixes=("_cation", "_anion"))
    pairs = pair_table(list(grid[f"{keys.ION_SMILES}_cation"]), list(grid[f"{keys.ION_SMILES}_anion"]))
    return identity_verdicts(with_names(pairs, ions), points)


def with_names(pairs: pd.DataFrame, ions: pd.DataFrame) -> pd.DataFrame:
    """``pairs`` with cation and anion names from the ion table by InChIKey (the SMILES if unknown)."""
    name_of = {ion_key(s): n for s, n in zip(ions[keys.ION_SMILES], ions[keys.ION_NAME])}
    return pairs.assign(
        **{
            keys.CATION_NAME: [name_of.get(ion_key(s), s) for s in pairs[keys.CATION_SMILES]],
            keys.ANION_NAME: [name_of.get(ion_key(s), s) for s in pairs[keys.ANION_SMILES]],
        }
    )


def salt_keys(points: pd.DataFrame) -> pd.Series:
    """Salt key (cation InChIKey + "." + anion InChIKey) of every row of ``points``."""
    key = {s: ion_key(s) for s in set(points[keys.CATION_SMILES]) | set(points[keys.ANION_SMILES])}
    return points[keys.CATION_SMILES].map(key) + "." + points[keys.ANION_SMILES].map(key)


def identity_verdicts(pairs: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """``pairs`` with ``new_salt`` (its salt key is measured under no form) and ``unique`` (the
    listed form of its salt: the form whose ions hold the most points of the data, then the first
    by SMILES; the other forms are duplicates)."""
    measured = set(salt_keys(points))
    points_of = pd.concat([points[keys.CATION_SMILES], points[keys.ANION_SMILES]]).value_counts()
    support = pairs[keys.CATION_SMILES].map(points_of).fillna(0) + pairs[keys.ANION_SMILES].map(points_of).fillna(0)
    order = pairs.assign(_support=-support).sort_values(["_support", keys.CATION_SMILES, keys.ANION_SMILES]).index
    unique = pd.Series(False, index=pairs.index)
    unique[order[~pairs.loc[order, keys.SALT_KEY].duplicated().to_numpy()]] = True
    return pairs.assign(new_salt=~pairs[keys.SALT_KEY].isin(measured), unique=unique)


def ion_support(points: pd.DataFrame) -> pd.DataFrame:
    """Per ion InChIKey: ILs and points of the data holding it (resonance forms pooled)."""
    rows = []
    for column in (keys.CATION_SMILES, keys.ANION_SMILES):
        key = points[column].map({s: ion_key(s) for s in points[column].unique()})
        rows.append(pd.DataFrame({"ion_key": key, keys.IL_ID: points[keys.IL_ID]}))
    both = pd.concat(rows)
    return both.groupby("ion_key").agg(n_ils=(keys.IL_ID, "nunique"), n_points=(keys.IL_ID, "size"))


def domain_verdict(pairs: pd.DataFrame, points: pd.DataFrame, rules: VerdictRules) -> pd.DataFrame:
    """``pairs`` with the ILs and points backing each ion, ``single_point_ion`` (an ion resting on
    at most one point) and ``in_domain`` (both ions at or above the rules' ILs and points)."""
    support = ion_support(points)
    out = pairs.copy()
    for role, column in (("cation", keys.CATION_SMILES), ("anion", keys.ANION_SMILES)):
        key = out[column].map(ion_key)
        out[f"{role}_n_ils"] = key.map(support["n_ils"]).fillna(0).astype(int)
        out[f"{role}_n_points"] = key.map(support["n_points"]).fillna(0).astype(int)
    fewest_points = out[["cation_n_points", "anion_n_points"]].min(axis=1)
    fewest_ils = out[["cation_n_ils", "anion_n_ils"]].min(axis=1)
    out[SINGLE_POINT_ION] = fewest_points <= 1
    out["in_domain"] = (fewest_points >= rules.min_points_per_ion) & (fewest_ils >= rules.min_ils_per_ion)
    return out


def melting_columns(pairs: pd.DataFrame, melting: MeltingModel) -> pd.DataFrame:
    """``pairs`` with the protic class, predicted Tm (mean and std of the fold models, K) and the
    measured Tm where melting_point.csv has the salt (NaN otherwise)."""
    tm = [melting.tm_K(c, a) for c, a in zip(pairs[keys.CATION_SMILES], pairs[keys.ANION_SMILES])]
    protic = {s: is_protic(s) for s in pairs[keys.CATION_SMILES].unique()}
    return pairs.assign(
        **{
            PROTIC: pairs[keys.CATION_SMILES].map(protic),
            TM_PRED_K: [t[0] for t in tm],
            TM_PRED_STD_K: [t[1] for t in tm],
            TM_MEASURED_K: [t[2] for t in tm],
        }
    )


def screen(
    ensemble: Ensemble,
    pairs: pd.DataFrame,
    ion_terms: dict[str, np.ndarray],
    ion_unseen: dict[str, list[str]],
    temperatures_K: list[float] | None,
) -> pd.DataFrame:
    """Ensemble mean and std of ln sigma and sigma (S/m) for every pair at every temperature.

    ``ion_terms[smiles]`` is [n_members, 3]; returns one row per pair and temperature. With
    ``temperatures_K`` None, ``pairs`` holds a ``temperature_K`` column: one row per row of ``pairs``.
    """
    cation_terms = np.stack([ion_terms[s] for s in pairs[keys.CATION_SMILES]], axis=1)  # [members, pairs, 3]
    anion_terms = np.stack([ion_terms[s] for s in pairs[keys.ANION_SMILES]], axis=1)
    salt_terms = (
        pairs["n_cation"].to_numpy()[None, :, None] * cation_terms
        + pairs["n_anion"].to_numpy()[None, :, None] * anion_terms
    )
    unseen = [
        " ".join(sorted(set(ion_unseen[c]) | set(ion_unseen[a])))
        for c, a in zip(pairs[keys.CATION_SMILES], pairs[keys.ANION_SMILES])
    ]
    t_ref = ensemble.members[0].temperature_reference_K
    grid = (
        [(pairs, pairs[keys.TEMPERATURE_K].to_numpy(float))]
        if temperatures_K is None
        else [(pairs.assign(**{keys.TEMPERATURE_K: t}), np.full(len(pairs), t)) for t in temperatures_K]
    )
    frames = []
    for rows, temperature in grid:
        tau = t_ref / temperature - 1.0
        ln_sigma = np.stack([temperature_law_np(member_terms, tau) for member_terms in salt_terms])
        frames.append(
            rows.assign(
                **{
                    keys.PRED_LN_SIGMA: ln_sigma.mean(axis=0),
                    keys.PRED_LN_SIGMA_STD: ln_sigma.std(axis=0),
                    keys.PRED_SIGMA_S_PER_M: np.exp(ln_sigma.mean(axis=0)),
                    keys.UNSEEN_TYPES: unseen,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def per_ion_terms(
    ensemble: Ensemble, smiles: list[str], scheme: str
) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    """Summed (A, B, C) per ion [n_members, 3] and the ion's unseen atom types."""
    graphs = ion_graphs(smiles, scheme)
    terms, unseen = ensemble.graph_terms([graphs[s] for s in smiles])
    return {s: terms[:, i] for i, s in enumerate(smiles)}, dict(zip(smiles, unseen))


def sigma_cap_S_per_m(points: pd.DataFrame, temperatures_K: pd.Series, window_K: float) -> np.ndarray:
    """Highest measured sigma (S/m) within ``window_K`` of each temperature (the overall highest
    where no point is that close): the training range a prediction should not leave."""
    measured_T = points[keys.TEMPERATURE_K].to_numpy()
    measured_sigma = points[keys.SIGMA_S_PER_M].to_numpy()
    cap = {}
    for T in temperatures_K.unique():
        near = np.abs(measured_T - T) <= window_K
        cap[T] = float(measured_sigma[near].max() if near.any() else measured_sigma.max())
    return temperatures_K.map(cap).to_numpy()


def temperature_verdicts(table: pd.DataFrame, points: pd.DataFrame, rules: VerdictRules) -> pd.DataFrame:
    """Rows of :func:`screen` (with :func:`melting_columns`) given the verdicts that depend on the
    temperature or the prediction, the sigma cap and the capped prediction, and ``passes_all``."""
    T = table[keys.TEMPERATURE_K]
    measured_tm = table[TM_MEASURED_K]
    liquid = np.where(measured_tm.notna(), measured_tm < T, table[TM_PRED_K] + rules.liquid_margin_K < T)
    cap = sigma_cap_S_per_m(points, T, rules.sigma_range_window_K)
    out = table.assign(
        **{
            "likely_liquid": liquid.astype(bool),
            "known_types": table[keys.UNSEEN_TYPES] == "",
            "confident": table[HALF_WIDTH_LN].fillna(np.inf) <= rules.max_half_width_ln,
            "within_sigma_range": table[keys.PRED_SIGMA_S_PER_M] <= cap,
            SIGMA_CAP_S_PER_M: cap,
            PRED_SIGMA_CAPPED_S_PER_M: np.minimum(table[keys.PRED_SIGMA_S_PER_M], cap),
        }
    )
    return out.assign(**{PASSES_ALL: out[list(VERDICTS)].all(axis=1)})


def ensemble_predict(ensemble: Ensemble, scheme: str) -> Callable[[pd.DataFrame, list[float]], pd.DataFrame]:
    """``predict(pairs, temperatures_K)`` of an ensemble: per-ion (A, B, C) sums, then :func:`screen`."""

    def predict(pairs: pd.DataFrame, temperatures_K: list[float] | None) -> pd.DataFrame:
        ions = sorted(set(pairs[keys.CATION_SMILES]) | set(pairs[keys.ANION_SMILES]))
        ion_terms, ion_unseen = per_ion_terms(ensemble, ions, scheme)
        return screen(ensemble, pairs, ion_terms, ion_unseen, temperatures_K)

    return predict


def assess(
    pairs: pd.DataFrame,
    screener: Screener,
    points: pd.DataFrame,
    melting: MeltingModel,
    rules: VerdictRules,
    temperatures_K: list[float] | None,
) -> pd.DataFrame:
    """Predictions and every verdict of ``pairs`` (from :func:`candidate_pairs` or :func:`pair_table`
    + :func:`identity_verdicts`) at every temperature; one row per pair and temperature (with
    ``temperatures_K`` None, one row per row of ``pairs``, at its ``temperature_K``)."""
    pairs = training_columns(melting_columns(domain_verdict(pairs, points, rules), melting), screener)
    return temperature_verdicts(screener.predict(pairs, temperatures_K), points, rules)


def rank(table: pd.DataFrame, temperature_K: float) -> pd.DataFrame:
    """Rows at ``temperature_K`` passing every verdict, sorted by predicted sigma (highest first), with a 1-based rank."""
    at_t = table[(table[keys.TEMPERATURE_K] == temperature_K) & table[PASSES_ALL]]
    at_t = at_t.sort_values(keys.PRED_LN_SIGMA, ascending=False)
    return at_t.assign(rank=np.arange(1, len(at_t) + 1)).reset_index(drop=True)


def verdict_counts(table: pd.DataFrame, temperature_K: float) -> dict:
    """Pairs at ``temperature_K`` passing each verdict, passing all, protic, resting on a single-point ion."""
    at_t = table[table[keys.TEMPERATURE_K] == temperature_K]
    counts = {verdict: int(at_t[verdict].sum()) for verdict in VERDICTS}
    passing = at_t[at_t[PASSES_ALL]]
    return {
        "n_pairs": len(at_t),
        "passing": counts,
        "failing": {verdict: len(at_t) - n for verdict, n in counts.items()},
        "n_passing_all": len(passing),
        "n_protic": int(at_t[PROTIC].sum()),
        "n_protic_passing_all": int(passing[PROTIC].sum()),
        "n_single_point_ion": int(at_t[SINGLE_POINT_ION].sum()),
        "n_capped_at_sigma_range": int((at_t[keys.PRED_SIGMA_S_PER_M] > at_t[SIGMA_CAP_S_PER_M]).sum()),
        "n_without_prediction": int(at_t[keys.PRED_SIGMA_S_PER_M].isna().sum()),
    }


def failed_verdicts(row: pd.Series) -> str:
    """Names of the verdicts a row fails, space-separated ('' when it passes all)."""
    return " ".join(v for v in VERDICTS if not bool(row[v]))


def locate_references(
    table: pd.DataFrame, ranked: pd.DataFrame, points: pd.DataFrame, references: list[dict], temperature_K: float
) -> list[dict]:
    """Where the talk's top pairs land (by salt InChIKey) at the ranking ``temperature_K``: our rank
    among passing pairs, or their measured sigma, or the verdicts they fail, or that an ion is not in the grid."""
    measured_key = salt_keys(points)
    found = []
    for ref in references:
        cation, anion = canonical_smiles(ref["cation"], ref["label"]), canonical_smiles(ref["anion"], ref["label"])
        key = pair_table([cation], [anion])[keys.SALT_KEY].iloc[0]
        entry = {"label": ref["label"], "talk_sigma_S_per_m": ref["sigma_S_per_m"]}
        hit = ranked[ranked[keys.SALT_KEY] == key]
        row = table[(table[keys.SALT_KEY] == key) & (table[keys.TEMPERATURE_K] == temperature_K)]
        measured = points[measured_key == key]
        if len(hit):
            entry.update(
                rank=int(hit.iloc[0]["rank"]),
                of=len(ranked),
                pred_sigma_S_per_m=float(hit.iloc[0][keys.PRED_SIGMA_S_PER_M]),
            )
        elif len(measured):
            near = measured.iloc[(measured[keys.TEMPERATURE_K] - 298.15).abs().argmin()]
            entry.update(
                status=f"measured in the data: {near[keys.SIGMA_S_PER_M]:.3g} S/m at {near[keys.TEMPERATURE_K]:.1f} K"
            )
        elif len(row):
            r = row.iloc[0]
            entry.update(status=f"predicted {r[keys.PRED_SIGMA_S_PER_M]:.2f} S/m, fails: {failed_verdicts(r)}")
        else:
            entry.update(status="an ion of this pair is not in the curated data")
        found.append(entry)
    return found


def top_markdown(ranked: pd.DataFrame, counts: dict, references: list[dict], context: dict) -> str:
    """Markdown of the top pairs (all passing every verdict), the verdict rules and counts, and
    the talk's reference pairs. ``context``: model, model_line (:func:`model_line`), temperature_K, top_n, rules
    (:class:`VerdictRules` as dict), melting_cv (:func:`matdisco.ionic.melting.cross_validate`)."""
    cv, rules = context["melting_cv"], context["rules"]
    verdict = cv["liquid_verdict"]
    lines = [
        f"# Most conductive new ionic liquids ({context['model']}, {context['temperature_K']} K)",
        "",
        f"Only pairs passing every verdict are ranked: {counts['n_passing_all']} of {counts['n_pairs']} pairs.",
        "",
        context["model_line"],
        "",
        f"Liquid at {context['temperature_K']} K: measured Tm (melting_point.csv) below it, else a ridge "
        f"melting-point model (RDKit descriptors + Morgan counts) with Tm_pred + {rules['liquid_margin_K']:g} K below it. "
        f"Its error, {cv['n_folds']}-fold over {cv['n_salts']} salts (each salt, synonyms and resonance forms merged, in one fold): "
        f"RMSE {cv['ridge']['rmse_K']:.1f} K, MAE {cv['ridge']['mae_K']:.1f} K (training mean: RMSE {cv['mean']['rmse_K']:.1f} K). "
        f"The verdict out of fold: {verdict['n_called_liquid']} salts called liquid, precision {verdict['precision']:.2f}, "
        f"recall {verdict['recall']:.2f} (base rate {verdict['n_liquid'] / cv['n_salts']:.2f}): a conservative filter.",
        "",
        f"Domain: each ion in at least {rules['min_ils_per_ion']} ILs and {rules['min_points_per_ion']} points of the data. "
        f"Confident: half-width of the calibrated interval of ln sigma <= {rules['max_half_width_ln']:g}. Sigma range: at most the highest measured sigma "
        f"within {rules['sigma_range_window_K']:g} K of the temperature ({ranked_cap(ranked):s}).",
        "",
        "| rank | cation | anion | sigma (S/m) | ln sigma +- half-width | class | Tm (K) | cation ILs / points | anion ILs / points |",
        "|---:|---|---|---:|---|---|---|---|---|",
    ]
    for _, r in ranked.head(context["top_n"]).iterrows():
        tm = (
            f"{r[TM_MEASURED_K]:.0f} measured"
            if pd.notna(r[TM_MEASURED_K])
            else f"{r[TM_PRED_K]:.0f} +- {r[TM_PRED_STD_K]:.0f} pred."
        )
        lines.append(
            f"| {r['rank']} | {r[keys.CATION_NAME]} | {r[keys.ANION_NAME]} | {r[keys.PRED_SIGMA_S_PER_M]:.2f} | "
            f"{r[keys.PRED_LN_SIGMA]:.2f} +- {r[HALF_WIDTH_LN]:.2f} | {'protic*' if r[PROTIC] else 'aprotic'} | {tm} | "
            f"{r['cation_n_ils']} / {r['cation_n_points']} | {r['anion_n_ils']} / {r['anion_n_points']} |"
        )
    lines += [
        "",
        f"\\* {PROTIC_CAVEAT}.",
        "",
        "## Verdicts (pairs at the ranking temperature)",
        "",
        "| verdict | meaning | pass | fail |",
        "|---|---|---:|---:|",
    ]
    lines += [
        f"| {v} | {meaning} | {counts['passing'][v]} | {counts['failing'][v]} |" for v, meaning in VERDICTS.items()
    ]
    lines += [
        "",
        f"Protic pairs: {counts['n_protic']} ({counts['n_protic_passing_all']} passing all). "
        f"Pairs with a single-point ion: {counts['n_single_point_ion']}. Predictions above the sigma range (capped, flagged): "
        f"{counts['n_capped_at_sigma_range']}. Pairs without a prediction (atom types the model has no parameters for): "
        f"{counts['n_without_prediction']}.",
    ]
    lines += [
        "",
        "## The talk's top predictions in our ranking",
        "",
        "| pair | talk sigma (S/m) | ours |",
        "|---|---:|---|",
    ]
    for ref in references:
        ours = (
            f"rank {ref['rank']} of {ref['of']}, {ref['pred_sigma_S_per_m']:.2f} S/m"
            if "rank" in ref
            else ref["status"]
        )
        lines.append(f"| {ref['label']} | {ref['talk_sigma_S_per_m']} | {ours} |")
    return "\n".join(lines) + "\n"


def ranked_cap(ranked: pd.DataFrame) -> str:
    """The sigma cap of the ranked rows, in words."""
    return f"{ranked[SIGMA_CAP_S_PER_M].iloc[0]:.2f} S/m here" if len(ranked) else "no pair passes"


def model_line(screener: Screener) -> str:
    """What the screening model is and what its stated intervals mean."""
    if screener.half_width_ln is None:
        interval = (
            "No calibrated intervals (run ionic_evaluate): intervals are not stated and no pair is judged confident."
        )
    else:
        widths = ", ".join(f"{label} {width:.2f}" for label, width in screener.half_width_ln.items())
        interval = (
            f"Intervals: {screener.level:.0%} split-conformal over held-out ILs (half-width in ln sigma by class: {widths}; "
            "seen = both ions among the model's training ILs)."
        )
    return f"Model: {screener.description}. {interval}"


MEASURED_WINDOW_K = 1.0  # measured points this close to the asked temperature are summarised


DATA_TEMPERATURE_RANGE = "data_temperature_range_K"
WITHIN_DATA_TEMPERATURES = "within_data_temperatures"


def with_data_temperatures(table: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """``table`` with ``within_data_temperatures`` (the row's temperature lies within the lowest and
    highest measured temperature of ``points``, the data the models were fitted to) and that range (K)."""
    low_K, high_K = float(points[keys.TEMPERATURE_K].min()), float(points[keys.TEMPERATURE_K].max())
    return table.assign(
        **{
            WITHIN_DATA_TEMPERATURES: table[keys.TEMPERATURE_K].between(low_K, high_K),
            DATA_TEMPERATURE_RANGE: f"{low_K:.2f}-{high_K:.2f}",
        }
    )


def nearest_measured(table: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """``table`` with what the data hold of the same salt (any resonance form): ``measured_n_points``
    (all its points), ``measured_n_near`` and ``measured_median_S_per_m``, ``measured_min_S_per_m``,
    ``measured_max_S_per_m`` of its points within :data:`MEASURED_WINDOW_K` of each row's temperature,
    and the nearest point (``measured_temperature_K``, ``measured_sigma_S_per_m``; NaN for new salts)."""
    measured = pd.DataFrame(
        {
            keys.SALT_KEY: salt_keys(points).to_numpy(),
            "_Tm": points[keys.TEMPERATURE_K].to_numpy(float),
            "_sigma": points[keys.SIGMA_S_PER_M].to_numpy(float),
            "_point": np.arange(len(points)),
        }
    )
    rows = pd.DataFrame(
        {
            "_row": np.arange(len(table)),
            keys.SALT_KEY: table[keys.SALT_KEY].to_numpy(),
            "_T": table[keys.TEMPERATURE_K].to_numpy(float),
        }
    )
    joined = rows.merge(measured, on=keys.SALT_KEY, how="inner")  # one join, not a scan of points per row
    joined["_dT"] = (joined["_Tm"] - joined["_T"]).abs()
    near = joined[joined["_dT"] <= MEASURED_WINDOW_K].groupby("_row")["_sigma"]
    nearest = joined.sort_values(["_row", "_dT", "_point"]).drop_duplicates("_row").set_index("_row")
    at = np.arange(len(table))
    return table.assign(
        measured_n_points=joined.groupby("_row").size().reindex(at, fill_value=0).to_numpy(),
        measured_n_near=near.size().reindex(at, fill_value=0).to_numpy(),
        measured_median_S_per_m=near.median().reindex(at).to_numpy(),
        measured_min_S_per_m=near.min().reindex(at).to_numpy(),
        measured_max_S_per_m=near.max().reindex(at).to_numpy(),
        measured_temperature_K=nearest["_Tm"].reindex(at).to_numpy(),
        measured_sigma_S_per_m=nearest["_sigma"].reindex(at).to_numpy(),
    )


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def prediction_line(r: pd.Series, level: float) -> str:
    """The predicted sigma with its calibrated interval (or why there is none) and the ensemble spread."""
    line = f"  predicted sigma {r[keys.PRED_SIGMA_S_PER_M]:.3g} S/m (ln sigma {r[keys.PRED_LN_SIGMA]:.2f})"
    width = r[HALF_WIDTH_LN]
    if np.isfinite(width):
        low, high = np.exp(r[keys.PRED_LN_SIGMA] - width), np.exp(r[keys.PRED_LN_SIGMA] + width)
        seen = "both ions seen" if r[IONS_SEEN] == 2 else f"{2 - r[IONS_SEEN]} ion(s) unseen"
        line += f", {level:.0%} interval {low:.3g} to {high:.3g} S/m (ln +- {width:.2f}, {seen} in training)"
    else:
        line += ", no calibrated interval"
    if r[keys.PRED_LN_SIGMA_STD] > 0:
        line += f"; ensemble std {r[keys.PRED_LN_SIGMA_STD]:.3f} ln (spread of the members, not an error bar)"
    return line


def measured_line(r: pd.Series) -> str:
    """Whether the salt is measured, and what near the asked temperature."""
    if r["measured_n_points"] == 0:
        return "  measured: no (no point of this salt under any resonance form)"
    if r["measured_n_near"]:
        near = f"{r['measured_n_near']} point(s) within {MEASURED_WINDOW_K:g} K, median {r['measured_median_S_per_m']:.3g} S/m"
        if r["measured_n_near"] > 1:
            near += f" (range {r['measured_min_S_per_m']:.3g} to {r['measured_max_S_per_m']:.3g})"
    else:
        near = (
            f"none within {MEASURED_WINDOW_K:g} K; nearest {r['measured_sigma_S_per_m']:.3g} S/m at "
            f"{r['measured_temperature_K']:.2f} K"
        )
    return f"  measured: yes, {near}; {r['measured_n_points']} points of this salt in the data"


def verdict_lines(r: pd.Series, rules: VerdictRules) -> list[str]:
    """One line per verdict: its name, yes (passes) or no, and the facts behind it."""
    T = r[keys.TEMPERATURE_K]
    if pd.notna(r[TM_MEASURED_K]):
        liquid = f"measured Tm {r[TM_MEASURED_K]:.0f} K {'<' if r['likely_liquid'] else '>='} {T:.2f} K"
    else:
        liquid = (
            f"predicted Tm {r[TM_PRED_K]:.0f} +- {r[TM_PRED_STD_K]:.0f} K, plus {rules.liquid_margin_K:g} K margin, "
            f"{'<' if r['likely_liquid'] else '>='} {T:.2f} K"
        )
    width = r[HALF_WIDTH_LN]
    confident = (
        f"half-width {width:.2f} ln (a factor {np.exp(width):.1f}) {'<=' if r['confident'] else '>'} allowed "
        f"{rules.max_half_width_ln:g}"
        if np.isfinite(width)
        else "no calibrated interval"
    )
    facts = {
        "new_salt": "not measured under any resonance form" if r["new_salt"] else "measured (see above)",
        "unique": "the listed form of this salt"
        if r["unique"]
        else "another resonance form of this salt is the listed one",
        "likely_liquid": liquid,
        "in_domain": f"cation in {r['cation_n_ils']} ILs / {r['cation_n_points']} points, anion in {r['anion_n_ils']} ILs / "
        f"{r['anion_n_points']} points; needs >= {rules.min_ils_per_ion} ILs and >= {rules.min_points_per_ion} points each",
        "known_types": f"unseen atom types: {r[keys.UNSEEN_TYPES]}"
        if r[keys.UNSEEN_TYPES]
        else "every atom type seen in training",
        "confident": confident,
        "within_sigma_range": f"highest measured sigma within {rules.sigma_range_window_K:g} K: {r[SIGMA_CAP_S_PER_M]:.3g} S/m"
        + ("" if r["within_sigma_range"] else "; capped to it"),
    }
    return [f"    {verdict}: {_yes_no(r[verdict])} ({facts[verdict]})" for verdict in VERDICTS]


def predictions_text(table: pd.DataFrame, screener: Screener, rules: VerdictRules) -> str:
    """Plain-text block per row of :func:`assess` (with :func:`nearest_measured`): the prediction with
    its calibrated interval, what the data hold of the salt, whether it was a training IL of the
    model, the melting point, and every verdict with the facts behind it; protic rows get the caveat."""
    blocks = [model_line(screener)]
    for _, r in table.iterrows():
        lines = [
            f"{r[keys.CATION_NAME]} + {r[keys.ANION_NAME]} at {r[keys.TEMPERATURE_K]:.2f} K "
            f"({r[keys.CATION_SMILES]} . {r[keys.ANION_SMILES]}, {r['n_cation']}:{r['n_anion']})",
            prediction_line(r, screener.level),
            measured_line(r),
            f"  training IL of the model: {_yes_no(r[TRAINING_IL])}"
            + (" (the prediction is a fit to its points, not a test)" if r[TRAINING_IL] else ""),
            f"  class: {'protic' if r[PROTIC] else 'aprotic'}",
            "  verdicts (yes = passes):",
            *verdict_lines(r, rules),
        ]
        if not r.get(WITHIN_DATA_TEMPERATURES, True):
            lines.append(f"  extrapolated: outside the temperatures of the data, {r[DATA_TEMPERATURE_RANGE]} K")
        if r[PROTIC]:
            lines.append(f"  caveat: {PROTIC_CAVEAT}")
        lines.append(f"  overall: {'passes every verdict' if r[PASSES_ALL] else 'fails ' + failed_verdicts(r)}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
