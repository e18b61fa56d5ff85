"""Screening of every cation x anion pair absent from the data for high conductivity.

Ions are separate graphs inside a formula unit (no bonds between them), so the summed (A, B, C)
of a salt is exactly n_cation x (cation sum) + n_anion x (anion sum). The models therefore run
once per ion, and every pair and temperature costs a few arithmetic operations.
"""

from __future__ import annotations

from math import gcd

import numpy as np
import pandas as pd

from matdisco.ionic import keys
from matdisco.ionic.curation import canonical_smiles
from matdisco.ionic.data import ion_graphs
from matdisco.ionic.prediction import Ensemble, temperature_law_np


def candidate_pairs(ions: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """Every (cation, anion) of the ion table whose salt is not in ``points``, with stoichiometry."""
    cations = ions[ions[keys.ION_ROLE] == "cation"]
    anions = ions[ions[keys.ION_ROLE] == "anion"]
    measured = set(zip(points[keys.CATION_SMILES], points[keys.ANION_SMILES]))
    pairs = cations.merge(anions, how="cross", suffixes=("_cation", "_anion"))
    pairs = pairs.rename(
        columns={
            f"{keys.ION_SMILES}_cation": keys.CATION_SMILES,
            f"{keys.ION_SMILES}_anion": keys.ANION_SMILES,
            f"{keys.ION_NAME}_cation": keys.CATION_NAME,
            f"{keys.ION_NAME}_anion": keys.ANION_NAME,
        }
    )
    pairs = pairs[[(c, a) not in measured for c, a in zip(pairs[keys.CATION_SMILES], pairs[keys.ANION_SMILES])]]
    q_cation = pairs[f"{keys.ION_CHARGE}_cation"].to_numpy()
    q_anion = -pairs[f"{keys.ION_CHARGE}_anion"].to_numpy()
    common = np.array([gcd(int(c), int(a)) for c, a in zip(q_cation, q_anion)])
    pairs = pairs.assign(n_cation=q_anion // common, n_anion=q_cation // common)
    return pairs[[keys.CATION_NAME, keys.ANION_NAME, keys.CATION_SMILES, keys.ANION_SMILES, "n_cation", "n_anion"]].reset_index(drop=True)


def screen(ensemble: Ensemble, pairs: pd.DataFrame, ion_terms: dict[str, np.ndarray], ion_unseen: dict[str, list[str]], temperatures_K: list[float]) -> pd.DataFrame:
    """Ensemble mean and std of ln sigma and sigma (S/m) for every pair at every temperature.

    ``ion_terms[smiles]`` is [n_members, 3]; returns one row per pair and temperature.
    """
    cation_terms = np.stack([ion_terms[s] for s in pairs[keys.CATION_SMILES]], axis=1)  # [members, pairs, 3]
    anion_terms = np.stack([ion_terms[s] for s in pairs[keys.ANION_SMILES]], axis=1)
    salt_terms = pairs["n_cation"].to_numpy()[None, :, None] * cation_terms + pairs["n_anion"].to_numpy()[None, :, None] * anion_terms
    unseen = [" ".join(sorted(set(ion_unseen[c]) | set(ion_unseen[a]))) for c, a in zip(pairs[keys.CATION_SMILES], pairs[keys.ANION_SMILES])]
    t_ref = ensemble.members[0].temperature_reference_K
    frames = []
    for temperature in temperatures_K:
        tau = np.full(len(pairs), t_ref / temperature - 1.0)
        ln_sigma = np.stack([temperature_law_np(member_terms, tau) for member_terms in salt_terms])
        frames.append(
            pairs.assign(
                **{
                    keys.TEMPERATURE_K: temperature,
                    keys.PRED_LN_SIGMA: ln_sigma.mean(axis=0),
                    keys.PRED_LN_SIGMA_STD: ln_sigma.std(axis=0),
                    keys.PRED_SIGMA_S_PER_M: np.exp(ln_sigma.mean(axis=0)),
                    keys.UNSEEN_TYPES: unseen,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def per_ion_terms(ensemble: Ensemble, smiles: list[str], scheme: str) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    """Summed (A, B, C) per ion [n_members, 3] and the ion's unseen atom types."""
    graphs = ion_graphs(smiles, scheme)
    terms, unseen = ensemble.graph_terms([graphs[s] for s in smiles])
    return {s: terms[:, i] for i, s in enumerate(smiles)}, dict(zip(smiles, unseen))


def rank(table: pd.DataFrame, temperature_K: float) -> pd.DataFrame:
    """Rows at ``temperature_K`` sorted by predicted sigma (highest first), with a 1-based rank."""
    at_t = table[table[keys.TEMPERATURE_K] == temperature_K].sort_values(keys.PRED_LN_SIGMA, ascending=False, na_position="last")
    return at_t.assign(rank=np.arange(1, len(at_t) + 1)).reset_index(drop=True)


def locate_references(ranked: pd.DataFrame, points: pd.DataFrame, references: list[dict]) -> list[dict]:
    """Where the talk's top pairs land: our rank and sigma, or whether they are measured / unknown ions."""
    found = []
    for ref in references:
        cation, anion = canonical_smiles(ref["cation"], ref["label"]), canonical_smiles(ref["anion"], ref["label"])
        hit = ranked[(ranked[keys.CATION_SMILES] == cation) & (ranked[keys.ANION_SMILES] == anion)]
        measured = points[(points[keys.CATION_SMILES] == cation) & (points[keys.ANION_SMILES] == anion)]
        entry = {"label": ref["label"], "talk_sigma_S_per_m": ref["sigma_S_per_m"]}
        if len(hit):
            row = hit.iloc[0]
            entry.update(rank=int(row["rank"]), of=len(ranked), pred_sigma_S_per_m=float(row[keys.PRED_SIGMA_S_PER_M]), pred_ln_sigma_std=float(row[keys.PRED_LN_SIGMA_STD]))
        elif len(measured):
            entry.update(status="measured in the data (not a candidate)", measured_sigma_S_per_m_near_298K=float(measured.iloc[(measured[keys.TEMPERATURE_K] - 298.15).abs().argmin()][keys.SIGMA_S_PER_M]))
        else:
            entry.update(status="an ion of this pair is not in the curated data")
        found.append(entry)
    return found


def top_markdown(ranked: pd.DataFrame, references: list[dict], model_name: str, temperature_K: float, top_n: int) -> str:
    """Markdown top-N table and the talk's reference pairs."""
    lines = [
        f"# Most conductive new ionic liquids ({model_name}, {temperature_K} K)",
        "",
        "| rank | cation | anion | sigma (S/m) | ln sigma +- std | unseen atom types |",
        "|---:|---|---|---:|---|---|",
    ]
    for _, r in ranked.head(top_n).iterrows():
        lines.append(
            f"| {r['rank']} | {r[keys.CATION_NAME]} | {r[keys.ANION_NAME]} | {r[keys.PRED_SIGMA_S_PER_M]:.2f} | "
            f"{r[keys.PRED_LN_SIGMA]:.2f} +- {r[keys.PRED_LN_SIGMA_STD]:.2f} | {r[keys.UNSEEN_TYPES] or '-'} |"
        )
    lines += ["", "## The talk's top predictions in our ranking", "", "| pair | talk sigma (S/m) | ours |", "|---|---:|---|"]
    for ref in references:
        ours = f"rank {ref['rank']} of {ref['of']}, {ref['pred_sigma_S_per_m']:.2f} S/m" if "rank" in ref else ref["status"]
        lines.append(f"| {ref['label']} | {ref['talk_sigma_S_per_m']} | {ours} |")
    return "\n".join(lines) + "\n"
