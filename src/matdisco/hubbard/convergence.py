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

Every scan runs its materials' series as one pool of points (:func:`run_pool`), each series with
one point of look-ahead (:class:`Series`); scans 2 and 3 share one pool (:func:`run_mesh_scans`): a
material's q series starts as soon as its own k series has settled, whatever the other materials' k
series are doing.

A setting is converged when one step up changes every U by less than ``u_tolerance_eV`` and every
V by less than ``v_tolerance_eV`` (values compared per site and per pair of the same cell). The
chosen cutoff is the largest converged cutoff over materials (one cutoff for the whole data set);
meshes are chosen per material. Points are records like the campaign's (same code path,
:func:`matdisco.hubbard.campaign.run_iteration`), merged into ``records`` keyed by
``<material>/ecut<w>-<r>_k<mesh>_q<mesh>``; a finished point is never re-run.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from matdisco.core.errors import ConfigError
from matdisco.core.io import atomic_write_json, atomic_write_text
from matdisco.core.plots import save_figure
from matdisco.hubbard import keys as K
from matdisco.hubbard.campaign import Campaign, PathSpec, at_settings, initial_hubbard, run_iteration
from matdisco.hubbard.records import load_record, merge_records, read_records


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
    k = {name: conv.get("cutoff_kpts") or materials[name].kpts for name in study_materials(conv, campaign)}
    missing = sorted(name for name, mesh in k.items() if mesh is None)
    if missing:
        raise ConfigError(f"materials {missing} have no k mesh yet: set simulate.convergence.cutoff_kpts")
    return [
        Point(name, "cutoff", (float(w), float(r)), mesh_tuple(k[name]), q)
        for w, r in conv["cutoffs_Ry"]
        for name in study_materials(conv, campaign)
    ]


def mesh_points(
    conv: dict[str, Any], scan: str, name: str, ecut: tuple[float, float], chosen_k: tuple[int, int, int] | None
) -> list[Point]:
    """Material ``name``'s series of scan 2 (``kpts``, at the q mesh ``kpts_qpts``, default
    ``cutoff_qpts``) or 3 (``qpts``, at its chosen k mesh ``chosen_k``), at cutoff ``ecut``."""
    q_cutoff = mesh_tuple(conv.get("kpts_qpts") or conv["cutoff_qpts"])
    meshes = [mesh_tuple(mesh) for mesh in conv[scan].get(name, conv[scan]["default"])]
    if scan == "kpts":
        return [Point(name, scan, ecut, mesh, q_cutoff) for mesh in meshes]
    if chosen_k is None:
        raise ValueError(f"the q series of {name} needs its chosen k mesh")
    return [Point(name, scan, ecut, chosen_k, mesh) for mesh in meshes]


def study_materials(conv: dict[str, Any], campaign: Campaign) -> list[str]:
    known = [m.name for m in campaign.materials]
    names = list(conv.get("materials") or known)
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ConfigError(f"simulate.convergence.materials: {unknown} are not campaign materials {known}")
    return names


def point_campaign(campaign: Campaign, point: Point) -> tuple[Campaign, PathSpec]:
    """The campaign settings and the (unstrained) path of one convergence point."""
    cutoffs = {"ecutwfc_Ry": point.ecut_Ry[0], "ecutrho_Ry": point.ecut_Ry[1]}
    point_cfg, material = at_settings(campaign, point.material, point.kpts, point.qpts, cutoffs)
    return point_cfg, PathSpec(material, 0.0)


def run_point(campaign: Campaign, point: Point, records_path: Path) -> dict[str, Any]:
    """Run (or load) one convergence point; its record is merged into ``records_path``."""
    folder = campaign.root / point.record_id
    known = load_record(
        folder, point.record_id, dataclasses.replace(campaign, records_path=records_path, failures_path=records_path)
    )
    if known is not None:
        return known
    point_cfg, path = point_campaign(campaign, point)
    record = run_iteration(point_cfg, path, 0, initial_hubbard(path), folder)
    record[K.RECORD_ID] = point.record_id
    merge_records(records_path, [record])
    return record


