"""From the raw ILThermo snapshot to a curated table of pure-IL conductivity points.

Steps, each counted in the report: map salt names to SMILES (ilthermopy's compound table first,
then a split of the name into a salty cation name + anion name), parse and split each salt into one
cation and one anion species with a charge-balanced formula unit, then apply the point rules
(non-positive sigma, pressure far from ambient, implausible values, exact duplicates, points of a
non-liquid branch).

Non-liquid branch: ILThermo mixes liquid and crystal-phase (or mislabelled) series of the same salt.
A liquid's ln(sigma) rises smoothly with T (Vogel-Fulcher-Tammann; at most ~0.3 per K even near the
glass transition), so a point lying far below another measurement of the same IL within a few
kelvin belongs to another phase: e.g. EMIM BF4 below its 288 K melting point has a liquid series
(supercooled) and a crystal series about 6 ln units lower, which merge at the melting point.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from math import gcd

import numpy as np
import pandas as pd
from rdkit import Chem, RDLogger

from matdisco.core.errors import InputError
from matdisco.ionic import keys

RDLogger.DisableLog("rdApp.*")
AMBIENT_PRESSURE_KPA = 101.325


@dataclass(frozen=True)
class Salt:
    """One formula unit: ``n_cation`` cations and ``n_anion`` anions, net charge zero."""

    cation_smiles: str
    anion_smiles: str
    n_cation: int
    n_anion: int

    @property
    def smiles(self) -> str:
        """Canonical SMILES of the formula unit, ions joined by '.'."""
        return ".".join([self.cation_smiles] * self.n_cation + [self.anion_smiles] * self.n_anion)

    @property
    def il_id(self) -> str:
        """Stable short id derived from the formula-unit SMILES (synonymous names share it)."""
        return "IL" + hashlib.md5(self.smiles.encode()).hexdigest()[:8]


@dataclass
class CurationReport:
    """Counts of points and ILs kept and dropped per rule, and the names that could not be used."""

    n_points_raw: int = 0
    n_salt_names_raw: int = 0
    dropped_points: dict[str, int] = field(default_factory=dict)
    dropped_ils: dict[str, int] = field(default_factory=dict)
    unmapped_names: list[str] = field(default_factory=list)
    non_liquid_points: dict[str, int] = field(default_factory=dict)
    rejected_names: dict[str, str] = field(default_factory=dict)
    n_points_kept: int = 0
    n_ils_kept: int = 0
    n_synonym_names_merged: int = 0

    def as_dict(self) -> dict:
        """Plain dict (JSON)."""
        return dict(self.__dict__)

    def rejection_summary(self) -> str:
        """One line: how many salt names were rejected, unmapped and kept, with the count per reason."""
        reasons = Counter(re.sub(r"\s*'[^']*'", "", why.split(" in salt ")[0]) for why in self.rejected_names.values())
        why = ", ".join(f"{n} {reason}" for reason, n in reasons.most_common()) or "none"
        return (f"{len(self.rejected_names)} of {self.n_salt_names_raw} salt names rejected ({why}), "
                f"{len(self.unmapped_names)} unmapped; {self.n_ils_kept} ILs kept")

    def as_markdown(self) -> str:
        """Human-readable report."""
        lines = [
            "# Ionic-liquid conductivity: curation report",
            "",
            f"Raw snapshot: {self.n_points_raw} points, {self.n_salt_names_raw} salt names.",
            f"Kept: **{self.n_points_kept} points, {self.n_ils_kept} ionic liquids** "
            f"({self.n_synonym_names_merged} synonymous names merged into the same IL).",
            "",
            "| rule | points dropped | ILs lost entirely |",
            "|---|---:|---:|",
        ]
        lines += [f"| {rule} | {n} | {self.dropped_ils.get(rule, 0)} |" for rule, n in self.dropped_points.items()]
        lines += ["", f"## Points dropped as a non-liquid branch, per salt ({len(self.non_liquid_points)})", ""]
        lines += [f"- {name}: {n}" for name, n in self.non_liquid_points.items()] or ["(none)"]
        lines += ["", f"## Names with no SMILES ({len(self.unmapped_names)})", ""]
        lines += [f"- {name}" for name in self.unmapped_names] or ["(none)"]
        lines += ["", f"## Names rejected after mapping ({len(self.rejected_names)})", ""]
        lines += [f"- {name}: {why}" for name, why in self.rejected_names.items()] or ["(none)"]
        return "\n".join(lines) + "\n"


def canonical_smiles(smiles: str, where: str) -> str:
    """RDKit canonical SMILES; :class:`InputError` naming ``where`` if RDKit cannot parse it."""
    mol = Chem.MolFromSmiles(smiles) if isinstance(smiles, str) and smiles else None
    if mol is None:
        raise InputError(f"invalid SMILES {smiles!r}", where=where, expected="a SMILES string RDKit can parse")
    return Chem.MolToSmiles(mol)


def split_salt(smiles: str, where: str) -> Salt:
    """Split a salt SMILES into one cation and one anion species with a neutral formula unit.

    Raises :class:`InputError` naming ``where`` for unparsable SMILES, neutral fragments, several
    cation or anion species, or a formula unit that is not charge-balanced.
    """
    fragments = [canonical_smiles(part, where) for part in canonical_smiles(smiles, where).split(".")]
    charges = {frag: Chem.GetFormalCharge(Chem.MolFromSmiles(frag)) for frag in fragments}
    cations = sorted({f for f in fragments if charges[f] > 0})
    anions = sorted({f for f in fragments if charges[f] < 0})
    neutral = sorted({f for f in fragments if charges[f] == 0})
    if neutral or len(cations) != 1 or len(anions) != 1:
        raise InputError(
            f"not a single-cation/single-anion salt (cations {cations}, anions {anions}, neutral {neutral})",
            where=where,
        )
    cation, anion = cations[0], anions[0]
    total = sum(charges[f] for f in fragments)
    if total != 0:
        raise InputError(f"formula unit has net charge {total:+d}", where=where, expected="a neutral salt")
    q_cation, q_anion = charges[cation], -charges[anion]
    common = gcd(q_cation, q_anion)
    return Salt(cation, anion, n_cation=q_anion // common, n_anion=q_cation // common)


def ion_name_table(cation_info: pd.DataFrame, anion_info: pd.DataFrame) -> dict[str, str]:
    """Canonical ion SMILES -> first listed name, from salty's cation and anion tables."""
    names: dict[str, str] = {}
    for table in (cation_info, anion_info):
        for name, smiles in zip(table["name"], table["smiles"]):
            mol = Chem.MolFromSmiles(smiles) if isinstance(smiles, str) else None
            if mol is not None:
                names.setdefault(Chem.MolToSmiles(mol), str(name).strip(", "))
    return names


