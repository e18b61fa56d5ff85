"""pw.x input text: read the species and Hubbard entries of an input, and rewrite its Hubbard entries.

Entries are ``(i, j, eV)`` with 1-based atoms (``i == j``: U). ``lda_plus_u_kind = 2`` inputs hold
``Hubbard_V(i, j, 1)`` lines (j in QE's 3x3x3 supercell numbering); kind 0 inputs hold
``Hubbard_U(type)`` per species. Everything else of the input is kept verbatim.
"""

from __future__ import annotations

import re

import numpy as np

from matdisco.core.errors import ConfigError, InputError
from matdisco.hubbard.qe.inputs import fortran

_HUBBARD_LINE = re.compile(r"^\s*Hubbard_[UV]\s*\([^)]*\)\s*=.*$", re.IGNORECASE)
_HUBBARD_V = re.compile(r"Hubbard_V\s*\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)\s*=\s*([-+0-9.eEdD]+)", re.IGNORECASE)
_HUBBARD_U = re.compile(r"Hubbard_U\s*\(\s*(\d+)\s*\)\s*=\s*([-+0-9.eEdD]+)", re.IGNORECASE)
_KIND = re.compile(r"lda_plus_u_kind\s*=\s*(\d+)", re.IGNORECASE)
Entries = list[tuple[int, int, float]]


def _float(text: str) -> float:
    return float(text.lower().replace("d", "e"))


def input_kind(text: str) -> int:
    match = _KIND.search(text)
    return int(match.group(1)) if match else 0


def input_labels(text: str, where: str) -> tuple[list[str], list[str]]:
    """(species labels in ATOMIC_SPECIES order, label of every atom in ATOMIC_POSITIONS order)."""
    lines = text.splitlines()
    nat = re.search(r"\bnat\s*=\s*(\d+)", text, re.IGNORECASE)
    ntyp = re.search(r"\bntyp\s*=\s*(\d+)", text, re.IGNORECASE)
    if not (nat and ntyp):
        raise InputError("no nat / ntyp in &SYSTEM", where=where, expected="a pw.x input")

    def block(name: str, n: int) -> list[str]:
        start = next((i for i, line in enumerate(lines) if line.strip().upper().startswith(name)), None)
        if start is None:
            raise InputError(f"no {name} card", where=where, expected="a pw.x input")
        rows = [line.split()[0] for line in lines[start + 1 :] if line.strip()][:n]
        if len(rows) != n:
            raise InputError(f"{name} has {len(rows)} rows", where=where, expected=str(n))
        return rows

    return block("ATOMIC_SPECIES", int(ntyp.group(1))), block("ATOMIC_POSITIONS", int(nat.group(1)))


def symbol_of(label: str) -> str:
    """Chemical symbol of a QE species label (``Ni1`` -> ``Ni``)."""
    match = re.match(r"[A-Z][a-z]?", label)
    if not match:
        raise InputError(f"species label {label!r}", expected="a label starting with a chemical symbol")
    return match.group(0)


def input_entries(text: str) -> Entries:
    """Hubbard entries ``(i, j, eV)`` of a pw.x input (kind 2: Hubbard_V; kind 0: Hubbard_U per atom)."""
    if input_kind(text) == 2:
        return [(int(i), int(j), _float(v)) for i, j, _, v in _HUBBARD_V.findall(text)]
    species, atoms = input_labels(text, "pw.x input")
    per_type = {int(t): _float(v) for t, v in _HUBBARD_U.findall(text)}
    return [
        (n, n, per_type[species.index(label) + 1])
        for n, label in enumerate(atoms, 1)
        if species.index(label) + 1 in per_type
    ]