@dataclasses.dataclass
class Series:
    """One material's points of one mesh scan and the records of those finished (by index). Points run
    in order with one point of look-ahead: point j may start once points 0 .. j-2 have finished without
    a converged step (j - 1 may still be running). The two meshes of a two-point series (the whole
    study's k and q series) thus run side by side; in a longer series a point started that way is
    wasted only when the step it looked past turns out converged."""

    points: list[Point]
    records: dict[int, dict[str, Any]] = dataclasses.field(default_factory=dict)
    running: set[int] = dataclasses.field(default_factory=set)

    def finished_prefix(self) -> list[dict[str, Any]]:
        """Records of the points finished from the first one on, up to the first unfinished one."""
        prefix = []
        for index in range(len(self.points)):
            if index not in self.records:
                break
            prefix.append(self.records[index])
        return prefix

    def pick(self, u_tol: float, v_tol: float) -> tuple[bool, int | None]:
        """(settled, index of the first converged setting): settled once a converged step is found or
        every point has finished (then the index is None: not converged, the densest mesh is taken)."""
        prefix = self.finished_prefix()
        index = first_converged(prefix, u_tol, v_tol)
        return index is not None or len(prefix) == len(self.points), index

    def chosen(self, u_tol: float, v_tol: float) -> Point | None:
        """The chosen point of a settled series (its first converged setting, else its last); None while open."""
        settled, index = self.pick(u_tol, v_tol)
        return self.points[-1 if index is None else index] if settled else None

    def ready(self, u_tol: float, v_tol: float) -> list[int]:
        """Indices of the points that may start now (neither finished nor running)."""
        if self.pick(u_tol, v_tol)[0]:
            return []
        start = len(self.finished_prefix())
        candidates = range(start, min(start + 2, len(self.points)))
        return [j for j in candidates if j not in self.records and j not in self.running]


def new_series(points: list[Point], known: dict[str, dict[str, Any]]) -> Series:
    """A :class:`Series` of ``points`` with the records ``known`` already holds (finished in earlier runs)."""
    return Series(points, {j: known[p.record_id] for j, p in enumerate(points) if p.record_id in known})


MESH_SCANS = ("kpts", "qpts")


def run_mesh_scans(
    campaign: Campaign,
    conv: dict[str, Any],
    ecut: tuple[float, float],
    records_path: Path,
    tolerances_eV: tuple[float, float],
    report: Callable[[dict[str, dict[str, Series]]], None],
) -> dict[str, dict[str, Series]]:
    """Scans 2 (k) and 3 (q) of every material as one pool of points (:func:`run_pool`): a material's
    q series opens as soon as its own k series is settled, so no core waits for the slowest material
    of a scan. ``report`` gets the series after every finished point (and once before the first).
    Returns ``{scan: {material: Series}}``."""
    known = records_by_id(records_path)  # grows as points finish: a q series' first point may be a k point
    names = study_materials(conv, campaign)
    scans = {"kpts": {n: new_series(mesh_points(conv, "kpts", n, ecut, None), known) for n in names}, "qpts": {}}
    open_q_series = functools.partial(_open_q_series, conv=conv, ecut=ecut, known=known, tolerances_eV=tolerances_eV)
    return run_pool(campaign, scans, records_path, tolerances_eV, open_q_series, report, known)


