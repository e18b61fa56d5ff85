"""Parse pw.x (QE 6.x) SCF output: Hubbard occupation matrices, magnetic moments, convergence.

Needs ``verbosity = 'high'`` for the occupation matrices. Two layouts are read:
``write_ns`` (DFT+U, ``lda_plus_u_kind = 0``: blocks ``atom N Tr[ns(na)] ...`` with optional
``spin S`` sub-blocks and an ``occupations:`` matrix) and ``write_nsg`` (DFT+U+V,
``lda_plus_u_kind = 2``: blocks ``Atom: N Spin: S`` with an
``occupation matrix before diagonalization:``). The last block printed is the converged one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from matdisco.hubbard.qe.outputs import QEOutputError, floats, qe_version, read_lines, require_job_done, wall_time

_ATOM_NS = re.compile(r"^atom\s+(\d+)\s+Tr\[ns\(na\)\]")
_SPIN_NS = re.compile(r"^\s+spin\s+(\d+)\s*$")
_ATOM_NSG = re.compile(r"^\s*Atom:\s+(\d+)\s+Spin:\s+(\d+)")
_MOMENT = re.compile(r"^\s*atom:\s+(\d+)\s+charge:\s+(\S+)\s+magn:\s+(\S+)")


@dataclass
class PwResult:
    """What one pw.x SCF run produced. Energies in Ry, moments in Bohr magnetons, time in s.

    ``occupations`` maps the 1-based atom index to an array (nspin, m, m).
    """

    path: Path
    version: str | None
    converged: bool
    scf_iterations: int | None
    total_energy_Ry: float | None
    total_magnetization: float | None
    n_bands: int | None
    wall_s: float | None
    homo_lumo_eV: tuple[float, float] | None  # fixed occupations: highest occupied, lowest unoccupied level
    occupations: dict[int, np.ndarray] = field(default_factory=dict)
    magnetic_moments: dict[int, float] = field(default_factory=dict)


def parse_pw_output(path: str | Path, require_occupations: bool = True) -> PwResult:
    """Parse a finished pw.x SCF output.

    Raises :class:`QEOutputError` (naming file and line) when QE reported an error, the output is
    truncated, the SCF did not converge, or (with ``require_occupations``) no occupation block
    can be read.
    """
    lines = read_lines(path)
    require_job_done(lines, path, "pw.x")
    iterations = _scf_iterations(lines, path)
    occupations = _last_occupations(lines, path)
    if require_occupations and not occupations:
        raise QEOutputError("no Hubbard occupation matrices", path, None, "lda_plus_u and verbosity='high'")
    return PwResult(
        path=Path(path),
        version=qe_version(lines),
        converged=True,
        scf_iterations=iterations,
        total_energy_Ry=_last_value(lines, r"^!\s+total energy\s+=\s+(\S+)"),
        total_magnetization=_last_value(lines, r"^\s+total magnetization\s+=\s+(\S+)"),
        n_bands=_int_or_none(_last_value(lines, r"number of Kohn-Sham states=\s+(\d+)")),
        wall_s=wall_time(lines, "PWSCF"),
        homo_lumo_eV=_homo_lumo(lines),
        occupations=occupations,
        magnetic_moments=_last_moments(lines),
    )


def require_hubbard_applied(path: str | Path) -> None:
    """Raise :class:`QEOutputError` unless pw.x applied the Hubbard terms: it printed the Hubbard
    occupation matrices (only a DFT+U(+V) run does) and did not report ignoring a ``HUBBARD`` card
    (QE < 7.1 skips the card with a message and runs plain DFT)."""
    lines = read_lines(path)
    for number, line in enumerate(lines, start=1):
        if re.search(r"card\s+HUBBARD.*ignored", line, re.IGNORECASE):
            raise QEOutputError(f"pw.x ignored the HUBBARD card and ran plain DFT: {line.strip()}", path, number)
    if not _last_occupations(lines, path):
        raise QEOutputError(
            "pw.x did not apply the Hubbard terms (no Hubbard occupation matrices)", path, None, "a DFT+U(+V) run"
        )


def _scf_iterations(lines: list[str], path: str | Path) -> int:
    """Number of SCF iterations; raises when QE says the SCF did not converge."""
    for number, line in enumerate(lines, start=1):
        if "convergence NOT achieved" in line:
            raise QEOutputError(f"SCF not converged: {line.strip()}", path, number)
    value = _last_value(lines, r"convergence has been achieved in\s+(\d+)\s+iterations")
    if value is None:
        raise QEOutputError("no 'convergence has been achieved' line", path, len(lines), "a finished SCF run")
    return int(value)


def _last_value(lines: list[str], pattern: str) -> float | None:
    """First group of the last line matching ``pattern``, as float (None when absent)."""
    regex = re.compile(pattern)
    for line in reversed(lines):
        match = regex.search(line)
        if match:
            return float(match.group(1))
    return None


def _homo_lumo(lines: list[str]) -> tuple[float, float] | None:
    """(highest occupied, lowest unoccupied) level in eV from the last such line, or None."""
    for line in reversed(lines):
        if "highest occupied, lowest unoccupied level" in line:
            values = floats(line.split(":", 1)[1])
            return (values[0], values[1]) if len(values) == 2 else None
    return None


def _int_or_none(value: float | None) -> int | None:
    return None if value is None else int(value)


def _last_moments(lines: list[str]) -> dict[int, float]:
    """Magnetic moment per site (Bohr magnetons) from the last ``Magnetic moment per site`` block."""
    starts = [i for i, line in enumerate(lines) if "Magnetic moment per site" in line]
    if not starts:
        return {}
    moments = {}
    for line in lines[starts[-1] + 1 :]:
        match = _MOMENT.match(line)
        if not match:
            break
        moments[int(match.group(1))] = float(match.group(3))
    return moments


def _last_occupations(lines: list[str], path: str | Path) -> dict[int, np.ndarray]:
    """Occupation matrices {atom: (nspin, m, m)} from the last complete write_ns / write_nsg block."""
    enters = [i for i, line in enumerate(lines) if re.match(r"^\s*--- enter write_nsg? ---", line)]
    if not enters:
        return {}
    start = enters[-1]
    stop = next((i for i in range(start + 1, len(lines)) if re.match(r"^\s*--- exit write_nsg? ---", lines[i])), None)
    if stop is None:
        raise QEOutputError("occupation block never closed ('--- exit write_ns ---' missing)", path, start + 1)
    generalized = "write_nsg" in lines[start]
    blocks = _nsg_blocks(lines, start, stop, path) if generalized else _ns_blocks(lines, start, stop, path)
    return {atom: np.stack([spins[s] for s in sorted(spins)]) for atom, spins in blocks.items()}


def _ns_blocks(lines: list[str], start: int, stop: int, path: str | Path) -> dict[int, dict[int, np.ndarray]]:
    """write_ns layout: ``atom N Tr[ns(na)]``, optional ``spin S``, then ``occupations:`` + m rows."""
    blocks: dict[int, dict[int, np.ndarray]] = {}
    atom, spin = None, 1
    for i in range(start + 1, stop):
        line = lines[i]
        if match := _ATOM_NS.match(line):
            atom, spin = int(match.group(1)), 1
        elif match := _SPIN_NS.match(line):
            spin = int(match.group(1))
        elif line.strip() == "occupations:" and atom is not None:
            blocks.setdefault(atom, {})[spin] = _matrix(lines, i + 1, stop, path)
    return blocks


def _nsg_blocks(lines: list[str], start: int, stop: int, path: str | Path) -> dict[int, dict[int, np.ndarray]]:
    """write_nsg layout: ``Atom: N Spin: S`` then ``occupation matrix before diagonalization:`` + m rows."""
    blocks: dict[int, dict[int, np.ndarray]] = {}
    atom, spin = None, 1
    for i in range(start + 1, stop):
        line = lines[i]
        if match := _ATOM_NSG.match(line):
            atom, spin = int(match.group(1)), int(match.group(2))
        elif "occupation matrix before diagonalization" in line and atom is not None:
            blocks.setdefault(atom, {})[spin] = _matrix(lines, i + 1, stop, path)
    return blocks


def _matrix(lines: list[str], first: int, stop: int, path: str | Path) -> np.ndarray:
    """Square matrix whose m rows start at ``lines[first]`` (m = entries in the first row)."""
    if first >= stop:
        raise QEOutputError("occupation matrix missing", path, first + 1, "m rows of m numbers")
    size = len(floats(lines[first]))
    rows = []
    for i in range(first, first + size):
        row = floats(lines[i]) if i < stop else []
        if len(row) != size:
            raise QEOutputError(f"occupation matrix row has {len(row)} numbers", path, i + 1, f"{size}")
        rows.append(row)
    if size not in (1, 3, 5, 7):
        raise QEOutputError(f"occupation matrix of size {size}", path, first + 1, "2l+1 = 1, 3, 5 or 7")
    return np.asarray(rows, dtype=float)
