"""Where a DFPT campaign stands, without running anything (``simulate.mode: status``).

Per path: the finished iterations (records, or an iteration 0 the settings study already holds), whether
it converged or failed, the last max |out - in|, the pieces of its next iteration kept in the piece store,
the QE CPU hours spent, and an estimate of the CPU hours still needed. The estimate is
``max(1, expected_iterations - done)`` iterations at the material's measured QE CPU per iteration (its ok
records at the path's k and q meshes, settings-study points included), less the CPU of the kept pieces;
a material whose k mesh the study has not chosen yet is estimated at its largest measured k mesh. A
path's iteration cost hardly depends on its U and V (the same SCF and hp.x work), so the estimate is
as good as ``expected_iterations``: the mean of the campaign's own converged paths once it has one, before
that v1's count (:data:`EXPECTED_ITERATIONS`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from matdisco.hubbard import keys as K
from matdisco.hubbard.campaign import (
    Campaign,
    PathSpec,
    initial_hubbard,
    piece_store,
    planned_paths,
    record_settings,
    seeded_record,
)
from matdisco.hubbard.qe.hp_split import stored_pieces_cpu_s
from matdisco.hubbard.records import read_records

# Iterations a path needs from U = V = 0 until the campaign has converged paths of its own, at data set
# v3's tolerances (|U_out - U_in| < 0.1 eV, |V_out - V_in| < 0.01 eV): the 17 converged paths of data set
# v1 would have taken 53 (3.12 per path; 3.53 at 0.01 / 0.01 eV): python scripts/hubbard_tolerance_check.py
EXPECTED_ITERATIONS = 3.1


@dataclass(frozen=True)
class PathStatus:
    """One path's progress; CPU in QE CPU hours (``qe_cpu_time_s`` of its records)."""

    path_id: str
    kpts: str  # e.g. "4x4x4", or "not chosen"
    iterations: int  # finished ok iterations (an iteration 0 the settings study holds counts)
    state: str  # converged | failed | running | waiting
    last_delta_eV: float | None  # max |out - in| of the last ok iteration
    spent_cpu_h: float  # ok and failed iterations, plus the kept pieces of the next one
    kept_pieces: int  # pieces of the next iteration's hp.x in the piece store
    left_cpu_h: float | None  # estimate; None without a measured iteration of the material


def campaign_status(campaign: Campaign, expected_iterations: float | None = None) -> dict[str, Any]:
    """Every planned path's :class:`PathStatus` (as dicts, in plan order) and the totals: paths
    converged, failed, CPU hours spent and left (summed over the paths with an estimate), and the
    wall hours left at ``campaign.parallel_paths`` paths side by side. ``expected_iterations`` (per path
    from U = V = 0): default the mean of this campaign's converged paths once it has one, else
    :data:`EXPECTED_ITERATIONS`."""
    records = _by_path(read_records(campaign.records_path))
    expected_from = "given"
    if expected_iterations is None:
        expected_iterations, expected_from = expected_iterations_per_path(records)
    failures = _by_path(read_records(campaign.failures_path))
    seeds = [r for source in campaign.seed_records for r in read_records(source) if r[K.STATUS] == "ok"]
    measured = [r for r in [*seeds, *(r for rs in records.values() for r in rs)] if r[K.STATUS] == "ok"]
    paths = [
        path_status(
            campaign, path, records.get(path.path_id, []), failures.get(path.path_id, []), measured, expected_iterations
        )
        for path in planned_paths(campaign)
    ]
    known = [p.left_cpu_h for p in paths if p.left_cpu_h is not None]
    left = sum(known)
    return {
        "paths": [asdict(p) for p in paths],
        "n_paths": len(paths),
        "converged": sum(p.state == "converged" for p in paths),
        "failed": sum(p.state == "failed" for p in paths),
        "spent_cpu_h": round(sum(p.spent_cpu_h for p in paths), 2),
        "left_cpu_h": round(left, 1),
        "left_wall_h": round(left / max(1, campaign.parallel_paths), 1),
        "paths_without_estimate": len(paths) - len(known),
        "expected_iterations": expected_iterations,
        "expected_iterations_from": expected_from,
    }


def expected_iterations_per_path(records: dict[str, list[dict[str, Any]]]) -> tuple[float, str]:
    """(iterations per path, where the number comes from): the mean iteration count of the converged
    paths among ``records`` (path id -> records), else :data:`EXPECTED_ITERATIONS` (data set v1)."""
    counts = [
        sum(r[K.STATUS] == "ok" for r in path_records)
        for path_records in records.values()
        if any(r[K.STATUS] == "ok" and r[K.CONVERGED] for r in path_records)
    ]
    if not counts:
        return EXPECTED_ITERATIONS, "data set v1's converged paths"
    return round(sum(counts) / len(counts), 2), f"this campaign's {len(counts)} converged path(s)"


