"""Convergence study of the DFPT settings: U and V of one hp.x run (iteration 0, the material's
starting Hubbard input) against the plane-wave cutoffs and against the k and q meshes.

Three scans, each run for every material of ``simulate.convergence.materials`` on its ideal,
unstrained cell (the cheapest cell of the material):

1. ``cutoff``: every (ecutwfc, ecutrho) of ``cutoffs_Ry`` at the material's k mesh and the q mesh
   ``cutoff_qpts`` (Gamma only by default: the cutoff error is a property of the pseudopotentials,
   and one q point keeps the scan affordable).
2. ``kpts``: every mesh of ``kpts`` at the chosen cutoff, q as in the cutoff scan.
3. ``qpts``: every mesh of ``qpts`` at the chosen cutoff and the material's chosen k mesh.
4. ``check``: at the chosen k and q meshes, the chosen cutoff against one step up (the cutoff scan
   ran at Gamma-only q; this confirms it at the meshes of the data set, material by material,
   including the supercells of ``check_materials``).

A setting is converged when one step up changes every U by less than ``u_tolerance_eV`` and every
V by less than ``v_tolerance_eV`` (values compared per site and per pair of the same cell). The
chosen cutoff is the largest converged cutoff over materials (one cutoff for the whole data set);
meshes are chosen per material. Points are records like the campaign's (same code path,
:func:`matdisco.hubbard.campaign.run_iteration`), merged into ``records`` keyed by
``<material>/ecut<w>-<r>_k<mesh>_q<mesh>``; a finished point is never re-run.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Sequence

from matdisco.core.errors import ConfigError
from matdisco.core.io import atomic_write_json, atomic_write_text
from matdisco.hubbard import keys as K
from matdisco.hubbard.campaign import Campaign, PathSpec, initial_hubbard, run_iteration
from matdisco.hubbard.records import load_record, merge_records, read_records

SCANS = ("cutoff", "kpts", "qpts", "check")


@dataclasses.dataclass(frozen=True)
class Point:
    """One convergence calculation: a material with overridden cutoffs and meshes."""

    material: str
    scan: str
    ecut_Ry: tuple[float, float]
    kpts: tuple[int, int, int]
    qpts: tuple[int, int, int]

    @property
    def label(self) -> str:
        """Short name of the varied setting of this scan."""
        if self.scan in ("cutoff", "check"):
            return f"ecut{self.ecut_Ry[0]:g}-{self.ecut_Ry[1]:g}"
        mesh = self.kpts if self.scan == "kpts" else self.qpts
        return f"{self.scan[0]}{''.join(str(n) for n in mesh)}"

    @property
    def record_id(self) -> str:
        """Named after the physical settings, so a point shared by two scans is computed once."""
        mesh = lambda m: "".join(str(n) for n in m)  # noqa: E731
        return f"{self.material}/ecut{self.ecut_Ry[0]:g}-{self.ecut_Ry[1]:g}_k{mesh(self.kpts)}_q{mesh(self.qpts)}"


def mesh_tuple(mesh: Sequence[int]) -> tuple[int, int, int]:
    if len(mesh) != 3:
        raise ConfigError(f"a k or q mesh needs 3 integers, got {list(mesh)}")
    return tuple(int(n) for n in mesh)  # type: ignore[return-value]


def cutoff_points(conv: dict[str, Any], campaign: Campaign) -> list[Point]:
    """Scan 1, ordered by cutoff first (every material at the lowest cutoff, then the next, ...)."""
    materials = {m.name: m for m in campaign.materials}
    q = mesh_tuple(conv["cutoff_qpts"])
    return [Point(name, "cutoff", (float(w), float(r)), mesh_tuple(materials[name].kpts), q)
            for w, r in conv["cutoffs_Ry"] for name in study_materials(conv, campaign)]


def mesh_points(conv: dict[str, Any], campaign: Campaign, scan: str, ecut: tuple[float, float],
                chosen_k: dict[str, tuple[int, int, int]]) -> list[Point]:
    """Scan 2 (``kpts``) or 3 (``qpts``) at cutoff ``ecut``; the q scan uses each material's chosen k."""
    q_cutoff = mesh_tuple(conv["cutoff_qpts"])
    points = []
    for name in study_materials(conv, campaign):
        for mesh in conv[scan].get(name, conv[scan]["default"]):
            if scan == "kpts":
                points.append(Point(name, scan, ecut, mesh_tuple(mesh), q_cutoff))
            else:
                points.append(Point(name, scan, ecut, chosen_k[name], mesh_tuple(mesh)))
    return points


