"""From the raw ILThermo snapshot to a curated table of pure-IL conductivity points.

Steps, each counted in the report: map salt names to SMILES (ilthermopy's compound table first,
then a split of the name into a salty cation name + anion name), parse and split each salt into one
cation and one anion species with a charge-balanced formula unit, then apply the point rules
(non-positive sigma, pressure far from ambient, implausible values, exact duplicates) and the four
series rules (on whole sources, data sets and ILs), each reported with the salts it drops:

- source consistency (:func:`inconsistent_sources`): a source whose points sit a constant factor
  away from independent series of the same salts is dropped with every point it holds;
- physical plausibility (:func:`implausible_datasets`): a data set that is both very conductive and
  very temperature-sensitive;
- solid branch (:func:`solid_branch`): points below the liquid extrapolation of the same IL's
  warmer points, at any temperature distance;
- glassy class (:func:`glassy_ils`): ILs that never reach the fluid regime are kept out of the
  liquid-law table and listed separately.

The raw snapshot carries no ILThermo reference field. Its rows are ILThermo data sets in entry
order, so a *data set* is a run of consecutive rows of one salt name and a *source* is a run of
consecutive data sets sharing one temperature/pressure signature (e.g. the 22 single points at
298.10 K / 101.325 kPa of one ether-ammonium paper that open the file): a documented proxy.
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
from matdisco.ionic import ions, keys

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
    rule_lists: dict[str, dict[str, int]] = field(default_factory=dict)
    flagged_sources: list[str] = field(default_factory=list)
    rejected_names: dict[str, str] = field(default_factory=dict)
    n_points_kept: int = 0
    n_ils_kept: int = 0
    n_synonym_names_merged: int = 0
    glassy_points: pd.DataFrame | None = field(default=None, repr=False)
    source: str = "Raw snapshot"  # what the points came from, the report's first words

    def as_dict(self) -> dict:
        """Plain dict (JSON); the glassy points are a table of their own (:attr:`glassy_points`)."""
        return {k: v for k, v in self.__dict__.items() if k != "glassy_points"}

    def rejection_summary(self) -> str:
        """One line: how many salt names were rejected, unmapped and kept, with the count per reason."""
        reasons = Counter(re.sub(r"\s*'[^']*'", "", why.split(" in salt ")[0]) for why in self.rejected_names.values())
        why = ", ".join(f"{n} {reason}" for reason, n in reasons.most_common()) or "none"
        return (
            f"{len(self.rejected_names)} of {self.n_salt_names_raw} salt names rejected ({why}), "
            f"{len(self.unmapped_names)} unmapped; {self.n_ils_kept} ILs kept"
        )

    def as_markdown(self) -> str:
        """Human-readable report."""
        lines = [
            "# Ionic-liquid conductivity: curation report",
            "",
            f"{self.source}: {self.n_points_raw} points, {self.n_salt_names_raw} salt names.",
            f"Kept: **{self.n_points_kept} points, {self.n_ils_kept} ionic liquids** "
            f"({self.n_synonym_names_merged} synonymous names merged into the same IL).",
            "",
            "| rule | points dropped | ILs lost entirely |",
            "|---|---:|---:|",
        ]
        lines += [f"| {rule} | {n} | {self.dropped_ils.get(rule, 0)} |" for rule, n in self.dropped_points.items()]
        for rule, salts in self.rule_lists.items():
            lines += ["", f"## {rule}: points per salt ({len(salts)} salts)", ""]
            lines += [f"- {name}: {n}" for name, n in salts.items()] or ["(none)"]
        lines += ["", f"## Sources flagged as inconsistent ({len(self.flagged_sources)})", ""]
        lines += [f"- {line}" for line in self.flagged_sources] or ["(none)"]
        lines += ["", f"## Names with no SMILES ({len(self.unmapped_names)})", ""]
        lines += [f"- {name}" for name in self.unmapped_names] or ["(none)"]
        lines += ["", f"## Names rejected after mapping ({len(self.rejected_names)})", ""]
        lines += [f"- {name}: {why}" for name, why in self.rejected_names.items()] or ["(none)"]
        return "\n".join(lines) + "\n"


def canonical_smiles(smiles: str, where: str) -> str:
    """RDKit canonical SMILES; :class:`InputError` naming ``where`` if RDKit cannot parse it.

    Computed once per SMILES string (:data:`_CANONICAL`): salts share their ions."""
    canonical = _CANONICAL.get(smiles) if isinstance(smiles, str) else None
    if canonical is None:
        mol = Chem.MolFromSmiles(smiles) if isinstance(smiles, str) and smiles else None
        if mol is None:
            raise InputError(f"invalid SMILES {smiles!r}", where=where, expected="a SMILES string RDKit can parse")
        canonical = _CANONICAL[smiles] = Chem.MolToSmiles(mol)
    return canonical


_CANONICAL: dict[str, str] = {}
"""Canonical SMILES by SMILES string, filled by :func:`canonical_smiles`."""


def formal_charge(smiles: str) -> int:
    """Net formal charge of a SMILES that RDKit parses (parsed once per string)."""
    if smiles not in _CHARGE:
        _CHARGE[smiles] = Chem.GetFormalCharge(Chem.MolFromSmiles(smiles))
    return _CHARGE[smiles]


_CHARGE: dict[str, int] = {}
"""Formal charge by SMILES string, filled by :func:`formal_charge`."""


def split_salt(smiles: str, where: str) -> Salt:
    """Split a salt SMILES into one cation and one anion species with a neutral formula unit.

    Raises :class:`InputError` naming ``where`` for unparsable SMILES, neutral fragments, several
    cation or anion species, or a formula unit that is not charge-balanced.
    """
    return salt_of_fragments(canonical_smiles(smiles, where).split("."), where)


def salt_of_fragments(parts: list[str], where: str) -> Salt:
    """:func:`split_salt` of the salt made of ``parts`` (SMILES of its fragments, e.g. a cation and
    an anion given apart), each canonicalised alone: no RDKit pass over the whole salt."""
    fragments = [canonical_smiles(part, where) for part in parts]
    charges = {frag: formal_charge(frag) for frag in fragments}
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
    and the optional series-rule sections ``source`` (:func:`inconsistent_sources`), ``plausibility``
    (:func:`implausible_datasets`), ``solid`` (:func:`solid_branch`) and ``glassy``
    (:func:`glassy_ils`); a missing or null section switches its rule off.
    """
    raw = tables["electrical_conductivity.csv"].copy()
    raw[keys.DATASET], raw[keys.SOURCE] = dataset_and_source(raw)
    report = CurationReport(n_points_raw=len(raw), n_salt_names_raw=raw[keys.RAW_SALT_NAME].nunique())
    points = _points_with_salts(raw, tables, report)
    points = _apply_point_rules(points, rules, report)
    ion_names, _ = ions.ion_name_table(tables["cationInfo.csv"], tables["anionInfo.csv"])
    points[keys.CATION_NAME] = points[keys.CATION_SMILES].map(lambda s: ion_names.get(ions.ion_key(s), s))
    points[keys.ANION_NAME] = points[keys.ANION_SMILES].map(lambda s: ion_names.get(ions.ion_key(s), s))
    points[keys.LN_SIGMA] = np.log(points[keys.SIGMA_S_PER_M])
    points = points.sort_values([keys.IL_ID, keys.TEMPERATURE_K, keys.SIGMA_S_PER_M, keys.SALT_NAME]).reset_index(
        drop=True
    )
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
    )[[keys.SALT_NAME, keys.TEMPERATURE_K, keys.PRESSURE_KPA, keys.SIGMA_S_PER_M, keys.DATASET, keys.SOURCE]]
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