def run_pool(
    campaign: Campaign,
    scans: dict[str, dict[str, Series]],
    records_path: Path,
    tolerances_eV: tuple[float, float],
    open_series: Callable[[dict[str, dict[str, Series]]], None] = lambda scans: None,
    report: Callable[[dict[str, dict[str, Series]]], None] = lambda scans: None,
    known: dict[str, dict[str, Any]] | None = None,
) -> dict[str, dict[str, Series]]:
    """Run the ready points of every series of ``scans`` (``{scan: {material: Series}}``, updated in
    place and returned) in one pool, ``campaign.parallel_paths`` at a time: a point starts whenever a
    worker is free (threads: each waits on its QE runs), in scan, material and series order.
    ``open_series`` may add series once others have settled (it runs before the first point and
    after every finished one, before ``report``); ``known`` (record id -> record, default: read from
    ``records_path``) grows with every finished point. After ``<root>/STOP`` no point starts; a series
    left open chooses nothing."""
    known = records_by_id(records_path) if known is None else known
    slots = max(1, campaign.parallel_paths)
    running: dict[Future, tuple[Series, int]] = {}
    with ThreadPoolExecutor(slots) as pool:
        open_series(scans)
        report(scans)
        while True:
            ready = [(s, j) for group in scans.values() for s in group.values() for j in s.ready(*tolerances_eV)]
            if not (campaign.root / "STOP").exists():
                for series, j in ready[: slots - len(running)]:
                    series.running.add(j)
                    running[pool.submit(run_point, campaign, series.points[j], records_path)] = (series, j)
            if not running:
                return scans
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                series, j = running.pop(future)
                series.running.discard(j)
                series.records[j] = known[series.points[j].record_id] = future.result()
            open_series(scans)
            report(scans)


def run_scan(
    campaign: Campaign, points: list[Point], records_path: Path, u_tol: float, v_tol: float
) -> dict[str, int | None]:
    """Every material's series of ``points`` (one scan: cutoff or check) in one pool of points
    (:func:`run_pool`); the first converged index per material (None: not converged, or stopped)."""
    known = records_by_id(records_path)
    scans = {"scan": {name: new_series(series, known) for name, series in by_material(points).items()}}
    run_pool(campaign, scans, records_path, (u_tol, v_tol), known=known)
    return {name: series.pick(u_tol, v_tol)[1] for name, series in scans["scan"].items()}


def _open_q_series(
    scans: dict[str, dict[str, Series]],
    conv: dict[str, Any],
    ecut: tuple[float, float],
    known: dict[str, dict[str, Any]],
    tolerances_eV: tuple[float, float],
) -> None:
    """Open the q series of every material whose k series has settled and has none yet."""
    for name, k_series in scans["kpts"].items():
        chosen = k_series.chosen(*tolerances_eV)
        if chosen is not None and name not in scans["qpts"]:
            scans["qpts"][name] = new_series(mesh_points(conv, "qpts", name, ecut, chosen.kpts), known)


def mesh_choices(scans: dict[str, dict[str, Series]], tolerances_eV: tuple[float, float]) -> dict[str, Any]:
    """The chosen k and q mesh of every material whose series has settled (``kpts``, ``qpts``) and the
    materials whose series of two or more meshes did not converge (``<scan>_not_converged``)."""
    chosen: dict[str, Any] = {}
    for scan in MESH_SCANS:
        picks = {name: series.chosen(*tolerances_eV) for name, series in scans[scan].items()}
        chosen[scan] = {name: list(getattr(point, scan)) for name, point in picks.items() if point is not None}
        chosen[f"{scan}_not_converged"] = sorted(
            name
            for name, series in scans[scan].items()
            if len(series.points) > 1 and series.pick(*tolerances_eV) == (True, None)
        )
    return chosen


def mesh_rows(
    scans: dict[str, dict[str, Series]], records: dict[str, dict[str, Any]], tolerances_eV: tuple[float, float]
) -> list[dict[str, Any]]:
    """The table rows of the mesh scans' finished points: every k point, then every q point."""
    return [
        row
        for scan in MESH_SCANS
        for row in scan_table([p for s in scans[scan].values() for p in s.points], records, *tolerances_eV)
    ]


