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

from dataclasses import dataclass
from math import gcd

import numpy as np
import pandas as pd

from matdisco.ionic import keys
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
    "confident": "ensemble spread of ln sigma at most the allowed one (no prediction fails)",
    "within_sigma_range": "predicted sigma not above the highest measured sigma near the temperature (no prediction fails)",
}
PASSES_ALL = "passes_all"
PROTIC = "protic"
SINGLE_POINT_ION = "single_point_ion"
TM_PRED_K, TM_PRED_STD_K, TM_MEASURED_K = "tm_pred_K", "tm_pred_std_K", "tm_measured_K"
SIGMA_CAP_S_PER_M = "sigma_cap_S_per_m"
PRED_SIGMA_CAPPED_S_PER_M = "pred_sigma_capped_S_per_m"


@dataclass(frozen=True)
class VerdictRules:
    """Thresholds of the verdicts (``data.screening`` and ``data.melting.margin_K``)."""

    min_ils_per_ion: int  # in_domain: ILs of the data holding the ion
    min_points_per_ion: int  # in_domain: points of the data holding the ion
    max_spread_ln: float  # confident: ensemble std of ln sigma
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
            "confident": table[keys.PRED_LN_SIGMA_STD] <= rules.max_spread_ln,
            "within_sigma_range": table[keys.PRED_SIGMA_S_PER_M] <= cap,
            SIGMA_CAP_S_PER_M: cap,
            PRED_SIGMA_CAPPED_S_PER_M: np.minimum(table[keys.PRED_SIGMA_S_PER_M], cap),
        }
    )
    return out.assign(**{PASSES_ALL: out[list(VERDICTS)].all(axis=1)})


def assess(
    pairs: pd.DataFrame,
    ensemble: Ensemble,
    points: pd.DataFrame,
    melting: MeltingModel,
    rules: VerdictRules,
    scheme: str,
    temperatures_K: list[float] | None,
) -> pd.DataFrame:
    """Predictions and every verdict of ``pairs`` (from :func:`candidate_pairs` or :func:`pair_table`
    + :func:`identity_verdicts`) at every temperature; one row per pair and temperature (with
    ``temperatures_K`` None, one row per row of ``pairs``, at its ``temperature_K``)."""
    ions = sorted(set(pairs[keys.CATION_SMILES]) | set(pairs[keys.ANION_SMILES]))
    ion_terms, ion_unseen = per_ion_terms(ensemble, ions, scheme)
    pairs = melting_columns(domain_verdict(pairs, points, rules), melting)
    return temperature_verdicts(screen(ensemble, pairs, ion_terms, ion_unseen, temperatures_K), points, rules)


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
    the talk's reference pairs. ``context``: model, temperature_K, top_n, n_members, rules
    (:class:`VerdictRules` as dict), melting_cv (:func:`matdisco.ionic.melting.cross_validate`)."""
    cv, rules = context["melting_cv"], context["rules"]
    verdict = cv["liquid_verdict"]
    lines = [
        f"# Most conductive new ionic liquids ({context['model']}, {context['temperature_K']} K)",
        "",
        f"Only pairs passing every verdict are ranked: {counts['n_passing_all']} of {counts['n_pairs']} pairs.",
        "",
        _members_line(context["n_members"]),
        "",
        f"Liquid at {context['temperature_K']} K: measured Tm (melting_point.csv) below it, else a ridge "
        f"melting-point model (RDKit descriptors + Morgan counts) with Tm_pred + {rules['liquid_margin_K']:g} K below it. "
        f"Its error, {cv['n_folds']}-fold over {cv['n_salts']} salts (each salt, synonyms and resonance forms merged, in one fold): "
        f"RMSE {cv['ridge']['rmse_K']:.1f} K, MAE {cv['ridge']['mae_K']:.1f} K (training mean: RMSE {cv['mean']['rmse_K']:.1f} K). "
        f"The verdict out of fold: {verdict['n_called_liquid']} salts called liquid, precision {verdict['precision']:.2f}, "
        f"recall {verdict['recall']:.2f} (base rate {verdict['n_liquid'] / cv['n_salts']:.2f}): a conservative filter.",
        "",
        f"Domain: each ion in at least {rules['min_ils_per_ion']} ILs and {rules['min_points_per_ion']} points of the data. "
        f"Confident: ensemble std of ln sigma <= {rules['max_spread_ln']:g}. Sigma range: at most the highest measured sigma "
        f"within {rules['sigma_range_window_K']:g} K of the temperature ({ranked_cap(ranked):s}).",
        "",
        "| rank | cation | anion | sigma (S/m) | ln sigma +- std | class | Tm (K) | cation ILs / points | anion ILs / points |",
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
            f"{r[keys.PRED_LN_SIGMA]:.2f} +- {r[keys.PRED_LN_SIGMA_STD]:.2f} | {'protic*' if r[PROTIC] else 'aprotic'} | {tm} | "
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


def _members_line(n_members: int) -> str:
    """How many members the spread comes from; says so when fewer than the five asked for."""
    if n_members >= 5:
        return f"Ensemble spread from {n_members} members."
    return (
        f"Ensemble spread from {n_members} member(s): fewer than the 5 asked for, so the spread understates the model "
        f"uncertainty{' (with one member it is zero and the confidence verdict is void)' if n_members == 1 else ''}."
    )


def nearest_measured(table: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the measured point of the same salt (any resonance form) nearest to each row's
    temperature: ``measured_temperature_K`` and ``measured_sigma_S_per_m`` (NaN for new salts); of
    equally near points, the first in ``points``. One join, not one scan of ``points`` per row."""
    measured = pd.DataFrame(
        {
            keys.SALT_KEY: salt_keys(points).to_numpy(),
            "measured_temperature_K": points[keys.TEMPERATURE_K].to_numpy(),
            "measured_sigma_S_per_m": points[keys.SIGMA_S_PER_M].to_numpy(),
            "_point": np.arange(len(points)),
        }
    )
    rows = pd.DataFrame(
        {
            "_row": np.arange(len(table)),
            keys.SALT_KEY: table[keys.SALT_KEY].to_numpy(),
            "_T": table[keys.TEMPERATURE_K].to_numpy(),
        }
    )
    joined = rows.merge(measured, on=keys.SALT_KEY, how="inner")
    joined["_dT"] = (joined["measured_temperature_K"] - joined["_T"]).abs()
    nearest = joined.sort_values(["_row", "_dT", "_point"]).drop_duplicates("_row").set_index("_row")
    at = np.arange(len(table))
    return table.assign(
        measured_temperature_K=nearest["measured_temperature_K"].reindex(at).to_numpy(),
        measured_sigma_S_per_m=nearest["measured_sigma_S_per_m"].reindex(at).to_numpy(),
    )


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