def study_materials(conv: dict[str, Any], campaign: Campaign) -> list[str]:
    known = [m.name for m in campaign.materials]
    names = list(conv.get("materials") or known)
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ConfigError(f"simulate.convergence.materials: {unknown} are not campaign materials {known}")
    return names


def point_campaign(campaign: Campaign, point: Point) -> tuple[Campaign, PathSpec]:
    """The campaign settings and the (unstrained) path of one convergence point."""
    material = next(m for m in campaign.materials if m.name == point.material)
    material = dataclasses.replace(material, kpts=point.kpts, qpts=point.qpts)
    settings = {**campaign.settings, "ecutwfc_Ry": point.ecut_Ry[0], "ecutrho_Ry": point.ecut_Ry[1]}
    return dataclasses.replace(campaign, settings=settings), PathSpec(material, 0.0)


def run_point(campaign: Campaign, point: Point, records_path: Path) -> dict[str, Any]:
    """Run (or load) one convergence point; its record is merged into ``records_path``."""
    folder = campaign.root / point.record_id
    known = load_record(folder, point.record_id, dataclasses.replace(campaign, records_path=records_path,
                                                                      failures_path=records_path))
    if known is not None:
        return known
    point_cfg, path = point_campaign(campaign, point)
    record = run_iteration(point_cfg, path, 0, initial_hubbard(path), folder)
    record[K.RECORD_ID] = point.record_id
    merge_records(records_path, [record])
    return record


def run_points(campaign: Campaign, points: list[Point], records_path: Path) -> list[dict[str, Any]]:
    """Every point, ``campaign.parallel_paths`` at a time, stopping early at ``<root>/STOP``."""
    todo = [p for p in points if not (campaign.root / "STOP").exists()]
    if campaign.parallel_paths > 1:
        with ProcessPoolExecutor(campaign.parallel_paths) as pool:
            return list(pool.map(run_point, [campaign] * len(todo), todo, [records_path] * len(todo)))
    return [run_point(campaign, p, records_path) for p in todo]


# ------------------------------------------------------------------------------------ analysis
def hubbard_values(record: dict[str, Any]) -> tuple[dict[int, float], dict[tuple[int, int], float]]:
    """U per site (atom index) and V per pair (atom_i, atom_j) of one record, eV."""
    u = {s[K.ATOM_INDEX]: s[K.U_OUT] for s in record[K.SITES]}
    v = {(p[K.ATOM_I], p[K.ATOM_J]): p[K.V_OUT] for p in record[K.PAIRS]}
    return u, v


def step_changes(lower: dict[str, Any], upper: dict[str, Any]) -> tuple[float, float]:
    """Largest |U| and |V| change (eV) from the ``lower`` setting's record to the ``upper`` one's."""
    u0, v0 = hubbard_values(lower)
    u1, v1 = hubbard_values(upper)
    if u0.keys() != u1.keys() or v0.keys() != v1.keys():
        raise ConfigError(f"{lower[K.RECORD_ID]} and {upper[K.RECORD_ID]} have different Hubbard sites or pairs")
    du = max(abs(u1[a] - u0[a]) for a in u0)
    dv = max((abs(v1[p] - v0[p]) for p in v0), default=0.0)
    return du, dv


def first_converged(records: list[dict[str, Any]], u_tol: float, v_tol: float) -> int | None:
    """Index of the first record (settings in increasing order) whose step up changes U and V by less
    than the tolerances; None when no step is small enough (or a record failed)."""
    for n in range(len(records) - 1):
        if records[n][K.STATUS] != "ok" or records[n + 1][K.STATUS] != "ok":
            continue
        du, dv = step_changes(records[n], records[n + 1])
        if du < u_tol and dv < v_tol:
            return n
    return None