def dataset_and_source(raw: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Data-set and source ids (int) of each raw row, in file order.

    Data set: a run of consecutive rows with one salt name. Source: a run of consecutive data sets
    with the same signature (sorted temperatures rounded to 0.1 K, sorted pressures); the raw file
    has no reference field, so this stands in for one paper's block of ILThermo entries. A raw
    table with a ``source`` column (a user CSV's reference labels) uses those labels instead: one
    source per label, a data set a run of rows of one name and one label.
    """
    if keys.SOURCE in raw:
        label = raw[keys.SOURCE].astype(str)
        dataset = ((raw[keys.RAW_SALT_NAME] != raw[keys.RAW_SALT_NAME].shift()) | (label != label.shift())).cumsum()
        return dataset.astype(int), pd.Series(pd.factorize(label)[0] + 1, index=raw.index)
    dataset = (raw[keys.RAW_SALT_NAME] != raw[keys.RAW_SALT_NAME].shift()).cumsum()
    signature = {}
    for run, rows in raw.groupby(dataset, sort=False):
        temperatures = tuple(sorted(set(rows[keys.RAW_TEMPERATURE].round(1))))
        pressures = tuple(sorted(set(rows[keys.RAW_PRESSURE].fillna(AMBIENT_PRESSURE_KPA))))
        signature[run] = (temperatures, pressures)
    runs = pd.Series(list(signature.keys()))
    signatures = runs.map(signature)
    source_of_run = dict(zip(runs, (signatures != signatures.shift()).cumsum()))
    return dataset.astype(int), dataset.map(source_of_run).astype(int)


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
        (
            f"sigma above {rules['sigma_max_S_per_m']} S/m (implausible for a pure IL)",
            lambda p: p[keys.SIGMA_S_PER_M] > rules["sigma_max_S_per_m"],
        ),
        (f"temperature outside [{low_T}, {high_T}] K", lambda p: ~p[keys.TEMPERATURE_K].between(low_T, high_T)),
    ]
    if rules.get("drop_exact_duplicates", True):
        columns = [keys.IL_ID, keys.TEMPERATURE_K, keys.PRESSURE_KPA, keys.SIGMA_S_PER_M]
        checks.append(("exact duplicate of another point", lambda p: p.duplicated(subset=columns)))
    for rule, rule_mask in checks + _series_checks(rules, report):
        drop = rule_mask(points)
        _count_drop(report, rule, points, drop)
        points = points[~drop]
    return points


def _series_checks(rules: dict, report: CurationReport) -> list:
    """(rule label, mask function) of the configured series rules, in order; each lists its salts."""
    checks = []
    if rules.get("source"):
        cfg = rules["source"]

        def source_rule(p: pd.DataFrame) -> pd.Series:
            drop, report.flagged_sources = inconsistent_sources(p, **cfg)
            return drop

        checks.append(("source inconsistent with independent series", source_rule))
    if rules.get("plausibility"):
        checks.append(
            ("implausible magnitude and temperature slope", lambda p: implausible_datasets(p, **rules["plausibility"]))
        )
    if rules.get("solid"):
        checks.append(
            (
                "solid branch (below the liquid extrapolation of warmer points)",
                lambda p: solid_branch(p, **rules["solid"]),
            )
        )
    if rules.get("glassy"):

        def glassy_rule(p: pd.DataFrame) -> pd.Series:
            drop = glassy_ils(p, **rules["glassy"])
            report.glassy_points = p[drop].reset_index(drop=True)
            return drop

        checks.append(("glassy class (kept out of the liquid-law table)", glassy_rule))

    def listed(rule: str, mask_fn):
        def run(p: pd.DataFrame) -> pd.Series:
            drop = mask_fn(p)
            counts = p.loc[drop, keys.SALT_NAME].value_counts().sort_index()
            report.rule_lists[rule] = {str(name): int(n) for name, n in counts.items()}
            return drop

        return rule, run

    return [listed(rule, fn) for rule, fn in checks]


def _arrhenius(
    temperature_K: np.ndarray, ln_sigma: np.ndarray, min_span_K: float, default_activation_K: float
) -> tuple[float, float, float]:
    """Local Arrhenius law ln sigma = c - b (1/T - 1/T_c) through the points' centroid.

    Returns (1/T_c in 1/K, c in ln units, b in K). The activation temperature b = E_a/R is fitted
    when the points span at least ``min_span_K`` and clipped at 0 (sigma never falls on heating);
    otherwise ``default_activation_K`` is used.
    """
    inv_T = 1.0 / temperature_K
    centre_inv_T, centre_ln = float(inv_T.mean()), float(ln_sigma.mean())
    if np.ptp(temperature_K) < min_span_K:
        return centre_inv_T, centre_ln, default_activation_K
    slope = np.polyfit(inv_T - centre_inv_T, ln_sigma, 1)[0]
    return centre_inv_T, centre_ln, max(0.0, -float(slope))


def inconsistent_sources(
    points: pd.DataFrame, window_K: float, offset_ln: float, spread_ln: float, min_ils: int
) -> tuple[pd.Series, list[str]]:
    """Mask of all points of sources that disagree with independent series by a constant factor.

    For each point of an IL measured by several sources, the offset (ln units) is its ln sigma
    minus the Arrhenius interpolation of the other sources' points of the same IL within
    ``window_K``. A source is flagged when at least ``min_ils`` of its ILs have an offset, their
    median offsets have |median| >= ``offset_ln`` and a standard deviation <= ``spread_ln`` (one
    factor for all: a unit or cell-constant error, e.g. the ether-ammonium 298.10 K singles at
    1/1000 of DEME NTf2, DEME BF4 and DEME CF3BF3's independent series). Every point of a flagged
    source is dropped, so ILs that rest only on it are lost. Returns (mask, one line per source).
    """
    offsets = _source_offsets(points, window_K)
    mask, lines = pd.Series(False, index=points.index), []
    for source, per_il in offsets.groupby("source"):
        median_ln = per_il["offset_ln"].to_numpy()
        if len(median_ln) >= min_ils and abs(np.median(median_ln)) >= offset_ln and median_ln.std() <= spread_ln:
            in_source = points[keys.SOURCE] == source
            mask |= in_source
            first = points.loc[in_source, keys.SALT_NAME].iloc[0]
            lines.append(
                f"source {source} (first salt {first!r}): {in_source.sum()} points of "
                f"{points.loc[in_source, keys.IL_ID].nunique()} ILs, factor {np.exp(np.median(median_ln)):.3g} "
                f"vs independent series of {len(median_ln)} ILs"
            )
    return mask, lines


def _source_offsets(points: pd.DataFrame, window_K: float) -> pd.DataFrame:
    """Median offset (ln units) of each (source, IL) against the IL's other sources within ``window_K``."""
    rows = []
    for il_id, il in points.groupby(keys.IL_ID):
        if il[keys.SOURCE].nunique() < 2:
            continue
        temperature_K = il[keys.TEMPERATURE_K].to_numpy()
        ln_sigma = np.log(il[keys.SIGMA_S_PER_M].to_numpy())
        source = il[keys.SOURCE].to_numpy()
        for s in np.unique(source):
            point_offsets = []
            for T, ln in zip(temperature_K[source == s], ln_sigma[source == s]):
                near = (source != s) & (np.abs(temperature_K - T) <= window_K)
                if near.any():
                    inv_c, c, b = _arrhenius(temperature_K[near], ln_sigma[near], 5.0, 0.0)
                    point_offsets.append(ln - (c - b * (1.0 / T - inv_c)))
            if point_offsets:
                rows.append({"source": s, keys.IL_ID: il_id, "offset_ln": float(np.median(point_offsets))})
    return pd.DataFrame(rows, columns=["source", keys.IL_ID, "offset_ln"])


def implausible_datasets(
    points: pd.DataFrame, sigma_high_S_per_m: float, activation_max_K: float, min_span_K: float
) -> pd.Series:
    """Mask of data sets that are both very conductive and very temperature-sensitive.

    A liquid conducting above ``sigma_high_S_per_m`` is fluid, far above its glass transition, and
    its Arrhenius activation temperature b = E_a/R is small (series above 8 S/m in ILThermo:
    2500-4700 K). A data set (span >= ``min_span_K``) reaching that sigma with b above
    ``activation_max_K`` is implausible: e.g. C6mim Br and C8mim Br reading 10-29 S/m and rising
    3.6x over 15 K (b about 7000 K) where their homologues read 0.01-0.1 S/m.
    """
    mask = pd.Series(False, index=points.index)
    for _, rows in points.groupby(keys.DATASET):
        temperature_K = rows[keys.TEMPERATURE_K].to_numpy()
        sigma = rows[keys.SIGMA_S_PER_M].to_numpy()
        if np.ptp(temperature_K) < min_span_K or sigma.max() < sigma_high_S_per_m:
            continue
        _, _, b = _arrhenius(temperature_K, np.log(sigma), min_span_K, 0.0)
        mask.loc[rows.index] = b > activation_max_K
    return mask


def solid_branch(
    points: pd.DataFrame,
    gap_ln: float,
    gap_per_K: float,
    n_reference: int,
    min_span_K: float,
    default_activation_K: float,
) -> pd.Series:
    """Mask of points lying below the liquid extrapolation of the same IL's warmer points.

    Points are visited from warm to cold (at one temperature, high sigma first). A point's
    reference is the ``n_reference`` coldest points already accepted at its temperature or above;
    their local Arrhenius law (:func:`_arrhenius`) is extrapolated down to the point, which is
    flagged when it lies more than ``gap_ln + gap_per_K * dT`` below, dT (K) being the distance to
    the coldest reference point. Why this rule and not a worst-case bound ``gap + 0.3 K^-1 dT``:
    0.3 ln/K is the steepest a liquid gets near Tg, so that bound allows a 10 ln drop over 30 K and
    never reaches a crystal branch lying 6-8 ln below a liquid 10-35 K warmer (EMIM BF4: crystal
    at 203-237 K, liquid measured down to 238 K). The IL's own warm points fix its slope; the
    allowance per kelvin only has to cover the Vogel-Fulcher curvature, by which a supercooled
    liquid falls below its Arrhenius extrapolation (a few 0.01 ln/K). Visiting points in order
    makes dense liquid series their own reference, so a liquid measured down to Tg follows its
    curvature step by step. A last pass drops points more than ``gap_ln`` below an accepted
    colder point (:func:`_below_colder_liquid`). EMIM PF6: the solid branch (253-294 K, about 1e-5 S/m) lies 8-11 ln
    below the extrapolation of the liquid measured from 299 K, and is flagged at every distance.
    """
    mask = pd.Series(False, index=points.index)
    for _, il in points.groupby(keys.IL_ID):
        order = np.lexsort((-il[keys.SIGMA_S_PER_M].to_numpy(), -il[keys.TEMPERATURE_K].to_numpy()))
        temperature_K = il[keys.TEMPERATURE_K].to_numpy()[order]
        ln_sigma = np.log(il[keys.SIGMA_S_PER_M].to_numpy()[order])
        accepted: list[int] = []
        for i in range(len(order)):
            if accepted:
                ref = np.array(accepted[-n_reference:])
                inv_c, c, b = _arrhenius(temperature_K[ref], ln_sigma[ref], min_span_K, default_activation_K)
                expected_ln = c - b * (1.0 / temperature_K[i] - inv_c)
                allowed_ln = gap_ln + gap_per_K * (temperature_K[ref].min() - temperature_K[i])
                if expected_ln - ln_sigma[i] > allowed_ln:
                    mask.loc[il.index[order[i]]] = True
                    continue
            accepted.append(i)
        below_colder = _below_colder_liquid(temperature_K, ln_sigma, np.array(accepted), gap_ln)
        mask.loc[il.index[order[below_colder]]] = True
    return mask


def _below_colder_liquid(
    temperature_K: np.ndarray, ln_sigma: np.ndarray, accepted: np.ndarray, gap_ln: float
) -> np.ndarray:
    """Indices of points more than ``gap_ln`` below an accepted point at a lower or equal temperature.

    A liquid's sigma rises with T, so such a point cannot be liquid (e.g. a crystal point 1 K above
    the coldest point of a supercooled-liquid series, which the warm-to-cold pass cannot see).
    """
    colder = temperature_K[accepted][None, :] <= temperature_K[:, None]
    highest_colder_ln = np.where(colder, ln_sigma[accepted][None, :], -np.inf).max(axis=1)
    return np.flatnonzero(highest_colder_ln - ln_sigma > gap_ln)


def glassy_ils(points: pd.DataFrame, sigma_max_S_per_m: float) -> pd.Series:
    """Mask of the points of ILs whose highest sigma stays below ``sigma_max_S_per_m``.

    Such salts (e.g. the EMIM amino-acid salts at 298 K, 1.7e-7 to 1e-4 S/m) are near their glass
    transition, where ln sigma follows no 1/T, 1/T^2 liquid law; they are listed separately.
    """
    highest = points.groupby(keys.IL_ID)[keys.SIGMA_S_PER_M].transform("max")
    return highest < sigma_max_S_per_m


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
    for role, smiles_col, name_col in (
        ("cation", keys.CATION_SMILES, keys.CATION_NAME),
        ("anion", keys.ANION_SMILES, keys.ANION_NAME),
    ):
        ions = points[[smiles_col, name_col]].drop_duplicates(smiles_col)
        for smiles, name in zip(ions[smiles_col], ions[name_col]):
            rows.append(
                {
                    keys.ION_SMILES: smiles,
                    keys.ION_NAME: name,
                    keys.ION_ROLE: role,
                    keys.ION_CHARGE: formal_charge(smiles),
                }
            )
    return pd.DataFrame(rows).sort_values([keys.ION_ROLE, keys.ION_SMILES]).reset_index(drop=True)
