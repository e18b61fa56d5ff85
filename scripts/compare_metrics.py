"""Compare two metrics folders leaf by leaf: which values are equal, which differ, which keys one side lacks.

Keys renamed by issue 29 are mapped to their new names first; timing fields (names holding ``time_s``,
``cpu_s``, ``wall_s``) are left out, and NaN equals NaN. Used to check that a refactor leaves the
pipeline's metrics unchanged on one machine:

    python scripts/compare_metrics.py <before clone>/metrics/ionic metrics/ionic [lines shown per file]
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path

RENAMED = {
    "r2_298": "r2_at_reference_T",
    "spearman_298": "spearman_at_reference_T",
    "n_ils_298": "n_ils_at_reference_T",
    "p_b_better": "p_model_better",
}
TIMING_PARTS = ("time_s", "cpu_s", "wall_s")


def leaves(tree: object, prefix: str = "") -> Iterator[tuple[str, object]]:
    """(``/a/b[0]/c`` path, value) of every leaf of nested dicts and lists, renamed keys mapped."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from leaves(value, f"{prefix}/{RENAMED.get(key, key)}")
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from leaves(value, f"{prefix}[{index}]")
    else:
        yield prefix, tree


def same(a: object, b: object) -> bool:
    """Equal values, NaN equal to NaN."""
    both_nan = isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
    return a == b or both_nan


def compare_file(before: Path, after: Path) -> tuple[int, list[str]]:
    """Number of equal leaves and one line per differing leaf or one-sided key (timing fields left out)."""
    old = dict(leaves(json.loads(before.read_text())))
    new = dict(leaves(json.loads(after.read_text())))
    equal, lines = 0, []
    for key in sorted(set(old) | set(new)):
        if any(part in key for part in TIMING_PARTS):
            continue
        if key not in old or key not in new:
            lines.append(f"  only {'after' if key in new else 'before'}: {key}")
        elif same(old[key], new[key]):
            equal += 1
        else:
            lines.append(f"  differs: {key}: {old[key]} -> {new[key]}")
    return equal, lines


def main(before_dir: Path, after_dir: Path, shown: int) -> None:
    for after in sorted(after_dir.rglob("*.json")):
        name = after.relative_to(after_dir)
        before = before_dir / name
        if not before.is_file():
            print(f"{name}: only after")
            continue
        equal, lines = compare_file(before, after)
        print(f"{name}: {equal} equal, {len(lines)} differing or one-sided")
        for line in lines[:shown]:
            print(line)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 8)