def by_material(points: list[Point]) -> dict[str, list[Point]]:
    """``points`` grouped by material, each group in the given (increasing) order."""
    groups: dict[str, list[Point]] = {}
    for p in points:
        groups.setdefault(p.material, []).append(p)
    return groups


# ------------------------------------------------------------------------------------ analysis
def hubbard_values(record: dict[str, Any]) -> tuple[dict[int, float], dict[tuple[int, int, float], float]]:
    """U per site (atom index) and V per bond (atom_i, the cell atom atom_j is an image of, distance in
    A to 3 decimals) of one record, eV. hp.x numbers the neighbour images by the q-mesh supercell, so
    ``atom_j`` differs between q meshes; images at the same distance (symmetry-equivalent) share a key."""
    u = {s[K.ATOM_INDEX]: s[K.U_OUT] for s in record[K.SITES]}
    by_bond: dict[tuple[int, int, float], list[float]] = {}
    for p in record[K.PAIRS]:
        by_bond.setdefault((p[K.ATOM_I], p[K.ATOM_J_CELL], round(p[K.DISTANCE], 3)), []).append(p[K.V_OUT])
    return u, {bond: max(values, key=abs) for bond, values in by_bond.items()}


def step_changes(lower: dict[str, Any], upper: dict[str, Any]) -> tuple[float, float]:
    """Largest |U| and |V| change (eV) from the ``lower`` setting's record to the ``upper`` one's; V over
    the bonds both list (a denser q mesh makes hp.x list more neighbour images)."""
    u0, v0 = hubbard_values(lower)
    u1, v1 = hubbard_values(upper)
    shared_bonds = v0.keys() & v1.keys()
    if u0.keys() != u1.keys() or (v0 and v1 and not shared_bonds):
        raise ConfigError(f"{lower[K.RECORD_ID]} and {upper[K.RECORD_ID]} have different Hubbard sites or pairs")
    du = max(abs(u1[a] - u0[a]) for a in u0)
    dv = max((abs(v1[bond] - v0[bond]) for bond in shared_bonds), default=0.0)
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


