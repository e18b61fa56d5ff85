"""pw.x and hp.x input files; the Hubbard input in the form the QE version reads (:func:`hubbard_style`):
the legacy &SYSTEM keys for QE < 7.1, the ``HUBBARD`` card for QE >= 7.1.

Hubbard input is a list of ``(i, j, value_eV)``: ``i == j`` is the on-site U of atom ``i``;
``i != j`` is the inter-site V between cell atom ``i`` and atom ``j`` of QE's 3x3x3 supercell
numbering (the numbering of hp.x's ``parameters.out``). With ``lda_plus_u_kind = 2`` every
entry becomes ``Hubbard_V(i, j, 1)``; with ``lda_plus_u_kind = 0`` only on-site entries are
allowed and become ``Hubbard_U(species)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ase import Atoms
from ase.data import atomic_masses, atomic_numbers

from matdisco.core.errors import ConfigError
from matdisco.hubbard.structures import species_labels

HubbardEntries = list[tuple[int, int, float]]
TINY_EV = 1.0e-8  # QE's way to mark a Hubbard manifold without applying a U
# Hubbard manifold of each element in the HUBBARD card (QE >= 7.1): 3d metals, O 2p.
MANIFOLDS = {**dict.fromkeys(("Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn"), "3d"), "O": "2p"}
KNOWN_MAJOR_VERSIONS = (6, 7)  # QE releases whose Hubbard input and output this code was written for


def hubbard_style(version: str | None) -> str:
    """``"namelist"`` (legacy &SYSTEM keys) for QE < 7.1, ``"card"`` (``HUBBARD`` card) for QE >= 7.1.

    QE 7.1 removed the legacy keys (pw.x stops on them) and QE 6.x ignores the card with a warning and
    runs plain DFT, so a wrong guess is never harmless: an unreadable or unknown version is a ConfigError.
    """
    match = re.match(r"(\d+)\.(\d+)", version or "")
    if match is None or int(match.group(1)) not in KNOWN_MAJOR_VERSIONS:
        raise ConfigError(
            f"Quantum ESPRESSO version {version!r} (from pw.x's banner): expected {KNOWN_MAJOR_VERSIONS[0]}.x "
            f"to {KNOWN_MAJOR_VERSIONS[-1]}.x; set simulate.qe_bin_dir to such a build"
        )
    return "card" if (int(match.group(1)), int(match.group(2))) >= (7, 1) else "namelist"


def hubbard_card(atoms: Atoms, entries: Iterable[tuple[int, int, float]], kind: int, projection: str) -> str:
    """The QE >= 7.1 ``HUBBARD`` card for ``entries`` (module docstring). ``kind`` 2 (DFT+U+V): one
    ``V <label-manifold> <label-manifold> i j eV`` line per entry, on-site U as ``i == j``, in the
    supercell numbering of ``Hubbard_V``; ``kind`` 0 (DFT+U): one ``U <label-manifold> eV`` per species."""
    if kind not in (0, 2):
        raise ConfigError(f"lda_plus_u_kind {kind} is not supported (expected 0 or 2)")
    lines = [f"HUBBARD {{{projection}}}"]
    for i, j, value in entries:
        if kind == 2:
            lines.append(f"  V {_manifold(atoms, i)} {_manifold(atoms, j)} {i} {j} {fortran(float(value))}")
        elif i != j:
            raise ConfigError(f"inter-site Hubbard entry ({i}, {j}) needs lda_plus_u_kind = 2")
        else:
            lines.append(f"  U {_manifold(atoms, i)} {fortran(float(value))}")
    return "\n".join(dict.fromkeys(lines)) + "\n"  # kind 0: one U line per species


def _manifold(atoms: Atoms, atom: int) -> str:
    """``<species label>-<manifold>`` of 1-based ``atom`` (supercell numbering folded into the cell)."""
    cell_atom = (atom - 1) % len(atoms)
    symbol = atoms.get_chemical_symbols()[cell_atom]
    if symbol not in MANIFOLDS:
        raise ConfigError(f"no Hubbard manifold known for {symbol} (atom {atom}); known: {sorted(MANIFOLDS)}")
    return f"{species_labels(atoms)[cell_atom]}-{MANIFOLDS[symbol]}"


def fortran(value: Any) -> str:
    """A Python value as a Fortran namelist literal."""
    if isinstance(value, bool):
        return ".true." if value else ".false."
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, float):
        return repr(value).replace("e", "d") if "e" in repr(value) else repr(value)
    return str(value)


def namelist(name: str, entries: dict[str, Any]) -> str:
    """``&NAME`` block with one ``key = value`` per line, in insertion order."""
    body = "".join(f"  {key} = {fortran(value)}\n" for key, value in entries.items())
    return f"&{name}\n{body}/\n"


def species(atoms: Atoms) -> list[tuple[str, str]]:
    """Unique (label, symbol) pairs in order of first appearance: the pw.x species 1..ntyp."""
    return list(dict.fromkeys(zip(species_labels(atoms), atoms.get_chemical_symbols())))


def hubbard_entries_to_system(atoms: Atoms, entries: Iterable[tuple[int, int, float]], kind: int) -> dict[str, Any]:
    """&SYSTEM Hubbard keys for ``entries`` (see module docstring); U and V in eV."""
    system: dict[str, Any] = {"lda_plus_u": True, "lda_plus_u_kind": kind}
    if kind == 2:
        for i, j, value in entries:
            system[f"Hubbard_V({i},{j},1)"] = float(value)
        return system
    if kind != 0:
        raise ConfigError(f"lda_plus_u_kind {kind} is not supported (expected 0 or 2)")
    labels = species_labels(atoms)
    index = {label: n for n, (label, _) in enumerate(species(atoms), start=1)}
    for i, j, value in entries:
        if i != j:
            raise ConfigError(f"inter-site Hubbard entry ({i}, {j}) needs lda_plus_u_kind = 2")
        system[f"Hubbard_U({index[labels[i - 1]]})"] = float(value)
    return system


def starting_magnetization(atoms: Atoms, magnitude: float) -> dict[str, float]:
    """``starting_magnetization(t)``: +magnitude for tag-1 species, -magnitude for tag-2 species."""
    entries = {}
    tags = dict(zip(species_labels(atoms), atoms.get_tags()))
    for n, (label, _) in enumerate(species(atoms), start=1):
        if tags[label]:
            entries[f"starting_magnetization({n})"] = magnitude if tags[label] == 1 else -magnitude
    return entries


def pw_input(
    atoms: Atoms,
    *,
    prefix: str,
    pseudo_dir: str,
    pseudopotentials: dict[str, str],
    system: dict[str, Any],
    electrons: dict[str, Any],
    kpts: Iterable[int],
    outdir: str = "./tmp/",
    hubbard: str = "",
) -> str:
    """Text of a pw.x SCF input: Cartesian positions and cell in angstrom, automatic k mesh, and the
    ``hubbard`` card (QE >= 7.1, :func:`hubbard_card`; empty when the Hubbard keys are in ``system``).

    ``system`` holds &SYSTEM entries beyond ibrav/nat/ntyp (cutoffs, occupations, Hubbard keys);
    ``pseudopotentials`` maps chemical symbol -> UPF file name in ``pseudo_dir``.
    """
    kinds = species(atoms)
    missing = sorted({symbol for _, symbol in kinds} - set(pseudopotentials))
    if missing:
        raise ConfigError(f"no pseudopotential configured for {', '.join(missing)}")
    control = {"calculation": "scf", "prefix": prefix, "pseudo_dir": pseudo_dir, "outdir": outdir, "verbosity": "high"}
    text = namelist("CONTROL", control)
    text += namelist("SYSTEM", {"ibrav": 0, "nat": len(atoms), "ntyp": len(kinds), **system})
    text += namelist("ELECTRONS", electrons)
    text += "ATOMIC_SPECIES\n"
    for label, symbol in kinds:
        text += f"  {label} {atomic_masses[atomic_numbers[symbol]]:.4f} {pseudopotentials[symbol]}\n"
    text += "CELL_PARAMETERS angstrom\n"
    text += "".join(f"  {x:.10f} {y:.10f} {z:.10f}\n" for x, y, z in atoms.cell.array)
    text += "ATOMIC_POSITIONS angstrom\n"
    for label, (x, y, z) in zip(species_labels(atoms), atoms.positions):
        text += f"  {label} {x:.10f} {y:.10f} {z:.10f}\n"
    k1, k2, k3 = kpts
    text += f"K_POINTS automatic\n  {k1} {k2} {k3} 0 0 0\n"
    return text + hubbard


def hp_entries(*, prefix: str, qpts: Iterable[int], conv_thr_chi: float, outdir: str = "./tmp/") -> dict[str, Any]:
    """&INPUTHP entries of an hp.x run: q mesh and the chi convergence threshold."""
    q1, q2, q3 = qpts
    return {
        "prefix": prefix,
        "outdir": outdir,
        "nq1": q1,
        "nq2": q2,
        "nq3": q3,
        "conv_thr_chi": float(conv_thr_chi),
        "iverbosity": 2,
    }


def hp_input(*, prefix: str, qpts: Iterable[int], conv_thr_chi: float, outdir: str = "./tmp/") -> str:
    """Text of an hp.x input (:func:`hp_entries`)."""
    return namelist("INPUTHP", hp_entries(prefix=prefix, qpts=qpts, conv_thr_chi=conv_thr_chi, outdir=outdir))