def scan_table(points: list[Point], records: dict[str, dict[str, Any]], u_tol: float, v_tol: float) -> list[dict[str, Any]]:
    """One row per point: U (metal, O) and V ranges, the change to the next step, converged flag."""
    rows = []
    by_material: dict[str, list[Point]] = {}
    for p in points:
        by_material.setdefault(p.material, []).append(p)
    for material, series in by_material.items():
        recs = [records.get(p.record_id) for p in series]
        for n, (p, rec) in enumerate(zip(series, recs)):
            row: dict[str, Any] = {"material": material, "scan": p.scan, "setting": p.label, "ecutwfc_Ry": p.ecut_Ry[0],
                                   "ecutrho_Ry": p.ecut_Ry[1], "kpts": list(p.kpts), "qpts": list(p.qpts)}
            if rec is None or rec[K.STATUS] != "ok":
                row["status"] = "missing" if rec is None else "failed"
                row["reason"] = None if rec is None else rec.get(K.REASON)
                rows.append(row)
                continue
            metal = [s[K.U_OUT] for s in rec[K.SITES] if s[K.SPECIES] != "O"]
            oxygen = [s[K.U_OUT] for s in rec[K.SITES] if s[K.SPECIES] == "O"]
            v = [q[K.V_OUT] for q in rec[K.PAIRS]]
            row.update(status="ok", u_metal_eV=_span(metal), u_oxygen_eV=_span(oxygen), v_eV=_span(v),
                       gap_eV=rec.get(K.GAP_EV), qe_cpu_s=round(rec.get(K.QE_CPU_TIME) or 0.0, 1))
            nxt = recs[n + 1] if n + 1 < len(recs) else None
            if nxt is not None and nxt[K.STATUS] == "ok":
                du, dv = step_changes(rec, nxt)
                row.update(du_next_eV=round(du, 4), dv_next_eV=round(dv, 4), converged=bool(du < u_tol and dv < v_tol))
            rows.append(row)
    return rows


def _span(values: list[float]) -> list[float] | None:
    return [round(min(values), 4), round(max(values), 4)] if values else None


def records_by_id(path: Path) -> dict[str, dict[str, Any]]:
    return {r[K.RECORD_ID]: r for r in read_records(path)}


# ------------------------------------------------------------------------------------- driver
def chosen_index(points: list[Point], records: dict[str, dict[str, Any]], u_tol: float, v_tol: float) -> int | None:
    """Index (into one material's series) of its first converged setting, or None."""
    recs = [records.get(p.record_id) for p in points]
    if any(r is None for r in recs):
        return None
    return first_converged(recs, u_tol, v_tol)  # type: ignore[arg-type]


def run_study(campaign: Campaign, conv: dict[str, Any]) -> dict[str, Any]:
    """Run the four scans in order and return the table rows and the chosen settings.

    The cutoff is the largest first-converged cutoff over the materials whose cutoff scan converged
    (the others are listed in ``cutoff_not_converged`` and rest on the production check); a k or q
    scan that does not converge for a material takes its densest mesh and lists the material under
    ``<scan>_not_converged``.
    """
    records_path = Path(conv["records"])
    u_tol, v_tol = float(conv["u_tolerance_eV"]), float(conv["v_tolerance_eV"])
    names = study_materials(conv, campaign)
    cut = cutoff_points(conv, campaign)
    run_points(campaign, cut, records_path)
    records = records_by_id(records_path)
    rows = scan_table(cut, records, u_tol, v_tol)
    per_material = {name: chosen_index([p for p in cut if p.material == name], records, u_tol, v_tol) for name in names}
    chosen: dict[str, Any] = {"cutoff_by_material": {n: None if i is None else list(cut[i * len(names)].ecut_Ry)
                                                     for n, i in per_material.items()},
                              "cutoff_not_converged": sorted(n for n, i in per_material.items() if i is None)}
    converged = [i for i in per_material.values() if i is not None]
    if not converged:
        chosen["ecut_Ry"] = None
        return {"rows": rows, "chosen": chosen}
    ecut = cut[max(converged) * len(names)].ecut_Ry
    chosen["ecut_Ry"] = list(ecut)
    for scan in ("kpts", "qpts"):
        points = mesh_points(conv, campaign, scan, ecut, {n: tuple(chosen["kpts"][n]) for n in names} if scan == "qpts" else {})
        run_points(campaign, points, records_path)
        records = records_by_id(records_path)
        rows += scan_table(points, records, u_tol, v_tol)
        series = {n: [p for p in points if p.material == n] for n in names}
        picks = {n: chosen_index(series[n], records, u_tol, v_tol) for n in names}
        chosen[scan] = {n: list(getattr(series[n][-1 if i is None else i], scan)) for n, i in picks.items()}
        chosen[f"{scan}_not_converged"] = sorted(n for n, i in picks.items() if i is None)
    check = production_check_points(conv, campaign, cut, ecut, chosen)
    run_points(campaign, [p for pair in check for p in pair], records_path)
    records = records_by_id(records_path)
    rows += scan_table([p for pair in check for p in pair], records, u_tol, v_tol)
    chosen["production_check"] = {low.material: _pair_converged(records.get(low.record_id), records.get(high.record_id), u_tol, v_tol)
                                  for low, high in check}
    return {"rows": rows, "chosen": chosen}


