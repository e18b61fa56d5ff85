"""How much do looser self-consistency tolerances cost in accuracy, and what do they save? For every
converged path of a records file (default: data set v1, converged at |out - in| < 0.01 eV for U and V),
the iteration at which each (U, V) tolerance pair would have stopped it (the campaign's own test,
:func:`matdisco.hubbard.campaign.is_converged`) and how far that iteration's output lies from the
path's last output (largest |U| and |V| difference, eV). Prints one row per path, then the totals.

    python scripts/hubbard_tolerance_check.py                       # v1, tolerances 0.01/0.01 0.1/0.01 0.1/0.02
    python scripts/hubbard_tolerance_check.py RECORDS 0.05/0.01 ...  # U/V pairs in eV
"""

import sys
from collections import defaultdict
from pathlib import Path

from matdisco.hubbard import keys as K
from matdisco.hubbard.campaign import is_converged, record_entries
from matdisco.hubbard.records import read_records

DEFAULT_RECORDS = Path("datasets/hubbard/records.jsonl")
DEFAULT_TOLERANCES = ("0.01/0.01", "0.1/0.01", "0.1/0.02")


def converged_paths(records: list[dict]) -> dict[str, list[dict]]:
    """The ok iterations of every path whose last iteration converged, in iteration order."""
    paths: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        if record[K.STATUS] == "ok":
            paths[record[K.PATH_ID]].append(record)
    ordered = {path: sorted(rs, key=lambda r: r[K.ITERATION]) for path, rs in sorted(paths.items())}
    return {path: rs for path, rs in ordered.items() if rs[-1][K.CONVERGED]}


def stop_and_error(path: list[dict], tolerances_eV: tuple[float, float]) -> tuple[int, float, float]:
    """(iterations run, max |U| and |V| difference in eV from the path's last output) when the path
    stops at the first iteration converged at ``tolerances_eV`` (its last one if none is)."""
    stop = next(
        (
            n
            for n, r in enumerate(path)
            if is_converged(record_entries(r, K.HUBBARD_IN), record_entries(r, K.HUBBARD_OUT), tolerances_eV)
        ),
        len(path) - 1,
    )
    final = {(i, j): v for i, j, v in record_entries(path[-1], K.HUBBARD_OUT)}
    at_stop = {(i, j): v for i, j, v in record_entries(path[stop], K.HUBBARD_OUT)}
    du = max((abs(at_stop[key] - v) for key, v in final.items() if key[0] == key[1]), default=0.0)
    dv = max((abs(at_stop[key] - v) for key, v in final.items() if key[0] != key[1]), default=0.0)
    return stop + 1, du, dv


def main(records_path: Path, tolerances: list[tuple[float, float]]) -> None:
    paths = converged_paths(read_records(records_path))
    header = " | ".join(f"U {u:g} V {v:g}: iterations, dU, dV" for u, v in tolerances)
    print(f"{len(paths)} converged paths of {records_path}\npath | {header}")
    totals = [[0, 0.0, 0.0] for _ in tolerances]
    for path_id, path in paths.items():
        cells = []
        for total, tolerance in zip(totals, tolerances):
            n, du, dv = stop_and_error(path, tolerance)
            total[0] += n
            total[1], total[2] = max(total[1], du), max(total[2], dv)
            cells.append(f"{n}, {du:.3f}, {dv:.3f}")
        print(f"{path_id} | " + " | ".join(cells))
    print(
        "all: "
        + " | ".join(
            f"{n} iterations ({n / len(paths):.2f} per path), max dU {du:.3f}, max dV {dv:.3f}" for n, du, dv in totals
        )
    )


if __name__ == "__main__":
    args = sys.argv[1:]
    path = Path(args.pop(0)) if args and args[0].endswith(".jsonl") else DEFAULT_RECORDS
    pairs = [tuple(float(x) for x in pair.split("/")) for pair in (args or DEFAULT_TOLERANCES)]
    main(path, pairs)