def map_salt_names(names: list[str], tables: dict[str, pd.DataFrame]) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """Map salt names to (SMILES, source); return the mapping and the names that stayed unmapped.

    Source ``ilthermopy`` is a whole-salt match in ilthermopy's compound table; ``salty-ions`` is a
    split of the name at a space into a cation name and an anion name of salty's ion tables.
    """
    compounds = dict(zip(tables["compounds.csv"]["name"], tables["compounds.csv"]["smiles"]))
    cations = dict(zip(tables["cationInfo.csv"]["name"], tables["cationInfo.csv"]["smiles"]))
    anions = dict(zip(tables["anionInfo.csv"]["name"], tables["anionInfo.csv"]["smiles"]))
    mapped, unmapped = {}, []
    for name in names:
        if isinstance(compounds.get(name), str):
            mapped[name] = (compounds[name], "ilthermopy")
            continue
        words = name.split(" ")
        pairs = [(" ".join(words[:i]), " ".join(words[i:])) for i in range(1, len(words))]
        hits = [(cations[c], anions[a]) for c, a in pairs if c in cations and a in anions]
        if hits:
            mapped[name] = (f"{hits[0][0]}.{hits[0][1]}", "salty-ions")
        else:
            unmapped.append(name)
    return mapped, unmapped


