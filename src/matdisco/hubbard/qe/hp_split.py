"""hp.x split into independent pieces, one per (perturbed atom, q point), then collected (QE's
HP example07): the linear response of each piece is a separate hp.x run (``perturb_only_atom(i)``,
``start_q = last_q = q``) in its own copy of the SCF's output folder, so pieces run side by side on
one rank each (efficiency ~1) instead of one hp.x on many ranks. Collecting copies every piece's
response file ``<prefix>.dns.pert_<i>.q_<q>.dat`` into the calculation's ``tmp/HP``, sums each atom
over q (``sum_pertq``) and computes U and V (``compute_hp``), whose output is the calculation's
``hp.out`` as in an unsplit run.

Layout in a calculation folder: ``hp_pieces/pert/pert.{in,out}`` (which atoms are perturbed),
``hp_pieces/a<i>_q<q>/{hp.in,hp.out,piece.json,tmp/}``, ``hp_sum_<i>.{in,out}``, ``hp.{in,out}``
(compute_hp). ``piece.json`` holds the piece's hp.x CPU seconds (its process tree's, measured when it
ends: a partial run prints no CPU summary) and, for q 1, its atom's number of q points. QE 6.7 ends every partial run (a piece, one atom's sum over q) with "Missing file with the chi
matrix" and a non-zero status after writing its product: such a run counts as done when its product
(``dns.pert_<i>.q_<q>.dat``, ``chi.pert_<i>.dat``) exists.

A piece store (a folder outside the scratch space, e.g. committed with the data set) keeps each finished
piece's response file and ``piece.json``, so that an hp.x run longer than one session or job resumes on
another machine: the SCF is recomputed (deterministic, seconds to minutes) and only the missing pieces
run. The store is tied to the SCF and hp.x inputs it was made with (``inputs.md5``); other inputs empty it.
Collecting needs only the response files next to the SCF output (measured: the same ``parameters.out``
as collecting from the first piece's whole ``HP/`` folder).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matdisco.core.io import atomic_write_json, atomic_write_text
from matdisco.hubbard.qe.inputs import namelist
from matdisco.hubbard.qe.outputs import QEOutputError, read_lines
from matdisco.hubbard.qe.run import Launcher, QERunError, run_cpu_s, run_qe

_PERTURBED = re.compile(r"List of\s+(\d+)\s+atoms which will be perturbed")
_Q_GRID = re.compile(r"The grid of q-points \(.*\)\s+\(\s*(\d+)\s+q-points\s*\)")
PIECES = "hp_pieces"
PIECE_FILE = "piece.json"
STORE_KEY = "inputs.md5"


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


def run_split_hp(
    launcher: Launcher,
    folder: Path,
    base: dict[str, Any],
    prefix: str,
    parallel_pieces: int,
    store: Path | None = None,
) -> float:
    """hp.x of the SCF in ``folder`` (its output folder ``tmp/``) as pieces, ``parallel_pieces`` at once,
    then collected into ``folder/hp.out``; ``base`` holds the &INPUTHP entries of the unsplit run. With
    ``store``, finished pieces are kept there and pieces found there are not run again.
    Returns the wall seconds of every hp.x run summed (the pieces' CPU cost divided by their ranks)."""
    pieces_dir = folder / PIECES
    pieces_dir.mkdir(exist_ok=True)
    (pieces_dir / "pert").mkdir(exist_ok=True)
    if store is not None:
        open_store(store, inputs_key(folder, base))
    wall_s = _run(launcher, pieces_dir / "pert", "pert", {**base, "determine_num_pert_only": True}, folder / "tmp")
    atoms = perturbed_atoms(pieces_dir / "pert" / "pert.out")

    def run_all(pieces: list[Piece]) -> float:
        progress = Progress(folder, len(pieces))
        with ThreadPoolExecutor(max(1, parallel_pieces)) as pool:
            futures = [pool.submit(_run_piece, launcher, folder, base, prefix, p, store, progress) for p in pieces]
            wait(futures, return_when=FIRST_EXCEPTION)
            for future in futures:  # after a failed or stopped piece no further one starts
                future.cancel()
            return sum(future.result() for future in futures)

    wall_s += run_all([Piece(atom, 1) for atom in atoms])  # each atom's first piece also finds its q grid
    n_q = {atom: _piece_info(pieces_dir / Piece(atom, 1).name)["n_q"] for atom in atoms}
    wall_s += run_all([Piece(atom, q) for atom in atoms for q in range(2, n_q[atom] + 1)])
    collect(folder, prefix, [Piece(atom, q) for atom in atoms for q in range(1, n_q[atom] + 1)])
    for atom in atoms:
        entries = {**base, f"perturb_only_atom({atom})": True, "sum_pertq": True}
        product = folder / "tmp" / "HP" / f"{prefix}.chi.pert_{atom}.dat"
        wall_s += _run_partial(launcher, folder, f"hp_sum_{atom}", entries, None, product)
    return wall_s + _run(launcher, folder, "hp", {**base, "compute_hp": True}, None)


def pieces_cpu_s(folder: Path) -> float | None:
    """CPU seconds of a split run's hp.x processes: its pieces (also those taken from a store, at what
    they cost when they ran), its perturbed-atom probe and its sums over q; None for an unsplit run."""
    pieces_dir = folder / PIECES
    if not pieces_dir.is_dir():
        return None
    runs = [(pieces_dir / "pert", "pert.out"), *((folder, out.name) for out in sorted(folder.glob("hp_sum_*.out")))]
    seconds = [run_cpu_s(where, name) for where, name in runs]
    seconds += [_piece_info(p.parent)["cpu_s"] for p in sorted(pieces_dir.glob(f"*/{PIECE_FILE}"))]
    return float(sum(s for s in seconds if s is not None))


def _run(launcher: Launcher, folder: Path, name: str, entries: dict[str, Any], scf_tmp: Path | None) -> float:
    """Write ``<name>.in`` in ``folder`` and run hp.x on it; with ``scf_tmp``, on a copy of that output folder."""
    if scf_tmp is not None:
        _copy_scf(scf_tmp, folder / "tmp")
    atomic_write_text(folder / f"{name}.in", namelist("INPUTHP", entries))
    return run_qe(launcher, "hp.x", folder, f"{name}.in", f"{name}.out")


@dataclass
class Progress:
    """One log line per finished piece of a run_all batch: which piece, its CPU seconds (or that it came
    from the store) and how many of the batch are done (a q3 hp.x runs for hours: the log shows it moving)."""

    folder: Path
    total: int
    done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def finished(self, piece: Piece, restored: bool) -> str:
        """Count ``piece`` as done and print (and return) its line."""
        cpu_s = None if restored else _piece_info(self.folder / PIECES / piece.name)["cpu_s"]
        cost = "taken from the store" if restored else "CPU unknown" if cpu_s is None else f"{cpu_s:.0f} CPU s"
        with self.lock:
            self.done += 1
            line = f"[hp.x pieces] {self.folder}: {piece.name} done ({cost}), {self.done}/{self.total} of this batch"
        print(line, flush=True)
        return line


def _run_piece(
    launcher: Launcher,
    folder: Path,
    base: dict[str, Any],
    prefix: str,
    piece: Piece,
    store: Path | None,
    progress: Progress,
) -> float:
    """One piece in ``hp_pieces/<piece>/`` on its own copy of the SCF output, done when its response file
    exists; taken from ``store`` when it holds the piece (0 s), else run and kept there."""
    where = folder / PIECES / piece.name
    where.mkdir(exist_ok=True)
    if store is not None and restore_piece(store, where, prefix, piece):
        progress.finished(piece, restored=True)
        return 0.0
    entries = {**base, f"perturb_only_atom({piece.atom})": True, "start_q": piece.q, "last_q": piece.q}
    wall_s = _run_partial(launcher, where, "hp", entries, folder / "tmp", response_file(where, prefix, piece))
    info = {"cpu_s": run_cpu_s(where, "hp.out"), "n_q": q_points(where / "hp.out") if piece.q == 1 else None}
    atomic_write_json(where / PIECE_FILE, info)
    if store is not None:
        keep_piece(store, where, prefix, piece)
    progress.finished(piece, restored=False)
    return wall_s


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
    """Every piece's response file into ``folder/tmp/HP``, next to the SCF output."""
    hp_dir = folder / "tmp" / "HP"
    hp_dir.mkdir(parents=True, exist_ok=True)
    for piece in pieces:
        shutil.copy2(response_file(folder / PIECES / piece.name, prefix, piece), hp_dir)


def inputs_key(folder: Path, base: dict[str, Any]) -> str:
    """md5 of what a piece's response depends on: the SCF input files in ``folder`` and the hp.x entries."""
    digest = hashlib.md5()
    for scf_input in sorted(folder.glob("scf*.in")):
        digest.update(scf_input.name.encode() + b"\0" + scf_input.read_bytes() + b"\0")
    digest.update(namelist("INPUTHP", base).encode())
    return digest.hexdigest()


def open_store(store: Path, key: str) -> None:
    """Make ``store`` the piece store of inputs ``key``: a store made for other inputs is emptied first."""
    key_file = store / STORE_KEY
    if key_file.is_file() and key_file.read_text().strip() != key:
        shutil.rmtree(store)
    store.mkdir(parents=True, exist_ok=True)
    if not key_file.is_file():
        atomic_write_text(key_file, key + "\n")


def keep_piece(store: Path, where: Path, prefix: str, piece: Piece) -> None:
    """Copy a finished piece's response file and ``piece.json`` into ``store`` (response first, so a
    stored ``piece.json`` always has its response beside it)."""
    for source, name in (
        (response_file(where, prefix, piece), f"{piece.name}.dat"),
        (where / PIECE_FILE, f"{piece.name}.json"),
    ):
        tmp = store / f".{name}.tmp"
        shutil.copy2(source, tmp)
        tmp.replace(store / name)


def restore_piece(store: Path, where: Path, prefix: str, piece: Piece) -> bool:
    """Put a stored piece into ``where`` (its response file and ``piece.json``); False when not stored."""
    info, response = store / f"{piece.name}.json", store / f"{piece.name}.dat"
    if not (info.is_file() and response.is_file()):
        return False
    target = response_file(where, prefix, piece)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(response, target)
    shutil.copy2(info, where / PIECE_FILE)
    return True


def stored_pieces_cpu_s(store: Path) -> list[float]:
    """CPU seconds of each finished piece kept in ``store`` (0 where unknown); [] for no store."""
    return [float(json.loads(info.read_text())["cpu_s"] or 0.0) for info in sorted(store.glob("a*_q*.json"))]


def _piece_info(where: Path) -> dict[str, Any]:
    """A finished piece's ``piece.json``: ``cpu_s`` (hp.x CPU seconds, rank 0) and ``n_q`` (q 1 only)."""
    return json.loads((where / PIECE_FILE).read_text())


def _copy_scf(scf_tmp: Path, target: Path) -> None:
    """A private copy of the SCF output folder (without hp.x's own ``HP/``): pieces never share files."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(scf_tmp, target, ignore=_ignore_hp)


def _ignore_hp(directory: str, names: list[str]) -> list[str]:
    return ["HP"] if Path(directory).name == "tmp" else []