def path_status(
    campaign: Campaign,
    path: PathSpec,
    records: list[dict[str, Any]],
    failures: list[dict[str, Any]],
    measured: list[dict[str, Any]],
    expected_iterations: float,
) -> PathStatus:
    """The progress of ``path`` from its ``records`` and ``failures`` (this path's only) and the
    ``measured`` ok records (any path, settings study included) that give its CPU per iteration."""
    ok = sorted((r for r in records if r[K.STATUS] == "ok"), key=lambda r: r[K.ITERATION])
    if not ok and path.material.kpts is not None:
        seed = seeded_record(campaign, path, initial_hubbard(path))
        ok = [seed] if seed is not None else []
    converged = any(r[K.CONVERGED] for r in ok)
    store = piece_store(campaign, campaign.root / path.path_id / f"iter_{len(ok)}")  # where run_iteration keeps them
    kept = stored_pieces_cpu_s(store) if store is not None else []
    state = "converged" if converged else "failed" if failures else "running" if kept else "waiting"
    spent_s = sum(r[K.QE_CPU_TIME] for r in [*ok, *failures]) + sum(kept)
    per_iteration_s = cpu_per_iteration_s(campaign, path, measured)
    left_h = None
    if state in ("converged", "failed"):
        left_h = 0.0
    elif per_iteration_s is not None:
        left_h = max(0.0, max(1.0, expected_iterations - len(ok)) * per_iteration_s - sum(kept)) / 3600
    return PathStatus(
        path_id=path.path_id,
        kpts="x".join(map(str, path.material.kpts)) if path.material.kpts else "not chosen",
        iterations=len(ok),
        state=state,
        last_delta_eV=ok[-1][K.MAX_DELTA_EV] if ok else None,
        spent_cpu_h=round(spent_s / 3600, 3),
        kept_pieces=len(kept),
        left_cpu_h=None if left_h is None else round(left_h, 2),
    )


def cpu_per_iteration_s(campaign: Campaign, path: PathSpec, measured: list[dict[str, Any]]) -> float | None:
    """Mean QE CPU seconds of the ``measured`` ok records of the path's material at its k and q meshes and
    occupations; with its k mesh not chosen yet, at the largest k mesh measured. None without such a record."""
    material = path.material
    same = [
        r
        for r in measured
        if r[K.MATERIAL] == material.name
        and r[K.SETTINGS]["qpts"] == list(material.qpts)
        and r[K.SETTINGS]["occupations"] == material.occupations
    ]
    if material.kpts is None and same:
        largest = max((r[K.SETTINGS]["kpts"] for r in same), key=math.prod)
        same = [r for r in same if r[K.SETTINGS]["kpts"] == largest]
    elif material.kpts is not None:
        same = [r for r in same if r[K.SETTINGS]["kpts"] == record_settings(campaign, material)["kpts"]]
    return sum(r[K.QE_CPU_TIME] for r in same) / len(same) if same else None


def status_table(status: dict[str, Any]) -> str:
    """A markdown table of :func:`campaign_status` and a line of totals."""
    lines = [
        "| path | k | iterations | last max abs(out - in) (eV) | state | kept pieces | CPU h spent | CPU h left (est.) |",
        "|---|---|---:|---:|---|---:|---:|---:|",
    ]
    for p in status["paths"]:
        delta = "" if p["last_delta_eV"] is None else f"{p['last_delta_eV']:.3f}"
        left = "?" if p["left_cpu_h"] is None else f"{p['left_cpu_h']:.1f}"
        lines.append(
            f"| {p['path_id']} | {p['kpts']} | {p['iterations']} | {delta} | {p['state']} | {p['kept_pieces']} "
            f"| {p['spent_cpu_h']:.2f} | {left} |"
        )
    lines.append(
        f"\n{status['converged']}/{status['n_paths']} paths converged, {status['failed']} failed; "
        f"{status['spent_cpu_h']:.1f} CPU h spent; about {status['left_cpu_h']:.1f} CPU h left "
        f"({status['left_wall_h']:.1f} h wall at the configured paths side by side; "
        f"{status['paths_without_estimate']} path(s) without an estimate; "
        f"{status['expected_iterations']} iterations expected per path, from {status['expected_iterations_from']})."
    )
    return "\n".join(lines)


def _by_path(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        grouped[record[K.PATH_ID]].append(record)
    return grouped