def curate(tables: dict[str, pd.DataFrame], rules: dict) -> tuple[pd.DataFrame, pd.DataFrame, CurationReport]:
    """Curated points table, ion table and report from the raw snapshot tables.

    ``rules``: ``pressure_max_deviation_kPa`` (keep |P - 101.325| <= this; missing P is taken as
    ambient), ``sigma_max_S_per_m``, ``temperature_range_K`` [low, high], ``drop_exact_duplicates``,
    ``non_liquid_gap_ln`` and ``non_liquid_window_K`` (see :func:`non_liquid_branch`; a null gap
    keeps every branch).
    """
    raw = tables["electrical_conductivity.csv"]
    report = CurationReport(n_points_raw=len(raw), n_salt_names_raw=raw[keys.RAW_SALT_NAME].nunique())
    points = _points_with_salts(raw, tables, report)
    points = _apply_point_rules(points, rules, report)
    ion_names = ion_name_table(tables["cationInfo.csv"], tables["anionInfo.csv"])
    points[keys.CATION_NAME] = points[keys.CATION_SMILES].map(lambda s: ion_names.get(s, s))
    points[keys.ANION_NAME] = points[keys.ANION_SMILES].map(lambda s: ion_names.get(s, s))
    points[keys.LN_SIGMA] = np.log(points[keys.SIGMA_S_PER_M])
    points = points.sort_values([keys.IL_ID, keys.TEMPERATURE_K, keys.SIGMA_S_PER_M, keys.SALT_NAME]).reset_index(drop=True)
    report.n_points_kept = len(points)
    report.n_ils_kept = points[keys.IL_ID].nunique()
    report.n_synonym_names_merged = int(points[keys.SALT_NAME].nunique() - report.n_ils_kept)
    return points, ion_table(points), report


def _points_with_salts(raw: pd.DataFrame, tables: dict[str, pd.DataFrame], report: CurationReport) -> pd.DataFrame:
    """Raw points renamed to our columns, with salt SMILES, cation and anion; unusable names dropped."""
    names = sorted(raw[keys.RAW_SALT_NAME].unique())
    mapped, report.unmapped_names = map_salt_names(names, tables)
    salts, sources = {}, {}
    for name, (smiles, source) in mapped.items():
        try:
            salts[name] = split_salt(smiles, where=f"salt {name!r}")
            sources[name] = source
        except InputError as err:
            report.rejected_names[name] = str(err)
    points = raw.rename(
        columns={
            keys.RAW_SIGMA: keys.SIGMA_S_PER_M,
            keys.RAW_PRESSURE: keys.PRESSURE_KPA,
            keys.RAW_TEMPERATURE: keys.TEMPERATURE_K,
            keys.RAW_SALT_NAME: keys.SALT_NAME,
        }
    )[[keys.SALT_NAME, keys.TEMPERATURE_K, keys.PRESSURE_KPA, keys.SIGMA_S_PER_M]]
    usable = points[keys.SALT_NAME].isin(salts)
    _count_drop(report, "salt name unmapped or not a salt", points, ~usable)
    points = points[usable].copy()
    salt_of = points[keys.SALT_NAME].map(salts)
    points[keys.IL_ID] = salt_of.map(lambda s: s.il_id)
    points[keys.SALT_SMILES] = salt_of.map(lambda s: s.smiles)
    points[keys.CATION_SMILES] = salt_of.map(lambda s: s.cation_smiles)
    points[keys.ANION_SMILES] = salt_of.map(lambda s: s.anion_smiles)
    points[keys.NAME_SOURCE] = points[keys.SALT_NAME].map(sources)
    return points


