"""Reading QE text outputs: plain or gzipped files, and errors that name the file and the line."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from matdisco.core.errors import InputError

_QE_ERROR_MARK = "%%%%%%%%%%"
_FLOAT = re.compile(r"-?\d+\.\d*(?:[EeDd][-+]?\d+)?")


class QEOutputError(InputError):
    """A QE output is truncated, reports an error, or does not have the expected layout.

    ``path`` and ``line`` (1-based, or None when the whole file is concerned) say where.
    """

    def __init__(self, message: str, path: str | Path, line: int | None = None, expected: str | None = None):
        self.path = Path(path)
        self.line = line
        self.reason = message
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}", expected=expected)


def read_lines(path: str | Path) -> list[str]:
    """Lines of a text file without newlines; ``*.gz`` files are decompressed.

    Raises :class:`QEOutputError` when the file does not exist or is empty.
    """
    path = Path(path)
    if not path.is_file():
        raise QEOutputError("output file does not exist", path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", errors="replace") as handle:
        lines = handle.read().splitlines()
    if not lines:
        raise QEOutputError("output file is empty", path, 1)
    return lines


def floats(text: str) -> list[float]:
    """All decimal numbers in ``text`` (handles QE's run-together fixed-width fields like ``0.000-0.260``)."""
    return [float(token.replace("D", "E").replace("d", "e")) for token in _FLOAT.findall(text)]


def qe_error(lines: list[str], path: str | Path) -> QEOutputError | None:
    """The error QE reported in a ``%%%%`` block (routine and message), or None."""
    for number, line in enumerate(lines):
        if _QE_ERROR_MARK in line and number + 1 < len(lines) and "Error" in lines[number + 1]:
            message = " ".join(part.strip() for part in lines[number + 1 : number + 3] if _QE_ERROR_MARK not in part)
            return QEOutputError(f"QE stopped: {message}", path, number + 2)
    return None


def require_job_done(lines: list[str], path: str | Path, program: str) -> None:
    """Raise the reported QE error, or a truncation error, unless the output ends with ``JOB DONE``."""
    error = qe_error(lines, path)
    if error is not None:
        raise error
    if not any("JOB DONE" in line for line in lines[-20:]):
        raise QEOutputError(f"{program} output ends without 'JOB DONE' (truncated or killed)", path, len(lines))


def seconds(text: str) -> float:
    """QE's clock strings (``3.42s``, ``1m49.36s``, ``1h 2m``) in seconds."""
    total = 0.0
    for value, unit in re.findall(r"([\d.]+)\s*([hms])", text):
        total += float(value) * {"h": 3600.0, "m": 60.0, "s": 1.0}[unit]
    return total


def _clock(lines: list[str], program: str, which: int) -> float | None:
    """Seconds of the final ``<PROGRAM> : <cpu> CPU <wall> WALL`` line (``which`` 1: CPU, 2: wall), or None."""
    pattern = re.compile(rf"^\s*{program}\s*:\s*(.+?)CPU\s+(.+?)WALL")
    for line in reversed(lines):
        match = pattern.match(line)
        if match:
            return seconds(match.group(which))
    return None


def wall_time(lines: list[str], program: str) -> float | None:
    """The final ``<PROGRAM> : ... CPU ... WALL`` wall time in seconds, or None when absent."""
    return _clock(lines, program, 2)


def cpu_time(lines: list[str], program: str) -> float | None:
    """The final ``<PROGRAM> : ... CPU ... WALL`` CPU time of rank 0 in seconds, or None when absent
    (unlike the wall time, it does not grow when other jobs share the core)."""
    return _clock(lines, program, 1)


def qe_version(lines: list[str]) -> str | None:
    """The version string from the banner (``Program PWSCF v.6.7MaX starts ...``)."""
    for line in lines[:40]:
        match = re.search(r"Program \S+ v\.(\S+)", line)
        if match:
            return match.group(1)
    return None