def predictions_text(table: pd.DataFrame, n_members: int, rules: VerdictRules) -> str:
    """Plain-text block per row of :func:`assess`: sigma (S/m), ln sigma +- ensemble std, the
    melting point, the ions' support and every verdict (PASS / FAIL); protic rows get the caveat."""
    blocks = [
        f"{_members_line(n_members)}\nRules: liquid if measured Tm < T, else Tm_pred + {rules.liquid_margin_K:g} K < T; "
        f"each ion in >= {rules.min_ils_per_ion} ILs and >= {rules.min_points_per_ion} points; ensemble std <= "
        f"{rules.max_spread_ln:g} ln; sigma at most the highest measured within {rules.sigma_range_window_K:g} K of T."
    ]
    for _, r in table.iterrows():
        tm = (
            f"measured {r[TM_MEASURED_K]:.0f} K"
            if pd.notna(r[TM_MEASURED_K])
            else f"predicted {r[TM_PRED_K]:.0f} +- {r[TM_PRED_STD_K]:.0f} K"
        )
        lines = [
            f"{r[keys.CATION_NAME]} + {r[keys.ANION_NAME]} at {r[keys.TEMPERATURE_K]:.2f} K "
            f"({r[keys.CATION_SMILES]} . {r[keys.ANION_SMILES]}, {r['n_cation']}:{r['n_anion']})",
            f"  sigma {r[keys.PRED_SIGMA_S_PER_M]:.4g} S/m   ln sigma {r[keys.PRED_LN_SIGMA]:.3f} +- {r[keys.PRED_LN_SIGMA_STD]:.3f} (ensemble std)",
            f"  melting point {tm}; cation in {r['cation_n_ils']} ILs / {r['cation_n_points']} points, "
            f"anion in {r['anion_n_ils']} ILs / {r['anion_n_points']} points",
            f"  class: {'protic' if r[PROTIC] else 'aprotic'}",
        ]
        if pd.notna(r.get("measured_sigma_S_per_m")):
            lines.append(
                f"  measured in the data: {r['measured_sigma_S_per_m']:.4g} S/m at {r['measured_temperature_K']:.2f} K (nearest point)"
            )
        if not r.get(WITHIN_DATA_TEMPERATURES, True):
            lines.append(f"  extrapolated: outside the temperatures of the data, {r[DATA_TEMPERATURE_RANGE]} K")
        lines += [f"  {'PASS' if r[v] else 'FAIL'} {v}: {meaning}" for v, meaning in VERDICTS.items()]
        if not r["within_sigma_range"]:
            lines.append(
                f"  capped: {r[PRED_SIGMA_CAPPED_S_PER_M]:.3g} S/m is the highest measured sigma near this temperature"
            )
        if r[keys.UNSEEN_TYPES]:
            lines.append(f"  unseen atom types: {r[keys.UNSEEN_TYPES]}")
        if r[PROTIC]:
            lines.append(f"  caveat: {PROTIC_CAVEAT}")
        lines.append(f"  verdict: {'passes every verdict' if r[PASSES_ALL] else 'fails ' + failed_verdicts(r)}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