def _apply_point_rules(points: pd.DataFrame, rules: dict, report: CurationReport) -> pd.DataFrame:
    """Drop points by the configured rules, counting points and whole ILs lost per rule."""
    points = points.copy()
    points[keys.PRESSURE_KPA] = points[keys.PRESSURE_KPA].fillna(AMBIENT_PRESSURE_KPA)
    low_T, high_T = rules["temperature_range_K"]
    checks = [
        ("sigma <= 0 or missing", lambda p: ~(p[keys.SIGMA_S_PER_M] > 0)),
        (
            f"pressure more than {rules['pressure_max_deviation_kPa']} kPa from ambient",
            lambda p: (p[keys.PRESSURE_KPA] - AMBIENT_PRESSURE_KPA).abs() > rules["pressure_max_deviation_kPa"],
        ),
        (f"sigma above {rules['sigma_max_S_per_m']} S/m (implausible for a pure IL)", lambda p: p[keys.SIGMA_S_PER_M] > rules["sigma_max_S_per_m"]),
        (f"temperature outside [{low_T}, {high_T}] K", lambda p: ~p[keys.TEMPERATURE_K].between(low_T, high_T)),
    ]
    if rules.get("drop_exact_duplicates", True):
        columns = [keys.IL_ID, keys.TEMPERATURE_K, keys.PRESSURE_KPA, keys.SIGMA_S_PER_M]
        checks.append(("exact duplicate of another point", lambda p: p.duplicated(subset=columns)))
    gap_ln, window_K = rules.get("non_liquid_gap_ln"), rules.get("non_liquid_window_K")
    if gap_ln is not None:

        def non_liquid(p: pd.DataFrame) -> pd.Series:
            drop = non_liquid_branch(p, gap_ln, window_K)
            report.non_liquid_points = {str(k): int(n) for k, n in p.loc[drop, keys.SALT_NAME].value_counts().sort_index().items()}
            return drop

        checks.append((f"non-liquid branch (> {gap_ln} ln units below the same IL within {window_K} K)", non_liquid))
    for rule, rule_mask in checks:
        drop = rule_mask(points)
        _count_drop(report, rule, points, drop)
        points = points[~drop]
    return points


def non_liquid_branch(points: pd.DataFrame, gap_ln: float, window_K: float) -> pd.Series:
    """Mask of points more than ``gap_ln`` below the highest ln(sigma) of the same IL within
    ``window_K`` kelvin (the IL's liquid branch there); index aligned with ``points``."""
    mask = pd.Series(False, index=points.index)
    for _, il in points.groupby(keys.IL_ID):
        temperature_K = il[keys.TEMPERATURE_K].to_numpy()
        ln_sigma = np.log(il[keys.SIGMA_S_PER_M].to_numpy())
        near = np.abs(temperature_K[:, None] - temperature_K[None, :]) <= window_K
        liquid_ln_sigma = np.where(near, ln_sigma[None, :], -np.inf).max(axis=1)
        mask.loc[il.index] = liquid_ln_sigma - ln_sigma > gap_ln
    return mask


def _count_drop(report: CurationReport, rule: str, points: pd.DataFrame, drop: pd.Series) -> None:
    """Record how many points ``drop`` removes, and how many ILs lose all their points."""
    group = keys.IL_ID if keys.IL_ID in points else keys.SALT_NAME
    report.dropped_points[rule] = int(drop.sum())
    before = set(points[group])
    after = set(points.loc[~drop, group])
    report.dropped_ils[rule] = len(before - after)


def ion_table(points: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct ion in ``points``: SMILES, name, role, formal charge (e)."""
    rows = []
    for role, smiles_col, name_col in (("cation", keys.CATION_SMILES, keys.CATION_NAME), ("anion", keys.ANION_SMILES, keys.ANION_NAME)):
        ions = points[[smiles_col, name_col]].drop_duplicates(smiles_col)
        for smiles, name in zip(ions[smiles_col], ions[name_col]):
            rows.append(
                {keys.ION_SMILES: smiles, keys.ION_NAME: name, keys.ION_ROLE: role, keys.ION_CHARGE: Chem.GetFormalCharge(Chem.MolFromSmiles(smiles))}
            )
    return pd.DataFrame(rows).sort_values([keys.ION_ROLE, keys.ION_SMILES]).reset_index(drop=True)
