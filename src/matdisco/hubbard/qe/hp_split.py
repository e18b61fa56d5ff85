"""hp.x split into independent pieces, one per (perturbed atom, q point), then collected (QE's
HP example07): the linear response of each piece is a separate hp.x run (``perturb_only_atom(i)``,
``start_q = last_q = q``) in its own copy of the SCF's output folder, so pieces run side by side on
one rank each (efficiency ~1) instead of one hp.x on many ranks. Collecting copies every piece's
response file ``<prefix>.dns.pert_<i>.q_<q>.dat`` into the calculation's ``tmp/HP``, sums each atom
over q (``sum_pertq``) and computes U and V (``compute_hp``), whose output is the calculation's
``hp.out`` as in an unsplit run.

Layout in a calculation folder: ``hp_pieces/pert/pert.{in,out}`` (which atoms are perturbed),
``hp_pieces/a<i>_q<q>/{hp.in,hp.out,tmp/}``, ``hp_sum_<i>.{in,out}``, ``hp.{in,out}`` (compute_hp).
QE 6.7 ends every partial run (a piece, one atom's sum over q) with "Missing file with the chi matrix"
and a non-zero status after writing its product: such a run counts as done when its product
(``dns.pert_<i>.q_<q>.dat``, ``chi.pert_<i>.dat``) exists.
"""

from __future__ import annotations

import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matdisco.core.io import atomic_write_text
from matdisco.hubbard.qe.inputs import namelist
from matdisco.hubbard.qe.outputs import QEOutputError, read_lines
from matdisco.hubbard.qe.run import Launcher, QERunError, run_qe

_PERTURBED = re.compile(r"List of\s+(\d+)\s+atoms which will be perturbed")
_Q_GRID = re.compile(r"The grid of q-points \(.*\)\s+\(\s*(\d+)\s+q-points\s*\)")
PIECES = "hp_pieces"


@dataclass(frozen=True)
class Piece:
    """One hp.x piece: the response to perturbing atom ``atom`` (1-based) at q point ``q`` (1-based)."""

    atom: int
    q: int

    @property
    def name(self) -> str:
        return f"a{self.atom}_q{self.q}"


def perturbed_atoms(out: Path) -> list[int]:
    """The atoms hp.x perturbs (symmetry-inequivalent Hubbard sites), from a ``determine_num_pert_only`` run."""
    lines = read_lines(out)
    for number, line in enumerate(lines):
        match = _PERTURBED.search(line)
        if match:
            rows = [row.split() for row in lines[number + 1 :] if row.strip()][: int(match.group(1))]
            return [int(row[0]) for row in rows]
    raise QEOutputError("no list of perturbed atoms", out, None, "'List of N atoms which will be perturbed'")


def q_points(out: Path) -> int:
    """The number of q points of a piece's atom (hp.x prints its grid before the first q)."""
    for line in read_lines(out):
        match = _Q_GRID.search(line)
        if match:
            return int(match.group(1))
    raise QEOutputError("no q-point grid", out, None, "'The grid of q-points (...) (N q-points)'")