def replace_hubbard(text: str, entries: Entries, where: str) -> str:
    """``text`` with every Hubbard_U/Hubbard_V assignment replaced by ``entries`` (end of &SYSTEM).

    lda_plus_u_kind 2: one ``Hubbard_V(i,j,1)`` per entry. Kind 0: ``Hubbard_U(type)`` (on-site
    entries only; atoms of one species label must share a value, the mean is written).
    """
    kind = input_kind(text)
    if kind == 2:
        new = [f"  Hubbard_V({i},{j},1) = {fortran(float(v))}" for i, j, v in entries]
    elif kind == 0:
        species, atoms = input_labels(text, where)
        per_type: dict[int, list[float]] = {}
        for i, j, v in entries:
            if i != j:
                raise ConfigError(f"{where}: inter-site entry ({i}, {j}) needs lda_plus_u_kind = 2")
            per_type.setdefault(species.index(atoms[i - 1]) + 1, []).append(float(v))
        new = [f"  Hubbard_U({t}) = {fortran(float(np.mean(vs)))}" for t, vs in sorted(per_type.items())]
    else:
        raise InputError(f"lda_plus_u_kind = {kind}", where=where, expected="0 or 2")
    out, in_system, done = [], False, False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.upper().startswith("&SYSTEM"):
            in_system = True
        elif in_system and stripped == "/" and not done:
            out.extend(new)
            in_system, done = False, True
        if _HUBBARD_LINE.match(line):
            continue
        out.append(line)
    if not done:
        raise InputError("no &SYSTEM namelist closed by '/'", where=where, expected="a pw.x input")
    return "\n".join(out) + "\n"


_POSITIONS_CARD = re.compile(r"^\s*ATOMIC_POSITIONS\s*[({]?\s*(\w*)", re.IGNORECASE | re.MULTILINE)


def input_positions(text: str, where: str) -> tuple[str, np.ndarray]:
    """(unit of the ATOMIC_POSITIONS card in lower case, positions (nat, 3) as written)."""
    match = _POSITIONS_CARD.search(text)
    if match is None:
        raise InputError("no ATOMIC_POSITIONS card", where=where, expected="a pw.x input")
    nat = len(input_labels(text, where)[1])
    rows = [line.split() for line in text[match.end() :].splitlines()[1:] if line.strip()][:nat]
    try:
        positions = np.array([[_float(x) for x in row[1:4]] for row in rows])
    except (ValueError, IndexError) as error:
        raise InputError(f"unreadable ATOMIC_POSITIONS row ({error})", where=where, expected="label x y z") from error
    return (match.group(1) or "alat").lower(), positions


def require_same_structure(
    text: str,
    input_where: str,
    symbols_out: list[str],
    positions_out_angstrom: np.ndarray,
    cell_out_angstrom: np.ndarray,
    output_where: str,
    tolerance_angstrom: float = 1e-3,
) -> None:
    """Raise :class:`InputError` naming both files when a pw.x input does not describe the structure of
    the pw.x output it is paired with: other atom count, other species per atom, or (for positions in
    angstrom, bohr or crystal units) an atom more than ``tolerance_angstrom`` away (minimum image)."""
    labels = input_labels(text, input_where)[1]
    symbols_in = [symbol_of(label) for label in labels]
    pair = f"{input_where} and {output_where}"
    if len(symbols_in) != len(symbols_out):
        raise InputError(
            f"the input has {len(symbols_in)} atoms, the output {len(symbols_out)}",
            where=pair,
            expected="the pw.x input that produced this output",
        )
    wrong = [n for n, (a, b) in enumerate(zip(symbols_in, symbols_out), 1) if a != b]
    if wrong:
        n = wrong[0]
        raise InputError(
            f"atom {n} is {symbols_in[n - 1]} in the input but {symbols_out[n - 1]} in the output "
            f"({len(wrong)} atoms differ)",
            where=pair,
            expected="the pw.x input that produced this output",
        )
    unit, positions = input_positions(text, input_where)
    cell = np.asarray(cell_out_angstrom, dtype=float)
    if unit == "crystal":
        fractional_in = positions
    elif unit in ("angstrom", "bohr"):
        fractional_in = positions * (0.529177210903 if unit == "bohr" else 1.0) @ np.linalg.inv(cell)
    else:
        return  # alat units need celldm / ibrav: atom count and species were checked
    delta = fractional_in - np.asarray(positions_out_angstrom) @ np.linalg.inv(cell)
    delta -= np.round(delta)
    shift = np.linalg.norm(delta @ cell, axis=1)
    if shift.max() > tolerance_angstrom:
        n = int(np.argmax(shift)) + 1
        raise InputError(
            f"atom {n} sits {shift.max():.3f} A from its position in the output",
            where=pair,
            expected="the pw.x input that produced this output",
        )