def _pair_converged(low: dict[str, Any] | None, high: dict[str, Any] | None, u_tol: float, v_tol: float) -> bool | None:
    """Whether one step up from ``low`` stays within the tolerances (None when a record is missing)."""
    if low is None or high is None:
        return None
    return first_converged([low, high], u_tol, v_tol) == 0


def production_check_points(conv: dict[str, Any], campaign: Campaign, cut: list[Point], ecut: tuple[float, float],
                            chosen: dict[str, Any]) -> list[tuple[Point, Point]]:
    """Scan 4 (``check``): at each material's chosen k and q mesh, the chosen cutoff and one step up.
    The cutoff scan ran at ``cutoff_qpts``; this confirms the cutoff at the meshes of the data set,
    for every material of ``check_materials`` (default: the study's materials)."""
    cutoffs = list(dict.fromkeys(p.ecut_Ry for p in cut))
    if cutoffs.index(ecut) + 1 >= len(cutoffs):
        raise ConfigError(f"the chosen cutoff {ecut} is the last of cutoffs_Ry: add a higher one to check it")
    higher = cutoffs[cutoffs.index(ecut) + 1]
    materials = {m.name: m for m in campaign.materials}
    pairs = []
    for name in conv.get("check_materials") or study_materials(conv, campaign):
        k = tuple(chosen["kpts"].get(name) or materials[name].kpts)
        q = tuple(chosen["qpts"].get(name) or materials[name].qpts)
        pairs.append((Point(name, "check", ecut, k, q), Point(name, "check", higher, k, q)))
    return pairs


def write_report(result: dict[str, Any], folder: Path, conv: dict[str, Any]) -> None:
    """``convergence.json`` (rows + chosen settings) and ``convergence.md`` (the table) in ``folder``."""
    atomic_write_json(folder / "convergence.json", {"tolerances_eV": {"u": conv["u_tolerance_eV"], "v": conv["v_tolerance_eV"]},
                                                    **result})
    lines = [
        "# DFPT convergence study (iteration 0 of each material's ideal cell)", "",
        f"Converged: one step up changes every U by < {conv['u_tolerance_eV']} eV and every V by < {conv['v_tolerance_eV']} eV.",
        f"Chosen: `{result['chosen']}`", "",
        "| material | scan | setting | k | q | U metal (eV) | U O (eV) | V (eV) | dU next | dV next | converged | gap (eV) | QE CPU s |",
        "|---|---|---|---|---|---|---|---|---:|---:|---|---:|---:|",
    ]
    for r in result["rows"]:
        if r["status"] != "ok":
            lines.append(f"| {r['material']} | {r['scan']} | {r['setting']} | {r['kpts']} | {r['qpts']} | {r['status']}: {r.get('reason') or ''} |||||||| ")
            continue
        lines.append(
            f"| {r['material']} | {r['scan']} | {r['setting']} | {_mesh(r['kpts'])} | {_mesh(r['qpts'])} | {_fmt(r['u_metal_eV'])} | "
            f"{_fmt(r['u_oxygen_eV'])} | {_fmt(r['v_eV'])} | {r.get('du_next_eV', '')} | {r.get('dv_next_eV', '')} | "
            f"{'yes' if r.get('converged') else ('no' if 'converged' in r else '')} | {r.get('gap_eV') if r.get('gap_eV') is not None else ''} | {r['qe_cpu_s']} |")
    atomic_write_text(folder / "convergence.md", "\n".join(lines) + "\n")


def _mesh(mesh: list[int]) -> str:
    return "x".join(str(n) for n in mesh)


def _fmt(span: list[float] | None) -> str:
    if span is None:
        return ""
    return f"{span[0]:.3f}" if span[0] == span[1] else f"{span[0]:.3f}-{span[1]:.3f}"