def run_split_hp(launcher: Launcher, folder: Path, base: dict[str, Any], prefix: str, parallel_pieces: int) -> float:
    """hp.x of the SCF in ``folder`` (its output folder ``tmp/``) as pieces, ``parallel_pieces`` at once,
    then collected into ``folder/hp.out``; ``base`` holds the &INPUTHP entries of the unsplit run.
    Returns the wall seconds of every hp.x run summed (the pieces' CPU cost divided by their ranks)."""
    pieces_dir = folder / PIECES
    pieces_dir.mkdir(exist_ok=True)
    (pieces_dir / "pert").mkdir(exist_ok=True)
    wall_s = _run(launcher, pieces_dir / "pert", "pert", {**base, "determine_num_pert_only": True}, folder / "tmp")
    atoms = perturbed_atoms(pieces_dir / "pert" / "pert.out")

    def run_all(pieces: list[Piece]) -> float:
        with ThreadPoolExecutor(max(1, parallel_pieces)) as pool:
            return sum(pool.map(lambda p: _run_piece(launcher, folder, base, prefix, p), pieces))

    wall_s += run_all([Piece(atom, 1) for atom in atoms])  # each atom's first piece also prints its q grid
    n_q = {atom: q_points(pieces_dir / Piece(atom, 1).name / "hp.out") for atom in atoms}
    wall_s += run_all([Piece(atom, q) for atom in atoms for q in range(2, n_q[atom] + 1)])
    collect(folder, prefix, [Piece(atom, q) for atom in atoms for q in range(1, n_q[atom] + 1)])
    for atom in atoms:
        entries = {**base, f"perturb_only_atom({atom})": True, "sum_pertq": True}
        product = folder / "tmp" / "HP" / f"{prefix}.chi.pert_{atom}.dat"
        wall_s += _run_partial(launcher, folder, f"hp_sum_{atom}", entries, None, product)
    return wall_s + _run(launcher, folder, "hp", {**base, "compute_hp": True}, None)


def _run(launcher: Launcher, folder: Path, name: str, entries: dict[str, Any], scf_tmp: Path | None) -> float:
    """Write ``<name>.in`` in ``folder`` and run hp.x on it; with ``scf_tmp``, on a copy of that output folder."""
    if scf_tmp is not None:
        _copy_scf(scf_tmp, folder / "tmp")
    atomic_write_text(folder / f"{name}.in", namelist("INPUTHP", entries))
    return run_qe(launcher, "hp.x", folder, f"{name}.in", f"{name}.out")


def _run_piece(launcher: Launcher, folder: Path, base: dict[str, Any], prefix: str, piece: Piece) -> float:
    """One piece in ``hp_pieces/<piece>/`` on its own copy of the SCF output; done when its response file exists."""
    where = folder / PIECES / piece.name
    where.mkdir(exist_ok=True)
    entries = {**base, f"perturb_only_atom({piece.atom})": True, "start_q": piece.q, "last_q": piece.q}
    return _run_partial(launcher, where, "hp", entries, folder / "tmp", response_file(where, prefix, piece))


def _run_partial(
    launcher: Launcher, folder: Path, name: str, entries: dict[str, Any], scf_tmp: Path | None, product: Path
) -> float:
    """A partial hp.x run (a piece, or one atom's sum over q) that is done when it wrote ``product``:
    QE 6.7 goes on to compute U after it, stops with "Missing file with the chi matrix" (not all atoms
    are there yet) and exits non-zero."""
    start = time.perf_counter()
    try:
        _run(launcher, folder, name, entries, scf_tmp)
    except QERunError:
        if not product.is_file():
            raise
    if not product.is_file():
        raise QEOutputError(f"hp.x wrote no {product.name}", folder / f"{name}.out")
    return time.perf_counter() - start


def response_file(where: Path, prefix: str, piece: Piece) -> Path:
    """Where hp.x writes the response of ``piece`` under the run folder ``where``."""
    return where / "tmp" / "HP" / f"{prefix}.dns.pert_{piece.atom}.q_{piece.q}.dat"


def collect(folder: Path, prefix: str, pieces: list[Piece]) -> None:
    """Every piece's response file into ``folder/tmp/HP`` (next to the first piece's HP data)."""
    hp_dir = folder / "tmp" / "HP"
    if not hp_dir.exists():
        shutil.copytree(folder / PIECES / pieces[0].name / "tmp" / "HP", hp_dir)
    for piece in pieces:
        shutil.copy2(response_file(folder / PIECES / piece.name, prefix, piece), hp_dir)


def _copy_scf(scf_tmp: Path, target: Path) -> None:
    """A private copy of the SCF output folder (without hp.x's own ``HP/``): pieces never share files."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(scf_tmp, target, ignore=_ignore_hp)


def _ignore_hp(directory: str, names: list[str]) -> list[str]:
    return ["HP"] if Path(directory).name == "tmp" else []