def scan_table(
    points: list[Point], records: dict[str, dict[str, Any]], u_tol: float, v_tol: float
) -> list[dict[str, Any]]:
    """One row per computed point (points not run, e.g. above a converged step, are left out):
    U (metal, O) and V ranges, the change to the next step, converged flag."""
    rows = []
    for material, series in by_material(points).items():
        recs = [records.get(p.record_id) for p in series]
        for n, (p, rec) in enumerate(zip(series, recs)):
            if rec is None:
                continue
            row: dict[str, Any] = {
                "material": material,
                "scan": p.scan,
                "setting": p.label,
                "ecutwfc_Ry": p.ecut_Ry[0],
                "ecutrho_Ry": p.ecut_Ry[1],
                "kpts": list(p.kpts),
                "qpts": list(p.qpts),
            }
            if rec[K.STATUS] != "ok":
                row.update(status="failed", reason=rec.get(K.REASON))
                rows.append(row)
                continue
            metal = [s[K.U_OUT] for s in rec[K.SITES] if s[K.SPECIES] != "O"]
            oxygen = [s[K.U_OUT] for s in rec[K.SITES] if s[K.SPECIES] == "O"]
            v = [q[K.V_OUT] for q in rec[K.PAIRS]]
            row.update(
                status="ok",
                u_metal_eV=_span(metal),
                u_oxygen_eV=_span(oxygen),
                v_eV=_span(v),
                gap_eV=rec.get(K.GAP_EV),
                qe_cpu_s=round(rec.get(K.QE_CPU_TIME) or 0.0, 1),
            )
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
def run_study(campaign: Campaign, conv: dict[str, Any], report: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Run the four scans in order (the k and q scans together, :func:`run_mesh_scans`) and return the
    table rows and the chosen settings; ``report`` is called with the partial result after the cutoff
    scan, before the mesh scans with the points they already have, after every finished mesh point and
    at the end (so a stopped study still leaves its table, and a material's k and q meshes are in
    ``convergence.json`` as soon as its own series have settled).

    Each material's series stops at its first converged step. The cutoff is the largest first-
    converged cutoff over the materials whose cutoff scan converged (the others are listed in
    ``cutoff_not_converged`` and rest on the production check); a k or q scan that does not converge
    for a material takes its densest mesh and lists the material under ``<scan>_not_converged``.
    """
    records_path = Path(conv["records"])
    u_tol, v_tol = float(conv["u_tolerance_eV"]), float(conv["v_tolerance_eV"])
    cut = cutoff_points(conv, campaign)
    picks = run_scan(campaign, cut, records_path, u_tol, v_tol)
    cut_series = by_material(cut)
    rows = scan_table(cut, records_by_id(records_path), u_tol, v_tol)
    chosen: dict[str, Any] = {
        "cutoff_by_material": {n: None if i is None else list(cut_series[n][i].ecut_Ry) for n, i in picks.items()},
        "cutoff_not_converged": sorted(n for n, i in picks.items() if i is None),
    }
    converged = [cut_series[n][i].ecut_Ry for n, i in picks.items() if i is not None]
    chosen["ecut_Ry"] = list(max(converged)) if converged else None
    report({"rows": rows, "chosen": chosen})
    if not converged:
        return {"rows": rows, "chosen": chosen}
    ecut = max(converged)

    def with_meshes(scans: dict[str, dict[str, Series]]) -> dict[str, Any]:
        mesh_table = mesh_rows(scans, records_by_id(records_path), (u_tol, v_tol))
        return {"rows": rows + mesh_table, "chosen": {**chosen, **mesh_choices(scans, (u_tol, v_tol))}}

    scans = run_mesh_scans(
        campaign, conv, ecut, records_path, (u_tol, v_tol), lambda partial: report(with_meshes(partial))
    )
    result = with_meshes(scans)  # reported after the last point
    rows, chosen = result["rows"], result["chosen"]
    stopped = set(chosen["qpts"]) != set(study_materials(conv, campaign))  # <root>/STOP before all were chosen
    if stopped or not conv.get("production_check", True):
        return result
    check = [p for pair in production_check_points(conv, campaign, cut, ecut, chosen) for p in pair]
    picks = run_scan(campaign, check, records_path, u_tol, v_tol)
    rows += scan_table(check, records_by_id(records_path), u_tol, v_tol)
    chosen["production_check"] = {name: i == 0 for name, i in picks.items()}
    report({"rows": rows, "chosen": chosen})
    return {"rows": rows, "chosen": chosen}


def production_check_points(
    conv: dict[str, Any], campaign: Campaign, cut: list[Point], ecut: tuple[float, float], chosen: dict[str, Any]
) -> list[tuple[Point, Point]]:
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
    """``convergence.json`` (rows + chosen settings), ``convergence.md`` (the table) and
    ``convergence.png`` (every scan: :func:`convergence_plot`) in ``folder``."""
    cpu_h = sum(r.get(K.CPU_TIME) or 0.0 for r in read_records(Path(conv["records"]))) / 3600
    atomic_write_json(
        folder / "convergence.json",
        {
            "tolerances_eV": {"u": conv["u_tolerance_eV"], "v": conv["v_tolerance_eV"]},
            "cpu_hours": round(cpu_h, 2),
            **result,
        },
    )
    convergence_plot(folder / "convergence.png", result["rows"])
    lines = [
        "# DFPT convergence study (iteration 0 of each material's ideal cell)",
        "",
        f"Converged: one step up changes every U by < {conv['u_tolerance_eV']} eV and every V by < {conv['v_tolerance_eV']} eV.",
        "Each material's series stops at its first converged step.",
        f"CPU time of every point so far (failed ones included): {cpu_h:.2f} h.",
        f"Chosen: `{result['chosen']}`",
        "",
        "![U and V against each scan's setting](convergence.png)",
        "",
        "| material | scan | setting | k | q | U metal (eV) | U O (eV) | V (eV) | dU next | dV next | converged | gap (eV) | QE CPU s |",
        "|---|---|---|---|---|---|---|---|---:|---:|---|---:|---:|",
    ]
    for r in result["rows"]:
        if r["status"] != "ok":
            lines.append(
                f"| {r['material']} | {r['scan']} | {r['setting']} | {r['kpts']} | {r['qpts']} | {r['status']}: {r.get('reason') or ''} |||||||| "
            )
            continue
        lines.append(
            f"| {r['material']} | {r['scan']} | {r['setting']} | {_mesh(r['kpts'])} | {_mesh(r['qpts'])} | {_fmt(r['u_metal_eV'])} | "
            f"{_fmt(r['u_oxygen_eV'])} | {_fmt(r['v_eV'])} | {r.get('du_next_eV', '')} | {r.get('dv_next_eV', '')} | "
            f"{'yes' if r.get('converged') else ('no' if 'converged' in r else '')} | {r.get('gap_eV') if r.get('gap_eV') is not None else ''} | {r['qe_cpu_s']} |"
        )
    atomic_write_text(folder / "convergence.md", "\n".join(lines) + "\n")


PLOTTED_SCANS = (  # (scan, x-axis label, x value of a row of scan_table)
    ("cutoff", "ecutwfc (Ry), ecutrho = 8 ecutwfc", lambda row: row["ecutwfc_Ry"]),
    ("kpts", "k mesh n (n x n x n)", lambda row: row["kpts"][0]),
    ("qpts", "q mesh n (n x n x n)", lambda row: row["qpts"][0]),
)


def convergence_plot(path: Path, rows: list[dict]) -> Path:
    """U of the metal, U of O and V (eV, middle of the cell's range over sites/pairs) of every material
    against each scan's setting: a row of panels per scan that has finished points (cutoff: ecutwfc in
    Ry; k and q: the mesh n of n x n x n). ``rows``: :func:`scan_table`'s."""
    import matplotlib.pyplot as plt

    quantities = (("u_metal_eV", "U metal (eV)"), ("u_oxygen_eV", "U O (eV)"), ("v_eV", "V (eV)"))
    ok = [r for r in rows if r["status"] == "ok"]
    scans = [entry for entry in PLOTTED_SCANS if any(r["scan"] == entry[0] for r in ok)] or list(PLOTTED_SCANS[:1])
    fig, axes = plt.subplots(
        len(scans), len(quantities), figsize=(4.5 * len(quantities), 3.6 * len(scans)), squeeze=False
    )
    for panel_row, (scan, xlabel, x_of) in zip(axes, scans):
        scan_rows = [r for r in ok if r["scan"] == scan]
        for ax, (key, label) in zip(panel_row, quantities):
            for material in dict.fromkeys(r["material"] for r in scan_rows):
                series = sorted((r for r in scan_rows if r["material"] == material and r.get(key)), key=x_of)
                ax.plot([x_of(r) for r in series], [sum(r[key]) / 2 for r in series], "o-", ms=4, label=material)
            ax.set_xticks(sorted({x_of(r) for r in scan_rows}))
            ax.set_xlabel(xlabel)
            ax.set_ylabel(label)
        panel_row[0].legend(fontsize=8, title=f"{scan} scan", title_fontsize=8)
    fig.suptitle("DFPT settings study: iteration 0 of each ideal cell")
    fig.tight_layout()
    return save_figure(fig, path)


def _mesh(mesh: list[int]) -> str:
    return "x".join(str(n) for n in mesh)


def _fmt(span: list[float] | None) -> str:
    if span is None:
        return ""
    return f"{span[0]:.3f}" if span[0] == span[1] else f"{span[0]:.3f}-{span[1]:.3f}"
