"""pw.x and hp.x input files for QE 6.7 (Hubbard parameters in &SYSTEM, not the 7.x HUBBARD card).

Hubbard input is a list of ``(i, j, value_eV)``: ``i == j`` is the on-site U of atom ``i``;
``i != j`` is the inter-site V between cell atom ``i`` and atom ``j`` of QE's 3x3x3 supercell
numbering (the numbering of hp.x's ``parameters.out``). With ``lda_plus_u_kind = 2`` every
entry becomes ``Hubbard_V(i, j, 1)``; with ``lda_plus_u_kind = 0`` only on-site entries are
allowed and become ``Hubbard_U(species)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ase import Atoms
from ase.data import atomic_masses, atomic_numbers

from matdisco.core.errors import ConfigError
from matdisco.hubbard.structures import species_labels

HubbardEntries = list[tuple[int, int, float]]
TINY_EV = 1.0e-8  # QE's way to mark a Hubbard manifold without applying a U


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
) -> str:
    """Text of a pw.x SCF input: Cartesian positions and cell in angstrom, automatic k mesh.

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
    return text


def hp_input(*, prefix: str, qpts: Iterable[int], conv_thr_chi: float, outdir: str = "./tmp/") -> str:
    """Text of an hp.x input: q mesh and the chi convergence threshold."""
    q1, q2, q3 = qpts
    entries = {
        "prefix": prefix,
        "outdir": outdir,
        "nq1": q1,
        "nq2": q2,
        "nq3": q3,
        "conv_thr_chi": float(conv_thr_chi),
        "iverbosity": 2,
    }
    return namelist("INPUTHP", entries)
