"""Parse hp.x (QE 6.x) results: the ``<prefix>.Hubbard_parameters.dat`` tables, ``parameters.out``
(the Hubbard_V list to feed back into pw.x) and the hp.x log (completion, timing, q points).

U and V in eV; distances in the .dat file are in Bohr and are converted to angstrom here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ase.units import Bohr

from matdisco.hubbard.qe.outputs import QEOutputError, qe_version, read_lines, require_job_done, wall_time

_U_ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+(\S+)\s+(-?\d+)\s+(\d+)\s+(\S+)\s+(-?\d+\.\d+)\s*$")
_V_ROW = re.compile(r"^\s*(\d+)\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+\.\d+)\s+(-?\d+\.\d+)\s*$")
_PARAM_ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+(-?\d+\.\d+)\s*$")


@dataclass(frozen=True)
class HpU:
    """One row of the ``Hubbard U parameters`` table: U (eV) of site ``site`` (1-based)."""

    site: int
    label: str
    spin: int
    new_type: int
    new_label: str
    u_eV: float


@dataclass(frozen=True)
class HpV:
    """One row of the ``Hubbard V parameters`` table.

    ``atom_j`` is numbered in QE's 3x3x3 supercell (atom ``atom_j`` is an image of cell atom
    ``(atom_j - 1) % nat + 1``); ``atom_i == atom_j`` is the on-site U.
    """

    atom_i: int
    label_i: str
    atom_j: int
    label_j: str
    distance_angstrom: float
    v_eV: float


@dataclass
class HubbardParameters:
    """Contents of ``<prefix>.Hubbard_parameters.dat``."""

    path: Path
    u: list[HpU] = field(default_factory=list)
    v: list[HpV] = field(default_factory=list)


@dataclass
class HpResult:
    """The hp.x log: version, wall time (s), number of q points, perturbed atoms."""

    path: Path
    version: str | None
    wall_s: float | None
    n_q: int | None
    perturbed_atoms: list[int]


def parse_hubbard_parameters(path: str | Path) -> HubbardParameters:
    """Read the U table (always) and the V table (DFT+U+V) of ``*.Hubbard_parameters.dat``.

    Raises :class:`QEOutputError` naming file and line for a malformed row or a missing U table.
    """
    lines = read_lines(path)
    result = HubbardParameters(path=Path(path))
    section = None
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith("Hubbard U parameters"):
            section = "u"
        elif stripped.startswith("Hubbard V parameters"):
            section = "v"
        elif stripped.startswith(("=---", "chi")) or "nearest neighbors" in stripped:
            section = None
        elif section == "u" and stripped and stripped[0].isdigit():
            result.u.append(_u_row(line, path, number))
        elif section == "v" and stripped and stripped[0].isdigit():
            result.v.append(_v_row(line, path, number))
    if not result.u:
        raise QEOutputError("no 'Hubbard U parameters' table", path, None, "hp.x output")
    return result


def _u_row(line: str, path: str | Path, number: int) -> HpU:
    match = _U_ROW.match(line)
    if not match:
        raise QEOutputError(
            f"malformed Hubbard U row {line.strip()!r}", path, number, "site type label spin new_type new_label U"
        )
    site, _, label, spin, new_type, new_label, value = match.groups()
    return HpU(int(site), label, int(spin), int(new_type), new_label, float(value))


def _v_row(line: str, path: str | Path, number: int) -> HpV:
    match = _V_ROW.match(line)
    if not match:
        raise QEOutputError(f"malformed Hubbard V row {line.strip()!r}", path, number, "i label j label distance V")
    atom_i, label_i, atom_j, label_j, distance_bohr, value = match.groups()
    return HpV(int(atom_i), label_i, int(atom_j), label_j, float(distance_bohr) * Bohr, float(value))


def parse_parameters_out(path: str | Path) -> list[tuple[int, int, float]]:
    """``parameters.out``: rows ``(i, j, V_eV)`` ready for ``Hubbard_V(i, j, 1) = V``."""
    lines = read_lines(path)
    rows = []
    for number, line in enumerate(lines, start=1):
        if line.strip().startswith("#") or not line.strip():
            continue
        match = _PARAM_ROW.match(line)
        if not match:
            raise QEOutputError(f"malformed row {line.strip()!r}", path, number, "atom_i atom_j V(eV)")
        rows.append((int(match.group(1)), int(match.group(2)), float(match.group(3))))
    if not rows:
        raise QEOutputError("no Hubbard_V rows", path, len(lines))
    return rows


def parse_hp_output(path: str | Path) -> HpResult:
    """Parse the hp.x log; raises :class:`QEOutputError` on a QE error, truncation or missing q points."""
    lines = read_lines(path)
    for number, line in enumerate(lines, start=1):
        if "Not all q points were considered" in line:
            raise QEOutputError("hp.x stopped before all q points were done", path, number)
    require_job_done(lines, path, "hp.x")
    n_q = None
    for line in lines:
        match = re.search(r"The grid of q-points .*\(\s*(\d+)\s+q-points\s*\)", line)
        if match:
            n_q = int(match.group(1))
    perturbed = [int(m.group(1)) for line in lines if (m := re.search(r"PERTURBED ATOM #\s+(\d+)", line))]
    return HpResult(Path(path), qe_version(lines), wall_time(lines, "HP"), n_q, perturbed)
